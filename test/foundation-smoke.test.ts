import { HedgehogFabric, HedgehogResource } from '../src/entities/index.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

test('persists a sparse resource and reads back the defaults', async () => {
  const em = db.orm.em.fork();
  const fabric = em.create(HedgehogFabric, { name: 'smoke' });
  em.create(HedgehogResource, { fabric, kind: 'VPC', name: 'vpc-1' });
  await em.flush();
  const row = await withPg(db.url, async (c) => (await c.query('select * from hedgehog_resource')).rows[0]);
  expect(row).toMatchObject({ kind: 'VPC', namespace: 'default', resource_state: 'draft', drift_status: null, external_modifications: [] });
});

test('an invalid resource is rejected before the database, naming entity, field and value', async () => {
  const em = db.orm.em.fork();
  const fabric = em.create(HedgehogFabric, { name: 'smoke-invalid' });
  em.create(HedgehogResource, { fabric, kind: 'VPC', name: 'Bad_Name', driftScore: 1.5 });
  await expect(em.flush()).rejects.toThrow(/HedgehogResource\.name: invalid value "Bad_Name"/);
  const count = await withPg(db.url, async (c) => (await c.query("select count(*)::int as n from hedgehog_fabric where name = 'smoke-invalid'")).rows[0].n);
  expect(count).toBe(0);
});
