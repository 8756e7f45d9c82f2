/**
 * A new embedded data directory is restored from a template instead of being made by initdb.
 *
 * PGlite's initdb takes 7–12 s on this kind of machine and peaks near 800 MB of RSS. Its result is always the same
 * directory (same PGlite version, same settings), so `npm run build` runs it once and keeps the directory as a
 * compressed tarball beside this module (`pglite-<version>-f<format>.tar.gz`, about 4.5 MB for 39 MB of files).
 * Restoring it is a streamed gunzip and ~1,000 file writes: a few hundred milliseconds in this process, no child.
 * test/embedded-template.test.ts proves that a restored directory equals a freshly initialized one in schema and
 * settings. Without a template for the installed PGlite (a source checkout never built, another PGlite version),
 * the caller falls back to initdb.
 *
 * Every restored directory shares the template's system identifier (pg_control); PGlite has no replication or
 * archive that could confuse two such databases.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';

/** Bumped when the template's content or layout changes for the same PGlite version. */
export const TEMPLATE_FORMAT = 1;

/** The installed PGlite's version: a template is only ever restored by the PGlite that made it. */
export function installedPgliteVersion(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@electric-sql/pglite');
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
  }
  throw new Error('cannot find the version of @electric-sql/pglite');
}

export function templateFileName(pgliteVersion = installedPgliteVersion()): string {
  return `pglite-${pgliteVersion}-f${TEMPLATE_FORMAT}.tar.gz`;
}

/**
 * Where the build puts the template: beside the compiled module (dist/src/db). From the sources (ts-jest, tsx),
 * the same place under the package root's dist.
 */
export function templateDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  if (here.split(sep).includes('dist')) return here;
  return resolve(here, '..', '..', 'dist', 'src', 'db');
}

/** The template for the installed PGlite, when the build made one. */
export function findEmbeddedTemplate(): string | undefined {
  const file = join(templateDirectory(), templateFileName());
  return existsSync(file) ? file : undefined;
}

/**
 * Extracts the template tarball into `into` (which must not exist yet). Only regular files and directories are
 * accepted, and only inside `into`: anything else means the file is not one of ours, and is an error.
 */
export async function restoreEmbeddedTemplate(tarball: string, into: string): Promise<void> {
  const root = resolve(into);
  mkdirSync(root, { recursive: false, mode: 0o700 });
  const unpack = extract();
  unpack.on('entry', (header, stream, next) => {
    let target: string;
    try {
      target = entryTarget(root, header);
    } catch (err) {
      // Ends the whole extraction (the pipeline below rejects with it); the entry's own stream goes with it.
      stream.on('error', () => undefined);
      unpack.destroy(err as Error);
      return;
    }
    if (header.type === 'directory') {
      mkdirSync(target, { recursive: true, mode: 0o700 });
      stream.resume();
      stream.on('end', () => next());
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk) => chunks.push(chunk as Buffer));
    stream.on('error', (err: Error) => next(err));
    stream.on('end', () => {
      try {
        mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        writeSparse(target, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), header.mode);
        next();
      } catch (err) {
        next(err as Error);
      }
    });
  });
  await pipeline(createReadStream(tarball), createGunzip({ chunkSize: 1 << 20 }), unpack);
}

function entryTarget(root: string, header: Header): string {
  if (header.type !== 'file' && header.type !== 'directory')
    throw new Error(`embedded template: unexpected ${header.type} entry ${JSON.stringify(header.name)}`);
  const target = resolve(root, header.name);
  const inside = relative(root, target);
  if (inside.startsWith('..') || resolve(root, inside) !== target)
    throw new Error(`embedded template: entry ${JSON.stringify(header.name)} leaves the directory`);
  return target;
}

/**
 * Writes `data`, leaving its trailing zeros as a hole: the WAL segment is 16 MB of which initdb wrote about 7. Reads
 * of a hole give zeros, so PostgreSQL sees the same file; the disk and the write are spared the rest.
 */
function writeSparse(file: string, data: Buffer, mode: number): void {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  const fd = openSync(file, 'wx', mode & 0o777);
  try {
    for (let written = 0; written < end;) written += writeSync(fd, data, written, end - written);
    if (end < data.length) ftruncateSync(fd, data.length);
  } finally {
    closeSync(fd);
  }
}
