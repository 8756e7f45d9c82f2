/**
 * The set-based writer bypasses the entities' validation hooks, so the database holds the rules that matter for its
 * rows (docs/schema.md, "Where each entity rule is enforced"): a row the writer would insert with a bad identity or
 * an unknown state is refused by a CHECK constraint, and the transaction writes nothing.
 */
import 'reflect-metadata';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { ACTUAL_COLUMNS, diffAgainstIndex, planActualWriteChunks } from '../src/sync/actual-plan.js';
import type { DriftContext } from '../src/sync/drift-evaluation.js';
import { applyWritePlan } from '../src/sync/resource-writer.js';
import type { ActualObservation } from '../src/observations.js';
import { query } from '../src/store/sql.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
// Declared as set, but unset here when the setup that assigns it failed or never ran.
afterAll(async () => (db as TestDatabase | undefined)?.close());

const NOW = new Date('2026-12-01T12:00:00Z');
const ctx: DriftContext = { ignore: [], schemaDefaults: () => null, lastActualRead: null, now: NOW };

const obs = (over: Partial<ActualObservation>): ActualObservation => ({
  kind: 'Switch',
  namespace: 'default',
  name: 'leaf-1',
  apiVersion: 'wiring.githedgehog.com/v1beta1',
  spec: {},
  status: null,
  labels: {},
  annotations: {},
  uid: 'uid-1',
  resourceVersion: '1',
  ...over,
});

/** Write one new object through the set-based writer, as an actual sync does; the error, if refused. */
async function writeOne(
  fabricId: number,
  o: ActualObservation,
  tamper: (row: Record<string, unknown>) => void = () => {},
): Promise<Error | null> {
  const [plan] = planActualWriteChunks(fabricId, diffAgainstIndex([o], new Map()), new Map(), ctx, Infinity);
  for (const row of plan!.upserts) tamper(row);
  try {
    await db.orm.em.fork().transactional((em) => applyWritePlan(em, plan!, ACTUAL_COLUMNS, 'sync_actual', NOW));
    return null;
  } catch (err) {
    return err as Error;
  }
}

test.each([
  ['a name that is no DNS-1123 subdomain', obs({ name: 'Leaf_1' }), 'hedgehog_resource_name_check'],
  ['a name longer than 253 characters', obs({ name: 'a'.repeat(254) }), 'hedgehog_resource_name_check'],
  ['a namespace that is no DNS-1123 label', obs({ namespace: 'team.a' }), 'hedgehog_resource_namespace_check'],
  ['a kind that is not UpperCamelCase', obs({ kind: 'switch' }), 'hedgehog_resource_kind_check'],
  ['an empty apiVersion', obs({ apiVersion: '' }), 'hedgehog_resource_api_version_check'],
])('the database refuses a writer row with %s', async (_what, o, constraint) => {
  const fabric = await new FabricRegistry(db.orm.em).create(
    `bad-${constraint}-${o.name.length}-${o.kind}-${o.namespace}`.slice(0, 60),
  );
  const err = await writeOne(fabric.id, o);
  expect(err?.message).toContain(constraint);
  const [{ n }] = (await query<{ n: number }>(
    db.orm.em.fork(),
    'SELECT count(*)::int AS n FROM hedgehog_resource WHERE fabric_id = ?',
    [fabric.id],
  )) as [{ n: number }];
  expect(n).toBe(0);
});

test('the database refuses a writer row with an unknown state or a score out of range', async () => {
  const fabric = await new FabricRegistry(db.orm.em).create('bad-state');
  expect((await writeOne(fabric.id, obs({}), (row) => (row.resource_state = 'exploded')))?.message).toContain(
    'hedgehog_resource_resource_state_check',
  );
  expect((await writeOne(fabric.id, obs({}), (row) => (row.drift_score = -0.5)))?.message).toContain(
    'hedgehog_resource_drift_score_check',
  );
});

test('a valid row is written', async () => {
  const fabric = await new FabricRegistry(db.orm.em).create('good-row');
  expect(await writeOne(fabric.id, obs({ name: 'leaf-1.rack-2' }))).toBeNull();
});
