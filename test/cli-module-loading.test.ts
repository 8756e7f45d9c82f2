/**
 * The commands that only read the ledger or manage fabrics (`fabric …`, `drift`) load only what they need: no
 * Kubernetes client, Git reader, sync service, publisher, embedded database (with a URL) or migrator (schema up
 * to date). Most of a command's time is module loading (docs/benchmarks.md, "CLI latency"); this guards the
 * laziness, not the time. The built CLI (`npm run build`) runs under a resolve hook (test/fixtures/module-log)
 * that logs every module URL the ESM loader resolves.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BIN, cliEnv } from './helpers/cli.js';
import { createEmptyDatabase } from './helpers/database.js';

const REGISTER = resolve('test', 'fixtures', 'module-log', 'register.mjs');
const DIST = resolve('dist', 'src');

/** What none of these commands may load: the cluster and Git sides, the full ledger, the migrator, PGlite. */
const NOT_FOR_READERS = [
  '/node_modules/@kubernetes/client-node/',
  '/node_modules/@mikro-orm/migrations/',
  '/node_modules/@electric-sql/pglite',
  '/dist/src/ledger.js',
  '/dist/src/sync/fabric-sync-service.js',
  '/dist/src/kube/cluster-reader.js',
  '/dist/src/gitops/desired-state-reader.js',
  '/dist/src/writeback/',
  '/dist/src/drafts/',
];

let dir: string;
beforeAll(() => {
  if (!existsSync(join(DIST, 'cli', 'main.js'))) throw new Error('compiled CLI missing: run `npm run build`');
  dir = mkdtempSync(join(tmpdir(), 'hh-module-log-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;
/** Runs `node --import register.mjs args…` (asynchronously: an embedded test database serves from this process). */
function loggedNode(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; loaded: string[] }> {
  const log = join(dir, `modules-${++runs}.log`);
  const child = spawn(process.execPath, ['--import', REGISTER, ...args], {
    env: cliEnv({ HH_TEST_MODULE_LOG: log }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('close', (code) => {
      const loaded = existsSync(log) ? [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))] : [];
      done({ code, stdout, stderr, loaded });
    });
  });
}

const forbiddenIn = (loaded: string[]) => loaded.filter((url) => NOT_FOR_READERS.some((part) => url.includes(part)));

/**
 * What `fabric list` and `drift` do not load on an up-to-date PostgreSQL ledger either: they read it on a plain pg
 * client (src/cli/pg-fabric-reads.ts), so neither MikroORM nor the entities' class-validator.
 */
const ORM = ['/node_modules/@mikro-orm/', '/node_modules/class-validator/'];
const ormIn = (loaded: string[]) => loaded.filter((url) => ORM.some((part) => url.includes(part)));

/** Imports the given compiled modules in a fresh process and returns what the loader resolved. */
async function modulesLoadedBy(...modules: string[]): Promise<string[]> {
  const body = modules.map((m) => `await import(${JSON.stringify(`file://${join(DIST, m)}`)});`).join(' ');
  const r = await loggedNode(['--input-type=module', '-e', body]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.loaded;
}

test('the hook sees what a module loads: the full ledger pulls in the Kubernetes client and the migrator', async () => {
  // The control: without it, an empty log would pass every check below.
  const loaded = await modulesLoadedBy('ledger.js', 'db/orm-config.js');
  expect(forbiddenIn(loaded)).toEqual(
    expect.arrayContaining([
      expect.stringContaining('/@kubernetes/client-node/'),
      expect.stringContaining('/@mikro-orm/migrations/'),
      expect.stringContaining('/dist/src/sync/fabric-sync-service.js'),
    ]),
  );
});

test('the CLI shell, the fabric, drift, runs, history and get commands and the ledger reader import nothing of the cluster or Git side', async () => {
  const loaded = await modulesLoadedBy(
    'cli/main.js',
    'cli/fabric-actions.js',
    'cli/fabric-show-action.js',
    'cli/drift-action.js',
    'cli/reads-actions.js',
    'reads/ledger-reads.js',
    'ledger-reader.js',
    'sync/drift-report.js',
    'db/open-database.js',
  );
  expect(loaded).toContain(`file://${join(DIST, 'ledger-reader.js')}`);
  expect(forbiddenIn(loaded)).toEqual([]);
});

describe('running the commands on a ledger', () => {
  let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(() => db.drop());

  test('fabric list on a new database goes through the ORM (it migrates); fabric add migrates too; fabric list and drift then load neither the ORM nor the migrator nor the cluster side', async () => {
    const hh = (...args: string[]) => loggedNode([BIN, '--database-url', db.url, ...args]);

    // The control: a migration pending (here all of them), so `fabric list` opens through the ORM, which applies
    // them — and the hook sees MikroORM, class-validator and the migrator loaded.
    const first = await hh('fabric', 'list', '--json');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual([]);
    expect(ormIn(first.loaded)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('/@mikro-orm/core/'),
        expect.stringContaining('/class-validator/'),
      ]),
    );
    expect(first.loaded.some((url) => url.includes('/@mikro-orm/migrations/'))).toBe(true);

    const added = await hh('fabric', 'add', 'lab', '--json');
    expect(added.stderr).not.toMatch(/error/i);
    expect(added.code).toBe(0);
    // `fabric add` writes through the ORM (the entity's rules); it also reads the kubeconfig for the server URL it
    // shows, so it loads the Kubernetes client: that is its job.
    expect(ormIn(added.loaded).length).toBeGreaterThan(0);

    const listed = await hh('fabric', 'list', '--json');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((f) => f.name)).toEqual(['lab']);
    expect(forbiddenIn(listed.loaded)).toEqual([]);
    expect(ormIn(listed.loaded)).toEqual([]);

    const drift = await hh('drift', 'lab', '--json');
    expect(drift.code).toBe(0);
    expect(JSON.parse(drift.stdout)).toMatchObject({ fabric: 'lab', summary: { total: 0 } });
    expect(forbiddenIn(drift.loaded)).toEqual([]);
    expect(ormIn(drift.loaded)).toEqual([]);

    // An unknown fabric is still the one-line error it always was.
    const missing = await hh('drift', 'nope');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no fabric named "nope"/);
    expect(ormIn(missing.loaded)).toEqual([]);
  });
});
