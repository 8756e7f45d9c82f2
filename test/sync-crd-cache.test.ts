/**
 * CRDs read on every actual run are cached by resourceVersion (issue 12): the same CRDs at the same
 * resourceVersions are not parsed again by the process nor written again to the ledger; a changed resourceVersion,
 * a deleted CRD or a CRD without a resourceVersion is taken as new; and nothing is shared between fabrics (two
 * clusters' resourceVersions say nothing about each other). Runs on PostgreSQL and on PGlite.
 */
import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { crdSchemaKey } from '../src/crds/crd-schemas.js';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { saveCrdSchemas } from '../src/sync/crd-schema-store.js';
import { crdVersionsOf } from '../src/sync/fabric-schemas.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { query } from '../src/store/sql.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

type Crd = { metadata: { name: string; resourceVersion?: string }; spec: Record<string, unknown> };

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crds');

/** The fixture CRDs, each at resourceVersion "1", as fresh objects (a test may change them). */
function fixtureCrds(): Crd[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(path.join(FIXTURES, f), 'utf8')).map((d) => d.toJS() as unknown))
    .filter((o): o is Crd => (o as { kind?: unknown } | null)?.kind === 'CustomResourceDefinition')
    .map((c) => ({ ...c, metadata: { ...c.metadata, resourceVersion: '1' } }));
}

/** Marks the openAPIV3Schema of the CRD's first version, so a test can tell whose schemas a run used. */
function markSchema(crd: Crd, text: string): void {
  const versions = crd.spec.versions as { schema: { openAPIV3Schema: Record<string, unknown> } }[];
  versions[0]!.schema.openAPIV3Schema.description = text;
}

/** The schema a fabric's cluster read made of the first fixture CRD (Connection), as the run used it. */
async function connectionSchema(svc: FabricSyncService, fabric: HedgehogFabric, crds: Crd[]) {
  const set = await svc.schemas.schemaSetFor(fabric, () => Promise.resolve(crds));
  return set.schemas?.get(crdSchemaKey('wiring.githedgehog.com/v1beta1', 'Connection'));
}

/** A changed CRD as the API server reports it: new content, new resourceVersion. */
function bump(crd: Crd, description: string): void {
  crd.spec = { ...crd.spec, description };
  crd.metadata.resourceVersion = String(Number(crd.metadata.resourceVersion) + 1);
}

let db: TestDatabase;
const apis: FakeKubeApi[] = [];
afterAll(async () => {
  for (const api of apis) await api.stop();
  await ifSetUp(db)?.close();
});
beforeAll(async () => {
  db = await createTestDatabase();
});

/** A fake cluster serving a small fabric and `crds` (the array is served as it is at each request). */
async function cluster(crds: Crd[]): Promise<FakeKubeApi> {
  const api = new FakeKubeApi({ crds });
  api.load(generateSampleFabric({ targetObjects: 60, seed: 3 }));
  await api.start();
  apis.push(api);
  return api;
}

/** The fabric's stored CRDs: name → resourceVersion, xmin (a rewritten row gets a new one) and description. */
async function stored(fabricId: number) {
  const rows = await query<{ crd_name: string; rv: string | null; x: string; d: string | null }>(
    db.orm.em.fork(),
    `SELECT crd_name, resource_version AS rv, xmin::text AS x, spec->>'description' AS d
       FROM fabric_crd_schema WHERE fabric_id = ? ORDER BY crd_name`,
    [fabricId],
  );
  return new Map(rows.map((r) => [r.crd_name, { rv: r.rv, x: r.x, d: r.d }]));
}

const crdListRequests = (api: FakeKubeApi) =>
  api.requests.filter((r) => r.path === '/apis/apiextensions.k8s.io/v1/customresourcedefinitions').length;

test('unchanged CRDs are not written again; a changed resourceVersion is re-read and stored; a deleted CRD goes', async () => {
  const crds = fixtureCrds();
  const api = await cluster(crds);
  const svc = new FabricSyncService(db.orm.em, { kubeConfigFor: () => api.kubeConfig() });
  const fabric = await new FabricRegistry(db.orm.em.fork()).create('crd-cache');

  const first = await svc.syncActualState(fabric);
  expect(first.status).toBe('completed');
  expect(first.details.schemaSource).toBe('cluster');
  const afterFirst = await stored(fabric.id);
  expect([...afterFirst.keys()]).toEqual(crds.map((c) => c.metadata.name).sort());

  // Same CRDs, same resourceVersions: one list request, no row rewritten.
  const requestsBefore = crdListRequests(api);
  expect((await svc.syncActualState(fabric)).status).toBe('completed');
  expect(crdListRequests(api) - requestsBefore).toBe(1);
  expect(await stored(fabric.id)).toEqual(afterFirst);

  // One CRD changes (new resourceVersion): its row is rewritten with the new spec, the others are not.
  const changed = crds[0]!;
  bump(changed, 'changed in the cluster');
  expect((await svc.syncActualState(fabric)).status).toBe('completed');
  const afterChange = await stored(fabric.id);
  expect(afterChange.get(changed.metadata.name)).toMatchObject({ rv: '2', d: 'changed in the cluster' });
  expect(afterChange.get(changed.metadata.name)!.x).not.toBe(afterFirst.get(changed.metadata.name)!.x);
  for (const c of crds.slice(1)) expect(afterChange.get(c.metadata.name)).toEqual(afterFirst.get(c.metadata.name));

  // A CRD deleted from the cluster leaves the ledger too.
  const gone = crds.pop()!;
  expect((await svc.syncActualState(fabric)).status).toBe('completed');
  const afterDelete = await stored(fabric.id);
  expect(afterDelete.has(gone.metadata.name)).toBe(false);
  expect(afterDelete.size).toBe(crds.length);
});

test('the cache trusts resourceVersions: new content under the same resourceVersion is not re-read (as on a real server, it cannot happen)', async () => {
  const crds = fixtureCrds();
  const api = await cluster(crds);
  const svc = new FabricSyncService(db.orm.em, { kubeConfigFor: () => api.kubeConfig() });
  const fabric = await new FabricRegistry(db.orm.em.fork()).create('crd-same-version');
  expect((await svc.syncActualState(fabric)).status).toBe('completed');
  crds[0]!.spec = { ...crds[0]!.spec, description: 'edited without a new resourceVersion' };
  expect((await svc.syncActualState(fabric)).status).toBe('completed');
  expect((await stored(fabric.id)).get(crds[0]!.metadata.name)!.d).toBeNull();
  // And the schemas in use are still those first parsed; a new resourceVersion brings the new ones.
  markSchema(crds[0]!, 'new schema');
  expect((await connectionSchema(svc, fabric, crds))?.description).toBeUndefined();
  crds[0]!.metadata.resourceVersion = '2';
  expect((await connectionSchema(svc, fabric, crds))?.description).toBe('new schema');
});

test('nothing is shared between fabrics: equal names and resourceVersions on two clusters are two sets of CRDs', async () => {
  const crdsA = fixtureCrds();
  const crdsB = fixtureCrds();
  crdsB[0]!.spec = { ...crdsB[0]!.spec, description: 'cluster B' };
  markSchema(crdsB[0]!, 'cluster B');
  const [apiA, apiB] = [await cluster(crdsA), await cluster(crdsB)];
  const registry = new FabricRegistry(db.orm.em.fork());
  const fabricA = await registry.create('crd-cluster-a');
  const fabricB = await registry.create('crd-cluster-b');
  // One service (one process) syncing both: its cache must not hand B the schemas it read from A.
  const svc = new FabricSyncService(db.orm.em, {
    kubeConfigFor: (f) => (f.id === fabricA.id ? apiA : apiB).kubeConfig(),
  });
  expect((await svc.syncActualState(fabricA)).status).toBe('completed');
  expect((await svc.syncActualState(fabricB)).status).toBe('completed');
  expect((await svc.syncActualState(fabricA)).status).toBe('completed');
  const name = crdsA[0]!.metadata.name;
  expect((await stored(fabricA.id)).get(name)!.d).toBeNull();
  expect((await stored(fabricB.id)).get(name)!.d).toBe('cluster B');
  // In memory too: each fabric's schemas are its own cluster's.
  expect((await connectionSchema(svc, fabricA, crdsA))?.description).toBeUndefined();
  expect((await connectionSchema(svc, fabricB, crdsB))?.description).toBe('cluster B');
});

describe('saveCrdSchemas', () => {
  test('writes nothing when the ledger holds the same CRDs at the same resourceVersions', async () => {
    const fabric = await new FabricRegistry(db.orm.em.fork()).create('crd-save');
    const crds = fixtureCrds();
    expect(await saveCrdSchemas(db.orm.em.fork(), fabric.id, crds)).toBe(crds.length);
    expect(await saveCrdSchemas(db.orm.em.fork(), fabric.id, crds)).toBe(0);
    bump(crds[1]!, 'v2');
    expect(await saveCrdSchemas(db.orm.em.fork(), fabric.id, crds)).toBe(crds.length);
    expect(await saveCrdSchemas(db.orm.em.fork(), fabric.id, crds.slice(1))).toBe(crds.length - 1);
    expect((await stored(fabric.id)).size).toBe(crds.length - 1);
  });

  test('a CRD without a resourceVersion is always written (nothing says it is unchanged)', async () => {
    const fabric = await new FabricRegistry(db.orm.em.fork()).create('crd-no-version');
    const crds = fixtureCrds();
    delete crds[0]!.metadata.resourceVersion;
    expect(await saveCrdSchemas(db.orm.em.fork(), fabric.id, crds)).toBe(crds.length);
    expect(await saveCrdSchemas(db.orm.em.fork(), fabric.id, crds)).toBe(crds.length);
  });
});

test('crdVersionsOf: order does not matter; a CRD without a resourceVersion makes the read uncacheable', () => {
  const crds = fixtureCrds();
  expect(crdVersionsOf(crds)).toBe(crdVersionsOf([...crds].reverse()));
  const bumped = fixtureCrds();
  bump(bumped[0]!, 'x');
  expect(crdVersionsOf(bumped)).not.toBe(crdVersionsOf(crds));
  expect(crdVersionsOf(crds.slice(1))).not.toBe(crdVersionsOf(crds));
  delete crds[0]!.metadata.resourceVersion;
  expect(crdVersionsOf(crds)).toBeNull();
});
