/**
 * `node dist/src/db/make-embedded-template.js` (the last step of `npm run build`): runs PGlite's initdb once and
 * keeps the new data directory as the template every new embedded ledger is restored from (embedded-template.ts).
 * Nothing to do when the template for the installed PGlite exists already.
 *
 * The tarball is reproducible: entries sorted by path, no timestamps or owners, files 0600 and directories 0700
 * (PGlite itself would leave them 0666 and 0755).
 */
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip, constants } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { pack, type Pack } from 'tar-stream';
import { findEmbeddedTemplate, templateDirectory, templateFileName } from './embedded-template.js';

/** Makes the template in `outDir` (default: beside the compiled module) unless it exists; returns its path. */
export async function makeEmbeddedTemplate(outDir = templateDirectory()): Promise<{ file: string; made: boolean }> {
  const file = join(outDir, templateFileName());
  if (outDir === templateDirectory() && findEmbeddedTemplate()) return { file, made: false };
  const work = mkdtempSync(join(tmpdir(), 'hh-sync-template-'));
  try {
    const dataDir = join(work, 'db');
    const db = await PGlite.create(dataDir);
    await db.close();
    mkdirSync(outDir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    await writeTarball(dataDir, partial);
    renameSync(partial, file);
    return { file, made: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `dir` as a gzipped tar, entries relative to it, in path order. */
export async function writeTarball(dir: string, out: string): Promise<void> {
  const tar = pack();
  const writing = pipeline(tar, createGzip({ level: constants.Z_BEST_COMPRESSION }), createWriteStream(out));
  await addEntries(tar, dir, '');
  tar.finalize();
  await writing;
}

async function addEntries(tar: Pack, root: string, prefix: string): Promise<void> {
  for (const name of readdirSync(join(root, prefix)).sort()) {
    const path = prefix ? `${prefix}/${name}` : name;
    const full = join(root, path);
    const common = { mtime: new Date(0), uid: 0, gid: 0 };
    if (statSync(full).isDirectory()) {
      await entry(tar, { name: path, type: 'directory', mode: 0o700, ...common });
      await addEntries(tar, root, path);
    } else {
      await entry(tar, { name: path, type: 'file', mode: 0o600, ...common }, readFileSync(full));
    }
  }
}

function entry(tar: Pack, header: Parameters<Pack['entry']>[0], body?: Buffer): Promise<void> {
  return new Promise((done, fail) => {
    const callback = (err?: Error | null) => (err ? fail(err) : done());
    if (body) tar.entry(header, body, callback);
    else tar.entry(header, callback);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  makeEmbeddedTemplate().then(
    ({ file, made }) =>
      console.log(
        made ? `embedded template: ${file} (${Date.now() - started} ms)` : `embedded template: ${file} (exists)`,
      ),
    (err: unknown) => {
      console.error(`embedded template: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
