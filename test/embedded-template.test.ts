/**
 * A new embedded data directory is restored from the template the build made (src/db/embedded-template.ts) instead
 * of being made by initdb. These tests prove the restored database is the one initdb makes — same schema, settings,
 * databases and roles —, that a damaged template costs time and never the database, and that the restore writes
 * only regular files and directories inside the target.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { pack } from 'tar-stream';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { findEmbeddedTemplate, restoreEmbeddedTemplate, templateFileName } from '../src/db/embedded-template.js';
import { writeTarball } from '../src/db/make-embedded-template.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hh-template-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function template(): string {
  const file = findEmbeddedTemplate();
  // `npm test` builds first; a template missing here would make the comparison below initdb against initdb.
  if (!file) throw new Error(`no ${templateFileName()} under dist/src/db: run \`npm run build\``);
  return file;
}

/** What must be equal between two databases: settings, databases, roles, extensions and the whole catalog. */
const FINGERPRINT = {
  settings: `SELECT name, setting, unit FROM pg_settings ORDER BY name`,
  databases: `SELECT datname, pg_encoding_to_char(encoding) AS encoding, datcollate, datctype, datlocprovider,
      datistemplate, datallowconn, datconnlimit FROM pg_database ORDER BY datname`,
  roles: `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls
      FROM pg_roles ORDER BY rolname`,
  extensions: `SELECT extname, extversion FROM pg_extension ORDER BY extname`,
  relations: `SELECT n.nspname, c.relname, c.relkind, c.relpersistence, a.attnum, a.attname,
      format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS default
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      ORDER BY n.nspname, c.relname, a.attnum`,
  functions: `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) AS args, p.prokind
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace ORDER BY 1, 2, 3`,
  types: `SELECT n.nspname, t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace ORDER BY 1, 2`,
};

async function describe(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, unknown[]> = {};
    for (const [key, sql] of Object.entries(FINGERPRINT)) out[key] = (await client.query(sql)).rows;
    const id = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    return { catalog: out, systemIdentifier: id.rows[0]!.id };
  } finally {
    await client.end();
  }
}

async function describeNew(name: string, tpl: string | false | undefined) {
  const server = await startEmbeddedPostgres({ dataDir: path.join(dir, name), template: tpl });
  try {
    return await describe(server.url);
  } finally {
    await server.stop();
  }
}

test('a directory restored from the template is the database initdb makes; a damaged template falls back to initdb', async () => {
  // The reference database is made by initdb through the fallback a damaged template takes: one initdb (7–12 s)
  // proves both that the fallback works and that the template restores what initdb makes.
  const whole = readFileSync(template());
  const damaged = path.join(dir, 'damaged.tar.gz');
  writeFileSync(damaged, whole.subarray(0, Math.floor(whole.length / 2)));
  const restored = await describeNew('restored', undefined);
  const initialized = await describeNew('initdb', damaged);
  const restoredAgain = await describeNew('restored-again', undefined);
  expect(restored.catalog.relations!.length).toBeGreaterThan(1000); // the whole catalog, not an empty query
  expect(restored.catalog.functions!.length).toBeGreaterThan(2000);
  for (const key of Object.keys(FINGERPRINT))
    expect({ [key]: restored.catalog[key] }).toEqual({ [key]: initialized.catalog[key] });
  // Proof of where each came from: restored directories share the template's identity, initdb makes its own.
  expect(restoredAgain.systemIdentifier).toBe(restored.systemIdentifier);
  expect(initialized.systemIdentifier).not.toBe(restored.systemIdentifier);
  // Nothing left beside them (the half-restored directory of the damaged template included); private modes.
  for (const name of ['restored', 'initdb'])
    expect(readdirSync(path.join(dir, name)).filter((n) => n.startsWith('db.init-'))).toEqual([]);
  expect(statSync(path.join(dir, 'restored', 'db')).mode & 0o077).toBe(0);
  expect(statSync(path.join(dir, 'restored', 'db', 'PG_VERSION')).mode & 0o077).toBe(0);
}, 120_000);

async function describeInMemory(tpl: string | false | undefined) {
  const server = await startEmbeddedPostgres({ dataDir: 'memory', template: tpl });
  try {
    return await describe(server.url);
  } finally {
    await server.stop();
  }
}

test('an in-memory database starts from the template too; a damaged template falls back to initdb', async () => {
  const fromTemplate = await describeInMemory(undefined);
  const onDisk = await describeNew('restored-for-memory', undefined);
  for (const key of Object.keys(FINGERPRINT))
    expect({ [key]: fromTemplate.catalog[key] }).toEqual({ [key]: onDisk.catalog[key] });
  expect(fromTemplate.systemIdentifier).toBe(onDisk.systemIdentifier); // the template's identity: it was loaded

  const whole = readFileSync(template());
  const damaged = path.join(dir, 'damaged-for-memory.tar.gz');
  writeFileSync(damaged, whole.subarray(0, Math.floor(whole.length / 3)));
  const initialized = await describeInMemory(damaged);
  expect(initialized.systemIdentifier).not.toBe(onDisk.systemIdentifier); // initdb made it
  expect(initialized.catalog.relations).toEqual(onDisk.catalog.relations);
}, 120_000);

test('the WAL segment is restored sparse and byte-for-byte: the template’s 16 MB file, about 9 MB of it a hole', async () => {
  const into = path.join(dir, 'plain-restore');
  await restoreEmbeddedTemplate(template(), into);
  const walDir = path.join(into, 'pg_wal');
  const segment = readdirSync(walDir).find((n) => /^[0-9A-F]{24}$/.test(n))!;
  const file = path.join(walDir, segment);
  const st = statSync(file);
  expect(st.size).toBe(16 * 1024 * 1024);
  expect(st.blocks * 512).toBeLessThan(st.size); // a hole where the zeros were
  const bytes = readFileSync(file);
  expect(bytes.subarray(0, 8).some((b) => b !== 0)).toBe(true); // the header is there
  expect(bytes.subarray(bytes.length - 4096).every((b) => b === 0)).toBe(true);
  expect(existsSync(path.join(into, 'PG_VERSION'))).toBe(true);
  await expect(restoreEmbeddedTemplate(template(), into)).rejects.toThrow(/EEXIST/); // never over a directory
});

async function tarball(
  file: string,
  entries: { name: string; type?: 'file' | 'directory' | 'symlink'; body?: string; linkname?: string }[],
) {
  const tar = pack();
  const writing = pipeline(tar, createGzip(), createWriteStream(file));
  for (const e of entries) {
    await new Promise<void>((done, fail) => {
      const cb = (err?: Error | null) => (err ? fail(err) : done());
      if (e.body !== undefined) tar.entry({ name: e.name, type: e.type ?? 'file' }, e.body, cb);
      else tar.entry({ name: e.name, type: e.type ?? 'directory', linkname: e.linkname }, cb);
    });
  }
  tar.finalize();
  await writing;
}

test('a tarball that is not one of ours is refused: entries leaving the directory, links', async () => {
  const escape = path.join(dir, 'escape.tar.gz');
  await tarball(escape, [
    { name: 'ok', body: 'x' },
    { name: '../outside', body: 'evil' },
  ]);
  await expect(restoreEmbeddedTemplate(escape, path.join(dir, 'escape'))).rejects.toThrow(
    /entry "\.\.\/outside" leaves the directory/,
  );
  expect(existsSync(path.join(dir, 'outside'))).toBe(false);

  const link = path.join(dir, 'link.tar.gz');
  await tarball(link, [{ name: 'pg_wal', type: 'symlink', linkname: '/etc' }]);
  await expect(restoreEmbeddedTemplate(link, path.join(dir, 'link'))).rejects.toThrow(
    /unexpected symlink entry "pg_wal"/,
  );
});

test('the template tarball is reproducible: sorted entries, no times or owners, private modes', async () => {
  const src = path.join(dir, 'tree');
  mkdirSync(path.join(src, 'b', 'c'), { recursive: true });
  writeFileSync(path.join(src, 'b', 'c', 'z'), 'z');
  writeFileSync(path.join(src, 'a'), 'a', { mode: 0o666 });
  await writeTarball(src, path.join(dir, 'one.tar.gz'));
  writeFileSync(path.join(src, 'a'), 'a'); // a new mtime
  await writeTarball(src, path.join(dir, 'two.tar.gz'));
  expect(readFileSync(path.join(dir, 'two.tar.gz')).equals(readFileSync(path.join(dir, 'one.tar.gz')))).toBe(true);
  const into = path.join(dir, 'tree-restored');
  await restoreEmbeddedTemplate(path.join(dir, 'one.tar.gz'), into);
  expect(readFileSync(path.join(into, 'b', 'c', 'z'), 'utf8')).toBe('z');
  expect(statSync(path.join(into, 'a')).mode & 0o777).toBe(0o600);
  expect(statSync(path.join(into, 'b')).mode & 0o777).toBe(0o700);
});

test('a restore killed half-way (kill -9: no initdb child to record) leaves a directory the next start removes', async () => {
  const dataDir = path.join(dir, 'killed-restore');
  const halfRestored = path.join(dataDir, 'db.init-999998');
  mkdirSync(dataDir);
  await restoreEmbeddedTemplate(template(), halfRestored);
  rmSync(path.join(halfRestored, 'global'), { recursive: true }); // cut short: part of it never written
  const server = await startEmbeddedPostgres({ dataDir });
  try {
    expect(readdirSync(dataDir).filter((n) => n.startsWith('db.init-'))).toEqual([]);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
  }
}, 60_000);
