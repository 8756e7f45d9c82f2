/**
 * Watch replicas as separate PROCESSES (test/helpers/watch-replica.mjs runs the built package, as the CLI does):
 *
 * - SIGTERM: the replica finishes its writes, records the run, releases its lease and exits 0 — on both databases.
 * - Failover (PostgreSQL server only): two replicas on one fabric; SIGKILL of the holder makes the other take over
 *   within a few seconds, and no event is lost: the final ledger equals the fake's objects.
 *
 * Why failover needs a server: the lease is a session advisory lock on a dedicated connection, and a PGlite database
 * is ONE session (pglite-socket shares it between all clients) inside ONE process (its data directory is pid-locked).
 * Other processes reach it through the holder's port, but only the holder may watch it — which the embedded branch
 * below checks, since that is what makes its in-process lease sound. CI sets DATABASE_URL, so the failover case runs there.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedger, type Ledger } from '../src/ledger.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { LOCK_NAMESPACE_WATCH } from '../src/watch/index.js';
import { describeWithServer, createEmptyDatabase, testServerUrl, withPg } from './helpers/database.js';
import { assertBuilt, spawnReplica, type Replica } from './helpers/watch-replica-process.js';
import { churn, delay, fakeView, ledgerView, viewDiff, waitFor } from './helpers/watch-support.js';

const REPLICA_OPTIONS = {
  flushIntervalMs: 50,
  stallTimeoutMs: 2000,
  leasePollMs: 200,
  leaseCheckMs: 500,
  runWindowMs: 60_000,
  retry: { baseMs: 100, maxMs: 500 },
  watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
};

let api: FakeKubeApi;
let dir: string;
let kubeconfigPath: string;
const replicas: Replica[] = [];

beforeAll(async () => {
  assertBuilt();
  api = new FakeKubeApi();
  api.load(generateSampleFabric({ targetObjects: 80, seed: 3 }));
  await api.start();
  dir = mkdtempSync(path.join(tmpdir(), 'hh-watch-replicas-'));
  kubeconfigPath = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, api.kubeconfigYaml(), { mode: 0o600 });
});

afterAll(async () => {
  for (const r of replicas) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
  await Promise.all(replicas.map((r) => r.exited));
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (api as FakeKubeApi | undefined)?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function start(config: object): Replica {
  const r = spawnReplica(config);
  replicas.push(r);
  return r;
}

/** Where a replica's ledger is, and how the test opens the same ledger. */
interface LedgerPlace {
  config: { databaseUrl?: string; dataDir?: string; embedded?: boolean };
  open(): Promise<Ledger>;
  drop(): Promise<void>;
}

async function ledgerPlace(): Promise<LedgerPlace> {
  if (testServerUrl()) {
    const db = await createEmptyDatabase();
    return { config: { databaseUrl: db.url }, open: () => openLedger({ databaseUrl: db.url }), drop: () => db.drop() };
  }
  const dataDir = mkdtempSync(path.join(dir, 'pgdata-'));
  return {
    config: { dataDir, embedded: true },
    open: () => openLedger({ dataDir, embedded: true }),
    drop: () => Promise.resolve(),
  };
}

test('SIGTERM: the replica writes what it received, records the run, releases the lease and exits 0', async () => {
  const place = await ledgerPlace();
  let ledger = await place.open();
  const fabric = await ledger.fabrics.create('term', { kubeconfigPath });
  await ledger.close();

  const a = start({ ...place.config, fabrics: ['term'], options: REPLICA_OPTIONS });
  await a.waitFor((l) => l.event === 'ready', 20_000, 'ready');
  if (!testServerUrl()) {
    // The embedded ledger is served by the process holding it: a second replica may use it, but not watch it.
    const b = start({ ...place.config, fabrics: ['term'], options: REPLICA_OPTIONS });
    const failed = await b.waitFor((l) => l.event === 'failed', 20_000, 'second process refused');
    expect(String(failed.error)).toMatch(/served by another hh-sync process/);
    expect((await b.exited).code).toBe(3);
  }
  api.create({
    apiVersion: 'vpc.githedgehog.com/v1beta1',
    kind: 'VPC',
    metadata: { name: 'before-term', namespace: 'default' },
    spec: {},
  });
  await a.waitFor((l) => l.event === 'applied' && l.source === 'batch', 5000, 'the batch');
  // One more change handed to the watcher just before the signal: stop() still writes it.
  api.create({
    apiVersion: 'vpc.githedgehog.com/v1beta1',
    kind: 'VPC',
    metadata: { name: 'at-term', namespace: 'default' },
    spec: {},
  });
  await delay(10);
  a.proc.kill('SIGTERM');
  const { code } = await a.exited;
  expect(code).toBe(0);
  const run = a.lines.find((l) => l.event === 'run');
  expect(run?.status).toMatch(/completed|partial/);
  expect(a.lines.some((l) => l.event === 'released' && l.reason === 'stop')).toBe(true);

  ledger = await place.open();
  try {
    expect(viewDiff(await ledgerView(ledger.em, fabric.id), fakeView(api))).toEqual([]);
    const rows = await ledger.em
      .fork()
      .getConnection()
      .execute(
        `SELECT id, status, finished_at FROM sync_operation WHERE fabric_id = ? AND type = 'watch' ORDER BY id`,
        [fabric.id],
      );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((r: { finished_at: Date | null }) => r.finished_at !== null)).toBe(true);
    expect(rows.at(-1).id).toBe(run!.id);
    if (testServerUrl()) {
      const url = place.config.databaseUrl!;
      const locks = await withPg(url, (c) =>
        c.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = $1
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [LOCK_NAMESPACE_WATCH],
        ),
      );
      expect(locks.rows[0].n).toBe(0);
    }
  } finally {
    await ledger.close();
    await place.drop();
  }
});

// Two real database sessions are needed: without a server this shows as skipped, never silently absent.
{
  describeWithServer('failover between two replica processes (PostgreSQL server)', () => {
    test('SIGKILL of the holder: the other replica takes over within seconds and no event is lost', async () => {
      const place = await ledgerPlace();
      const ledger = await place.open();
      try {
        const fabric = await ledger.fabrics.create('ha', { kubeconfigPath });
        const a = start({ ...place.config, fabrics: ['ha'], options: REPLICA_OPTIONS });
        await a.waitFor((l) => l.event === 'ready', 20_000, 'A ready');
        const b = start({ ...place.config, fabrics: ['ha'], options: REPLICA_OPTIONS });
        const started = await b.waitFor((l) => l.event === 'started', 20_000, 'B started');
        expect(started.held).toEqual([]); // A holds the fabric; B waits
        await delay(600); // several lease polls of B: still only A
        expect(b.lines.some((l) => l.event === 'acquired')).toBe(false);

        // Changes keep coming before, during and after the kill.
        let i = 0;
        let churning = true;
        // A named function, not an IIFE: TypeScript would read `churning` as always true inside one.
        const churnUntilStopped = async () => {
          while (churning) {
            churn(api, i++, 'ha');
            await delay(25);
          }
        };
        const churner = churnUntilStopped();
        await a.waitFor((l) => l.event === 'applied' && l.source === 'batch', 5000, 'A applying batches');
        await delay(300);
        const killedAt = Date.now();
        a.proc.kill('SIGKILL');
        expect((await a.exited).signal).toBe('SIGKILL');
        const acquired = await b.waitFor((l) => l.event === 'acquired', 15_000, 'B takes over');
        const ready = await b.waitFor((l) => l.event === 'ready', 15_000, 'B ready');
        await delay(700);
        churning = false;
        await churner;

        const takeoverMs = acquired.t - killedAt;
        const readyMs = ready.t - killedAt;
        if (process.env.HH_TEST_VERBOSE)
          console.info(
            `takeover ${takeoverMs} ms, first complete lists written ${readyMs} ms after SIGKILL (${i} changes)`,
          );
        expect(takeoverMs).toBeLessThan(5000);

        // No event lost: the ledger converges on the cluster.
        await waitFor(
          async () => viewDiff(await ledgerView(ledger.em, fabric.id), fakeView(api)).length === 0,
          15_000,
          'convergence',
        ).catch(async (err: unknown) => {
          throw new Error(
            `${(err as Error).message}: ${viewDiff(await ledgerView(ledger.em, fabric.id), fakeView(api))
              .slice(0, 5)
              .join('; ')}`,
          );
        });

        // A's window row, left open by the kill, was closed by B as failed.
        const rows = await ledger.em
          .fork()
          .getConnection()
          .execute(
            `SELECT status, error_message, finished_at FROM sync_operation WHERE fabric_id = ? AND type = 'watch' ORDER BY id`,
            [fabric.id],
          );
        expect(rows[0].status).toBe('failed');
        expect(rows[0].error_message).toMatch(/stopped without closing its run/);

        b.proc.kill('SIGTERM');
        expect((await b.exited).code).toBe(0);
        const open = await ledger.em
          .fork()
          .getConnection()
          .execute(`SELECT count(*)::int AS n FROM sync_operation WHERE fabric_id = ? AND finished_at IS NULL`, [
            fabric.id,
          ]);
        expect(open[0].n).toBe(0);
      } finally {
        await ledger.close();
        await place.drop();
      }
    });
  });
}
