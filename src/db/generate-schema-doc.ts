/**
 * Writes docs/schema.md (run from the repository root after `npm run build`):
 *   node dist/src/db/generate-schema-doc.js          # write
 *   node dist/src/db/generate-schema-doc.js --check  # exit 1 when stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadLedgerMetadata } from './ledger-columns.js';
import { renderSchemaDoc } from './schema-doc.js';

export const SCHEMA_DOC_PATH = 'docs/schema.md';

async function generate(): Promise<number> {
  const path = resolve(SCHEMA_DOC_PATH);
  const text = renderSchemaDoc(await loadLedgerMetadata());
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`${SCHEMA_DOC_PATH} is stale: run npm run docs:schema`);
      return 1;
    }
    return 0;
  }
  writeFileSync(path, text);
  console.log(`wrote ${SCHEMA_DOC_PATH}`);
  return 0;
}

process.exitCode = await generate();
