/**
 * Entity rules run on every flush, before the database: an invalid entity is
 * rejected with a message naming entity, field and value, and nothing of the
 * flush is written.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  EntityValidationError,
  HedgehogFabric,
  HedgehogResource,
  StateTransition,
  SyncOperation,
  validateEntity,
} from '../src/entities/index.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let db: TestDatabase;
let fabric: HedgehogFabric;

beforeAll(async () => {
  db = await createTestDatabase();
  const em = db.orm.em.fork();
  fabric = em.create(HedgehogFabric, { name: 'validation' });
  await em.flush();
});
afterAll(async () => {
  await ifSetUp(db)?.close();
});

const fork = (): EntityManager => db.orm.em.fork();

async function resourceCount(): Promise<number> {
  return withPg(db.url, async (c) => (await c.query('select count(*)::int as n from hedgehog_resource')).rows[0].n);
}

async function flushError(build: (em: EntityManager, f: HedgehogFabric) => void): Promise<EntityValidationError> {
  const em = fork();
  const f = em.getReference(HedgehogFabric, fabric.id);
  build(em, f);
  const err = await em.flush().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EntityValidationError);
  return err as EntityValidationError;
}

const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
  ['a name that is not DNS-1123', { name: 'Bad_Name' }, 'name', /HedgehogResource\.name: invalid value "Bad_Name"/],
  ['a name longer than 253 characters', { name: 'a'.repeat(254) }, 'name', /HedgehogResource\.name: .*253/],
  ['an empty kind', { kind: '' }, 'kind', /HedgehogResource\.kind: invalid value ""/],
  [
    'a namespace that is not a DNS-1123 label',
    { namespace: 'a.b' },
    'namespace',
    /HedgehogResource\.namespace: invalid value "a\.b"/,
  ],
  ['a namespace longer than 63 characters', { namespace: 'n'.repeat(64) }, 'namespace', /HedgehogResource\.namespace/],
  ['a drift score of 1.5', { driftScore: 1.5 }, 'driftScore', /HedgehogResource\.driftScore: invalid value 1\.5/],
  [
    'a negative dependency score',
    { dependencyScore: -0.1 },
    'dependencyScore',
    /HedgehogResource\.dependencyScore: invalid value -0\.1/,
  ],
  [
    'an unknown resource state',
    { resourceState: 'exploded' },
    'resourceState',
    /HedgehogResource\.resourceState: invalid value "exploded"/,
  ],
  [
    'an unknown drift status',
    { driftStatus: 'sideways' },
    'driftStatus',
    /HedgehogResource\.driftStatus: invalid value "sideways"/,
  ],
  ['an unknown sync direction', { syncDirection: 'up' }, 'syncDirection', /HedgehogResource\.syncDirection/],
  [
    'a non-list external_modifications',
    { externalModifications: {} },
    'externalModifications',
    /HedgehogResource\.externalModifications/,
  ],
  [
    'a negative attempt counter',
    { syncAttempts: -1 },
    'syncAttempts',
    /HedgehogResource\.syncAttempts: invalid value -1/,
  ],
];

test.each(cases)('rejects %s before the database', async (_label, patch, field, message) => {
  const before = await resourceCount();
  const err = await flushError((em, f) => {
    em.create(HedgehogResource, { fabric: f, kind: 'VPC', name: 'valid-name', ...patch } as never);
  });
  expect(err.message).toMatch(message);
  expect(err.violations.map((v) => v.field)).toContain(field);
  expect(err.violations.every((v) => v.entity === 'HedgehogResource')).toBe(true);
  expect(await resourceCount()).toBe(before);
});

test('one invalid entity keeps the whole flush out of the database, and names every bad field', async () => {
  const before = await resourceCount();
  const err = await flushError((em, f) => {
    em.create(HedgehogResource, { fabric: f, kind: 'VPC', name: 'good-one' });
    em.create(HedgehogResource, { fabric: f, kind: 'VPC', name: 'Bad!', driftScore: 2 });
  });
  expect(err.violations.map((v) => v.field).sort()).toEqual(['driftScore', 'name']);
  expect(await resourceCount()).toBe(before);
});

test('updates are validated too', async () => {
  const em = fork();
  const r = em.create(HedgehogResource, {
    fabric: em.getReference(HedgehogFabric, fabric.id),
    kind: 'VPC',
    name: 'to-update',
  });
  await em.flush();
  r.driftSeverity = 'apocalyptic' as never;
  await expect(em.flush()).rejects.toThrow(/HedgehogResource\.driftSeverity: invalid value "apocalyptic"/);
  const row = await withPg(
    db.url,
    async (c) => (await c.query('select drift_severity from hedgehog_resource where id = $1', [r.id])).rows[0],
  );
  expect(row.drift_severity).toBe('none');
});

test('the other entities enforce their rules', async () => {
  let err = await flushError((em) => {
    em.create(HedgehogFabric, { name: '  ', syncIntervalSeconds: 0 });
  });
  expect(err.message).toMatch(/HedgehogFabric\.name/);
  expect(err.message).toMatch(/HedgehogFabric\.syncIntervalSeconds: invalid value 0/);

  err = await flushError((em, f) => {
    em.create(SyncOperation, { fabric: f, status: 'done' as never });
  });
  expect(err.message).toMatch(/SyncOperation\.status: invalid value "done"/);

  const em = fork();
  const r = em.create(HedgehogResource, {
    fabric: em.getReference(HedgehogFabric, fabric.id),
    kind: 'VPC',
    name: 'transition-target',
  });
  await em.flush();
  em.create(StateTransition, { fabricId: fabric.id, resource: r, toState: 'nowhere' as never });
  await expect(em.flush()).rejects.toThrow(/StateTransition\.toState: invalid value "nowhere"/);
});

test('validateEntity accepts a valid new entity of every kind', () => {
  const f = new HedgehogFabric();
  f.name = 'ok';
  expect(validateEntity(f)).toEqual([]);
  const r = new HedgehogResource();
  Object.assign(r, { fabric: f, kind: 'VPC', name: 'vpc-1.example' });
  expect(validateEntity(r)).toEqual([]);
  const t = new StateTransition();
  t.toState = 'synced';
  expect(validateEntity(t)).toEqual([]);
  expect(validateEntity(new SyncOperation())).toEqual([]);
});

test('the database check constraints back the rules for writes that bypass the entities', async () => {
  await expect(
    withPg(db.url, (c) =>
      c.query(`insert into hedgehog_resource (fabric_id, kind, name, drift_score) values ($1, 'VPC', 'raw-bad', 1.5)`, [
        fabric.id,
      ]),
    ),
  ).rejects.toThrow(/hedgehog_resource_drift_score_check/);
  await expect(
    withPg(db.url, (c) =>
      c.query(
        `insert into hedgehog_resource (fabric_id, kind, name, resource_state) values ($1, 'VPC', 'raw-bad', 'exploded')`,
        [fabric.id],
      ),
    ),
  ).rejects.toThrow(/resource_state_check/);
});
