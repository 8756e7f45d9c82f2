/**
 * docs/schema.md is generated from the entity metadata (npm run docs:schema);
 * this fails when it is stale or when a column has no written rationale.
 */
import { readFileSync } from 'node:fs';
import type { MetadataStorage } from '@mikro-orm/postgresql';
import { ledgerColumns, loadLedgerMetadata } from '../src/db/ledger-columns.js';
import { renderSchemaDoc } from '../src/db/schema-doc.js';
import { SCHEMA_RATIONALE } from '../src/db/schema-rationale.js';

let metadata: MetadataStorage;
beforeAll(async () => {
  metadata = await loadLedgerMetadata();
});

test('every column has a rationale, and every rationale names a column', () => {
  const columns = ledgerColumns(metadata)
    .map((c) => `${c.table}.${c.column}`)
    .sort();
  const documented = Object.entries(SCHEMA_RATIONALE)
    .flatMap(([table, cols]) => Object.keys(cols).map((c) => `${table}.${c}`))
    .sort();
  expect(documented).toEqual(columns);
});

test('docs/schema.md is up to date (regenerate with npm run docs:schema)', () => {
  const committed = readFileSync('docs/schema.md', 'utf8');
  expect(committed).toBe(renderSchemaDoc(metadata));
});

test('the document states nullability and default of every column', () => {
  const doc = renderSchemaDoc(metadata);
  for (const c of ledgerColumns(metadata)) {
    const section = doc.split(/^## /m).find((part) => part.startsWith(`\`${c.table}\``)) ?? '';
    const row = section.split('\n').find((line) => line.startsWith(`| \`${c.column}\` | ${c.property} |`));
    expect(row).toBeDefined();
    if (!c.primary) expect(row).toContain(c.nullable ? '| NULL |' : '| NOT NULL');
    if (c.defaultSql) expect(row).toContain(`\`${c.defaultSql}\``);
  }
});
