/** The fabric lock bounds only its own wait: the transaction's lock_timeout is what it was before. */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import { lockFabricForTransaction } from '../src/sync/fabric-lock.js';
import { query } from '../src/store/sql.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
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
