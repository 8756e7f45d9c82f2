/**
 * A malformed fabric CRD served by the cluster costs only itself: the actual sync goes on, its kind is read
 * without schema defaults or validation, the run names the CRD and the problem in one error entry and is
 * `partial`; the other CRDs are used and stored. Against the fake Kubernetes API and a real database.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsyaml from 'js-yaml';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { ifSetUp } from './helpers/if-set-up.js';

const here = path.dirname(fileURLToPath(import.meta.url));
type Crd = { kind?: string; metadata: Record<string, unknown>; spec: Record<string, unknown> };
const crdsOf = (file: string) =>
  (jsyaml.loadAll(readFileSync(path.join(here, 'fixtures', 'crds', file), 'utf8')) as (Crd | null)[]).filter(
    (d): d is Crd => d?.kind === 'CustomResourceDefinition',
  );

let db: TestDatabase;
let orm: MikroORM;
let api: FakeKubeApi;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await ifSetUp(api)?.stop();
  await db.close();
});

test('one malformed CRD: one error entry naming it, its kind read without a schema, the others used; the run is partial', async () => {
  const [vpcCrd] = crdsOf('vpcs.yaml');
  const broken = { ...vpcCrd!, spec: { ...vpcCrd!.spec, versions: [] } };
  api = new FakeKubeApi({ crds: [...crdsOf('switches.yaml'), broken] });
  api.load([...vpcs(2), obj('Switch', 'sw-1')]);
  await api.start();
  const fabric = await new FabricRegistry(orm.em).create('malformed-crd');

  const run = await new FabricSyncService(orm.em, { kubeConfigFor: () => api.kubeConfig() }).syncActualState(fabric);

  expect(run.status).toBe('partial');
  expect(run.details.schemaSource).toBe('cluster');
  expect(run.errors).toEqual([
    {
      kind: 'CustomResourceDefinition',
      name: 'vpcs.vpc.githedgehog.com',
      reason: expect.stringMatching(
        /^CRD vpcs\.vpc\.githedgehog\.com: spec\.versions is missing or empty; kind VPC is read without schema defaults or validation$/,
      ),
    },
  ]);
  expect(run.counts).toMatchObject({ created: 3, failed: 0 });
  const stored = await orm.em
    .fork()
    .getConnection()
    .execute(`SELECT crd_name FROM fabric_crd_schema WHERE fabric_id = ? ORDER BY 1`, [fabric.id]);
  expect(stored.map((r: any) => r.crd_name)).toContain('switches.wiring.githedgehog.com');
});
