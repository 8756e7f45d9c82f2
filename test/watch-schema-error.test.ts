/**
 * Issue 9, round 3: a write the database refuses while it answers (here a CHECK constraint added while the
 * watch runs) is not a database outage. Before: every write failed, was taken for an outage, "database answers
 * again; relisting every kind" looped several times a second and each warn line carried kilobytes of SQL. Now:
 * the window's run is closed as failed with one line naming the column and `hh-sync doctor --fix`, the schema
 * gauge reads 0, writes back off with a growing delay (one warn line each, no SQL) and resume once repaired.
 * Runs on PGlite and PostgreSQL.
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import type { Logger } from '../src/sync/logger.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { startWatch, type WatchEvents, type WatchHandle } from '../src/watch/index.js';
import { isDatabaseOutage } from '../src/watch/write-failure.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { fakeView, ledgerView, viewDiff, waitFor } from './helpers/watch-support.js';
import { obj } from './helpers/kube-objects.js';

let db: TestDatabase;
let orm: MikroORM;
let api: FakeKubeApi;
let handle: WatchHandle | undefined;

const server = (name: string) => obj('Server', name, 'default', { description: name });

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
  api = new FakeKubeApi();
  api.load([server('s-1'), server('s-2')]);
  await api.start();
});
afterAll(async () => {
  await handle?.stop();
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
});

const ddl = (sql: string) => withPg(db.url, (c) => c.query(sql));

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

function capturingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (obj: object | string, msg?: string) =>
    lines.push(
      typeof obj === 'string'
        ? { level, obj: {}, msg: obj }
        : { level, obj: obj as Record<string, unknown>, msg: msg ?? '' },
    );
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

test('which failures are outages: connection and timeout errors are; constraint, data and schema errors are not', () => {
  const pgError = (code: string) => Object.assign(new Error(`boom ${code}`), { code });
  for (const code of ['23502', '23514', '23505', '23503', '22P02', '42703', '42P01'])
    expect(isDatabaseOutage(pgError(code))).toBe(false);
  for (const code of ['08006', '57P01', '53300', '57014', '55P03', '40P01', 'ECONNREFUSED'])
    expect(isDatabaseOutage(pgError(code))).toBe(true);
  expect(isDatabaseOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
  expect(isDatabaseOutage(Object.assign(new Error('wrapped'), { cause: pgError('23514') }))).toBe(false);
  // A bug of ours is no outage (waiting for the database would not help); a lock wait is.
  expect(isDatabaseOutage(new TypeError("Cannot read properties of undefined (reading 'spec')"))).toBe(false);
  expect(
    isDatabaseOutage(Object.assign(new Error('another sync run holds fabric "f"'), { name: 'FabricBusyError' })),
  ).toBe(true);
});

test('a CHECK constraint added while the watch runs: a failed run in one line, gauge 0, growing backoff, no relist loop; repaired, it converges', async () => {
  const fabric = await new FabricRegistry(orm.em).create('refused');
  const sync = new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  const lines: LogLine[] = [];
  const runs: WatchEvents['run'][0]['report'][] = [];
  let resumed = 0;
  handle = await startWatch({ em: orm.em, sync }, ['refused'], {
    lease: 'in-process',
    desiredSync: false,
    flushIntervalMs: 20,
    runWindowMs: 60_000,
    retry: { baseMs: 100, maxMs: 400 },
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    logger: capturingLogger(lines),
    watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
  });
  handle.on('run', (r) => runs.push(r.report));
  handle.on('resumed', () => resumed++);
  handle.on('error', () => undefined);
  const view = () => ledgerView(orm.em, fabric.id);
  await waitFor(async () => viewDiff(await view(), fakeView(api)).length === 0, 10_000, 'initial convergence');
  const gauge = async () =>
    (await (await fetch(handle!.metrics!.url)).text())
      .split('\n')
      .find((l) => l.startsWith('hh_sync_ledger_schema_healthy '));

  await ddl(`ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_w CHECK (last_sync_error IS NOT NULL) NOT VALID`);
  try {
    api.create(server('s-3'));
    const refusals = () => lines.filter((l) => l.level === 'warn' && /refused by the database/.test(l.msg));
    // Three refusals in a row: the backoff doubles each time (100, 200, 400 ms, with up to half of it jitter).
    await waitFor(() => refusals().length >= 3, 10_000, 'three refused writes');
    refusals()
      .slice(0, 3)
      .forEach((l, i) => {
        expect(l.obj.retryInMs).toBeGreaterThanOrEqual(50 * 2 ** i);
        expect(l.obj.retryInMs).toBeLessThanOrEqual(100 * 2 ** i);
      });
    for (const l of lines.filter((x) => x.level !== 'debug')) {
      expect(JSON.stringify(l)).not.toMatch(/insert into|with up as|select /i);
    }
    expect(lines.some((l) => /database answers again/.test(l.msg))).toBe(false);
    expect(lines.some((l) => /pausing writes until the database answers/.test(l.msg))).toBe(false);

    const failed = runs.find((r) => r.status === 'failed')!;
    expect(failed.errorMessage).toMatch(
      /^ledger write refused: ledger schema unhealthy \(NOT NULL without a default: hedgehog_resource\.last_sync_error \(through CHECK constraint ck_w\)\).*hh-sync doctor --fix/,
    );
    expect(failed.errorMessage).not.toContain('\n');
    const [recorded] = await orm.em
      .fork()
      .getConnection()
      .execute(`SELECT status, error_message FROM sync_operation WHERE id = ?`, [failed.id]);
    expect(recorded).toEqual({ status: 'failed', error_message: failed.errorMessage });
    expect(await gauge()).toBe('hh_sync_ledger_schema_healthy 0');
    expect(Object.keys(await view())).not.toContain('Server/default/s-3');
  } finally {
    await ddl(`ALTER TABLE hedgehog_resource DROP CONSTRAINT ck_w`);
  }
  // Repaired: the next relist lands what changed meanwhile.
  await waitFor(async () => viewDiff(await view(), fakeView(api)).length === 0, 10_000, 'convergence after the repair');
  expect(await gauge()).toBe('hh_sync_ledger_schema_healthy 1');
  expect(resumed).toBeGreaterThanOrEqual(1);
});
