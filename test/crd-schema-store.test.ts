/** Stored CRD schemas: a re-read of the same CRDs (same resourceVersion) rewrites no row; a new version does. */
import 'reflect-metadata';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { saveCrdSchemas } from '../src/sync/crd-schema-store.js';
import { query } from '../src/store/sql.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let db: TestDatabase;
afterAll(async () => ifSetUp(db)?.close());

const crd = (resourceVersion: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'vpcs.vpc.githedgehog.com', resourceVersion },
  spec: {
    group: 'vpc.githedgehog.com',
    names: { kind: 'VPC', plural: 'vpcs' },
    scope: 'Namespaced',
    versions: [{ name: 'v1beta1', served: true, storage: true }],
  },
});

test('the same resourceVersion is not rewritten; a new one is', async () => {
  db = await createTestDatabase();
  const em = db.orm.em.fork();
  const fabric = await new FabricRegistry(em).create('crds', {});
  const version = async () =>
    (
      await query<{ x: string; rv: string }>(
        em.fork(),
        `SELECT xmin::text AS x, resource_version AS rv FROM fabric_crd_schema WHERE fabric_id = ?`,
        [fabric.id],
      )
    )[0]!;

  await saveCrdSchemas(em.fork(), fabric.id, [crd('100')]);
  const first = await version();
  await saveCrdSchemas(em.fork(), fabric.id, [crd('100')]);
  expect(await version()).toEqual(first);
  await saveCrdSchemas(em.fork(), fabric.id, [crd('101')]);
  const changed = await version();
  expect(changed.rv).toBe('101');
  expect(changed.x).not.toBe(first.x);
});
