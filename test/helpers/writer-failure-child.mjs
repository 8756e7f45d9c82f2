/**
 * Child process of sync-writer.test.ts (Jest hides the real process's `unhandledRejection` events from
 * test code, so this runs in plain Node against the BUILT writer): a statement that fails while nobody
 * is waiting for it must surface from the writer's next call, and never as an unhandled rejection.
 * Argument: the URL of an empty database. Prints one JSON line.
 */
import 'reflect-metadata';
import { openDatabase } from '../../dist/src/db/open-database.js';
import { ResourceWriter } from '../../dist/src/sync/resource-writer.js';
import { ACTUAL_COLUMNS, diffAgainstIndex, planActualWriteChunks } from '../../dist/src/sync/actual-plan.js';

const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(String(reason?.constructor?.name ?? reason)));

const db = await openDatabase({ url: process.argv[2], ormOptions: { pool: { min: 0, max: 1 } } });
const now = new Date();
const ctx = { ignore: [], schemaDefaults: () => null, lastActualRead: null, now };
const obs = (name) => ({
  kind: 'Switch',
  namespace: 'default',
  name,
  apiVersion: 'wiring.githedgehog.com/v1beta1',
  spec: {},
  status: null,
  labels: {},
  annotations: {},
  uid: `uid-${name}`,
  resourceVersion: '1',
});
const missingFabric = 2_000_000_000; // no such fabric: every statement breaks the foreign key
const planOf = (objects) =>
  [...planActualWriteChunks(missingFabric, diffAgainstIndex(objects, new Map()), new Map(), ctx, Infinity)][0];

let caught = null;
try {
  await db.orm.em.fork().transactional(async (em) => {
    const writer = new ResourceWriter(em, ACTUAL_COLUMNS, 'sync_actual', now, 1);
    await writer.add(planOf([obs('a')])); // sent, not awaited
    await new Promise((resolve) => setTimeout(resolve, 200)); // it fails while nobody waits
    await writer.add(planOf([obs('b')]));
    await writer.flush();
  });
} catch (err) {
  caught = err.constructor.name;
}
await new Promise((resolve) => setTimeout(resolve, 50));
await db.close();
console.log(JSON.stringify({ caught, unhandled }));
