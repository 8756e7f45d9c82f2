/**
 * Every way the ORM writes a row works with sparse data: em.create + flush (TS
 * initializers), em.insert and em.upsertMany with plain objects (which skip the
 * initializers, so only the database defaults protect them), and — property-based —
 * any subset of optional fields with any valid values persists and reads back equal.
 */
import fc from 'fast-check';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  CONFLICT_STATUSES,
  DRIFT_SEVERITIES,
  DRIFT_STATUSES,
  HedgehogFabric,
  HedgehogResource,
  RESOURCE_STATES,
  RESOURCE_SYNC_DIRECTIONS,
  StateTransition,
  SyncOperation,
} from '../src/entities/index.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let db: TestDatabase;
let fabricId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  const em = db.orm.em.fork();
  const fabric = em.create(HedgehogFabric, { name: 'persistence' });
  await em.flush();
  fabricId = fabric.id;
});
afterAll(async () => {
  await ifSetUp(db)?.close();
});

const fork = (): EntityManager => db.orm.em.fork();

async function rawRow(table: string, id: number): Promise<Record<string, unknown>> {
  return withPg(db.url, async (c) => (await c.query(`select * from ${table} where id = $1`, [id])).rows[0]);
}

test('em.create + flush with only the required properties, for every entity', async () => {
  const em = fork();
  const fabric = em.create(HedgehogFabric, { name: 'create-flush' });
  const resource = em.create(HedgehogResource, { fabric, kind: 'Switch', name: 'leaf-01' });
  const op = em.create(SyncOperation, { fabric });
  await em.flush(); // the history row names its fabric by id (a plain column), so the fabric needs one first
  const tr = em.create(StateTransition, { fabricId: fabric.id, resource, toState: 'draft' });
  await em.flush();
  expect(await rawRow('hedgehog_fabric', fabric.id)).toMatchObject({
    name: 'create-flush',
    status: 'active',
    sync_interval_seconds: 300,
    namespaces: [],
  });
  expect(await rawRow('hedgehog_resource', resource.id)).toMatchObject({
    namespace: 'default',
    resource_state: 'draft',
    drift_score: 0,
    external_modifications: [],
  });
  expect(await rawRow('sync_operation', op.id)).toMatchObject({
    type: 'actual',
    status: 'pending',
    errors: [],
    finished_at: null,
  });
  expect(await rawRow('state_transition', tr.id)).toMatchObject({
    trigger: 'sync',
    reason: '',
    context: {},
    from_state: null,
  });
});

test('em.insert with a plain sparse object relies on the database defaults', async () => {
  const em = fork();
  const id = await em.insert(HedgehogResource, { fabric: fabricId, kind: 'VPC', name: 'vpc-insert' });
  const row = await rawRow('hedgehog_resource', id);
  expect(row).toMatchObject({
    namespace: 'default',
    resource_state: 'draft',
    drift_status: null,
    drift_details: {},
    sync_direction: 'inherit',
    conflict_status: 'none',
    external_modifications: [],
  });
  expect(row.created).toBeInstanceOf(Date);
  const opId = await em.insert(SyncOperation, { fabric: fabricId });
  expect(await rawRow('sync_operation', opId)).toMatchObject({ listed: 0, skipped_kinds: [], other_kinds: {} });
});

test('em.insertMany and em.upsertMany with sparse rows of different shapes', async () => {
  const em = fork();
  await em.insertMany(HedgehogResource, [
    { fabric: fabricId, kind: 'VPC', name: 'many-a' },
    { fabric: fabricId, kind: 'VPC', name: 'many-b', namespace: 'tenant-a', labels: { team: 'net' } },
  ]);
  const rows = [
    { fabric: fabricId, kind: 'Connection', name: 'up-a' },
    { fabric: fabricId, kind: 'Connection', name: 'up-b', driftScore: 0.5, driftSeverity: 'medium' as const },
    { fabric: fabricId, kind: 'Server', name: 'up-c', namespace: 'tenant-b', actualSpec: { a: 1 }, actualUid: 'uid-c' },
    { fabric: fabricId, kind: 'Switch', name: 'up-d', externalModifications: [{ by: 'kubectl' }] },
  ];
  await em.upsertMany(HedgehogResource, rows, { onConflictFields: ['fabric', 'kind', 'namespace', 'name'] });
  const back = await withPg(
    db.url,
    async (c) =>
      (await c.query(`select * from hedgehog_resource where name like 'up-%' or name like 'many-%' order by name`))
        .rows,
  );
  expect(back.map((r) => r.name)).toEqual(['many-a', 'many-b', 'up-a', 'up-b', 'up-c', 'up-d']);
  for (const r of back) {
    // Columns absent from a row fall back to the database default, never NULL.
    expect(r.sync_direction).toBe('inherit');
    expect(r.custom_field_data).toEqual({});
    expect(r.created).toBeInstanceOf(Date);
  }
  expect(back.find((r) => r.name === 'up-a')).toMatchObject({
    namespace: 'default',
    drift_score: 0,
    drift_severity: 'none',
    actual_spec: null,
  });
  expect(back.find((r) => r.name === 'up-b')).toMatchObject({ drift_score: 0.5, drift_severity: 'medium' });
  expect(back.find((r) => r.name === 'up-c')).toMatchObject({
    namespace: 'tenant-b',
    actual_spec: { a: 1 },
    actual_uid: 'uid-c',
  });
  expect(back.find((r) => r.name === 'up-d')).toMatchObject({ external_modifications: [{ by: 'kubectl' }] });
  expect(back.find((r) => r.name === 'many-b')).toMatchObject({ namespace: 'tenant-a', labels: { team: 'net' } });

  // Upserting the same keys again with other sparse shapes updates in place.
  await fork().upsertMany(
    HedgehogResource,
    [
      { fabric: fabricId, kind: 'Connection', name: 'up-a', driftScore: 0.25 },
      { fabric: fabricId, kind: 'Server', name: 'up-c', namespace: 'tenant-b' },
    ],
    { onConflictFields: ['fabric', 'kind', 'namespace', 'name'] },
  );
  const again = await withPg(
    db.url,
    async (c) =>
      (
        await c.query(
          `select name, drift_score, actual_uid from hedgehog_resource where name in ('up-a', 'up-c') order by name`,
        )
      ).rows,
  );
  expect(again).toEqual([
    { name: 'up-a', drift_score: 0.25, actual_uid: null },
    { name: 'up-c', drift_score: 0, actual_uid: 'uid-c' },
  ]);
});

// --- Property-based: any subset of optional fields, any valid values ---

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/).filter((s) => s.length <= 63);
const text = fc.string({ maxLength: 40 });
const jsonLeaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.boolean(),
  fc.constant(null),
);
const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, jsonLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 }),
})).value;
const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 4 });
const date = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2100-01-01T00:00:00Z'),
  noInvalidDate: true,
});
const score = fc.double({ min: 0, max: 1, noNaN: true }).map((v) => (Object.is(v, -0) ? 0 : v));
const count = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const stringMap = fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 4 });

/** Every optional property of HedgehogResource with an arbitrary of valid values. */
const optionalResourceFields = {
  namespace: dnsLabel,
  apiVersion: fc.constantFrom('vpc.githedgehog.com/v1beta1', 'wiring.githedgehog.com/v1beta1', null),
  desiredSpec: fc.option(jsonObject),
  previousDesiredSpec: fc.option(jsonObject),
  desiredCommit: fc.option(fc.stringMatching(/^[0-9a-f]{40}$/)),
  desiredFilePath: fc.option(text),
  desiredUpdated: fc.option(date),
  draftSpec: fc.option(jsonObject),
  draftUpdated: fc.option(date),
  actualSpec: fc.option(jsonObject),
  actualStatus: fc.option(jsonObject),
  actualResourceVersion: fc.option(text),
  actualUid: fc.option(text),
  actualUpdated: fc.option(date),
  resourceState: fc.constantFrom(...RESOURCE_STATES),
  lastStateChange: fc.option(date),
  stateChangeReason: fc.option(text),
  driftStatus: fc.option(fc.constantFrom(...DRIFT_STATUSES)),
  driftDetails: jsonObject,
  driftScore: score,
  driftSeverity: fc.constantFrom(...DRIFT_SEVERITIES),
  lastDriftCheck: fc.option(date),
  lastReconciliation: fc.option(date),
  reconciliationAttempts: count,
  dependencyScore: score,
  relationshipMetadata: jsonObject,
  lastSyncedCommit: fc.option(text),
  syncAttempts: count,
  lastSyncError: fc.option(text),
  labels: stringMap,
  annotations: stringMap,
  customFieldData: jsonObject,
  firstSeen: fc.option(date),
  managedFilePath: fc.option(text),
  fileHash: fc.option(text),
  lastFileSync: fc.option(date),
  syncDirection: fc.constantFrom(...RESOURCE_SYNC_DIRECTIONS),
  // 'apply' needs a draft spec (a check constraint); the generator draws fields independently.
  draftOperation: fc.option(fc.constant('delete' as const)),
  draftMetadata: fc.option(jsonObject),
  draftUpdatedBy: fc.option(text),
  draftBaseSpec: fc.option(jsonObject),
  draftBaseCommit: fc.option(text),
  draftBaseFileHash: fc.option(text),
  conflictStatus: fc.constantFrom(...CONFLICT_STATUSES),
  conflictDetails: jsonObject,
  externalModifications: fc.array(jsonObject, { maxLength: 3 }),
  syncMetadata: jsonObject,
};

test('the generator covers every optional resource property', () => {
  const meta = db.orm.getMetadata().get(HedgehogResource.name);
  const optional = meta.props
    .filter((p) => !p.primary && !['fabric', 'kind', 'name'].includes(p.name))
    .filter((p) => !['created', 'lastUpdated'].includes(p.name))
    .map((p) => p.name)
    .sort();
  expect(Object.keys(optionalResourceFields).sort()).toEqual(optional);
});

test('property: any subset of optional fields with valid values persists and reads back equal', async () => {
  let n = 0;
  const fieldsArb = fc.record(optionalResourceFields, { requiredKeys: [] });
  await fc.assert(
    fc.asyncProperty(fieldsArb, fc.boolean(), async (fields, viaInsert) => {
      const name = `prop-${n++}`;
      const data = { fabric: fabricId, kind: 'VPC', name, ...fields };
      let id: number;
      if (viaInsert) {
        // Plain object: no initializers, database defaults only.
        id = await fork().insert(HedgehogResource, data);
      } else {
        const em = fork();
        const entity = em.create(HedgehogResource, data);
        await em.flush();
        id = entity.id;
      }
      const loaded = await fork().findOneOrFail(HedgehogResource, id);
      const fresh = new HedgehogResource();
      for (const key of Object.keys(optionalResourceFields)) {
        const expected =
          key in fields ? (fields as Record<string, unknown>)[key] : (fresh as unknown as Record<string, unknown>)[key];
        expect({ key, value: (loaded as unknown as Record<string, unknown>)[key] }).toEqual({ key, value: expected });
      }
    }),
    { numRuns: 60 },
  );
});
