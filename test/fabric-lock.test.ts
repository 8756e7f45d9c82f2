/**
 * The fabric lock bounds only its own wait: the transaction's lock_timeout is what it was before. Removing a fabric
 * takes it too.
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import { lockFabricForTransaction } from '../src/sync/fabric-lock.js';
import { query } from '../src/store/sql.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { createTestDatabase, describeWithServer, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let db: TestDatabase;
let em: EntityManager;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  em = db.orm.em.fork();
});
afterAll(async () => ifSetUp(db)?.close());

// Through the transaction's own connection (the ledger's query helper), as the sync does.
const lockTimeout = async (tem: EntityManager) =>
  (await query<{ v: string }>(tem, `SELECT current_setting('lock_timeout') AS v`))[0]!.v;

test.each([
  ['a host SET LOCAL', `SET LOCAL lock_timeout = '7s'`, '7s'],
  ['the session default', null, '0'],
])('after taking the lock, lock_timeout is %s again', async (_what, setup, expected) => {
  await em.transactional(async (tem) => {
    if (setup) await query(tem, setup);
    await lockFabricForTransaction(tem, 42, 'dc1', 1500);
    expect(await lockTimeout(tem)).toBe(expected);
  });
});

// Needs two backends at once (the embedded PGlite has one): skipped without a server.
describeWithServer('removing a fabric', () => {
  let ledger: TestDatabase;
  beforeAll(async () => {
    ledger = await createTestDatabase();
  });
  afterAll(async () => ifSetUp(ledger)?.close());

  test('waits for a writer holding the fabric lock, so no history it records outlives the fabric', async () => {
    const registry = new FabricRegistry(ledger.orm.em, { lockTimeoutMs: 10_000 });
    const fabric = await registry.create('lock-removal', {});
    const lem = ledger.orm.em.fork();
    const [row] = await query<{ id: number }>(
      lem,
      `INSERT INTO hedgehog_resource (fabric_id, kind, namespace, name, api_version)
       VALUES (?, 'Server', 'default', 'server-1', 'wiring.githedgehog.com/v1beta1') RETURNING id`,
      [fabric.id],
    );
    // A writer as drafts and publish are: the fabric lock, then a history row for an existing object, and no write
    // to the fabric row. It commits only once the removal has started.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const holding = new Promise<void>((r) => (locked = r));
    const writer = ledger.orm.em.fork().transactional(async (tem) => {
      await lockFabricForTransaction(tem, fabric.id, fabric.name, 10_000);
      await query(
        tem,
        `INSERT INTO state_transition (resource_id, fabric_id, from_state, to_state, reason) VALUES (?, ?, 'synced', 'drifted', 'test')`,
        [row!.id, fabric.id],
      );
      locked();
      await released;
    });
    await holding;
    const removal = registry.removeCounting(fabric.name);
    const removalState = { settled: false };
    void removal.finally(() => (removalState.settled = true));
    // Until the removal waits on a lock (or has ended, which the assertions below then catch).
    const waitingOnLock = async () =>
      (
        await query<{ n: number }>(
          lem,
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      )[0]!.n > 0;
    for (let i = 0; i < 500 && !removalState.settled && !(await waitingOnLock()); i++)
      await new Promise((r) => setImmediate(r));
    release();
    await writer;
    const removed = await removal;
    expect(removed).toMatchObject({ objects: 1, transitions: 1 });
    const left = await query<{ n: number }>(
      lem,
      `SELECT count(*)::int AS n FROM state_transition WHERE fabric_id = ?`,
      [fabric.id],
    );
    expect(left[0]!.n).toBe(0);
  });
});
