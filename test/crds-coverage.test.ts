/**
 * CRD schema coverage is told per kind, and a failed CRD read is never swallowed:
 * - a schema source (`--crds` directory, or the cluster's CRDs) lacking some kinds: the desired run names the
 *   kinds it checked and the kinds it could not (details.schemaChecked / schemaUnchecked), and the CLI text
 *   never says "checked" of documents that were not;
 * - an actual run whose CRD read fails (403, 5xx) is partial with an error naming why (for a 403, the missing
 *   grant), keeps the CRD schemas stored earlier, and the next desired run says why it has none.
 * Against the fake Kubernetes API and a real database.
 */
import 'reflect-metadata';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsyaml from 'js-yaml';
import pc from 'picocolors';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService, type FabricSyncServiceOptions } from '../src/sync/fabric-sync-service.js';
import type { SyncRunReport } from '../src/sync/run-recorder.js';
import { describeRun } from '../src/cli/sync-runner.js';
import { crdSchemasFromObjects } from '../src/crds/crd-schemas.js';
import { trackSchemaCoverage, validatorOf } from '../src/sync/fabric-schemas.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { ifSetUp } from './helpers/if-set-up.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_CRDS = path.join(here, 'fixtures', 'crds');
type Crd = { kind?: string; metadata: { name: string }; spec: Record<string, unknown> };
const crdsOf = (file: string) =>
  (jsyaml.loadAll(readFileSync(path.join(FIXTURE_CRDS, file), 'utf8')) as (Crd | null)[]).filter(
    (d): d is Crd => d?.kind === 'CustomResourceDefinition',
  );
const CRD_LIST = /\/apis\/apiextensions\.k8s\.io\/v1\/customresourcedefinitions$/;
const plain = pc.createColors(false);
const text = (r: SyncRunReport) => describeRun(r, plain);

// A VPC with a field its schema does not know; a Switch with a field and a role its schema would refuse.
const MANIFESTS = `apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
  namespace: default
spec:
  bogusVpcField: 1
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: sw-1
  namespace: default
spec:
  bogusField: 1
  role: not-a-role
`;

let db: TestDatabase;
let orm: MikroORM;
let work: string;
let repo: string;
const apis: FakeKubeApi[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
  work = mkdtempSync(path.join(tmpdir(), 'hh-crds-coverage-'));
  repo = path.join(work, 'repo');
  mkdirSync(repo);
  writeFileSync(path.join(repo, 'fabric.yaml'), MANIFESTS);
});
afterAll(async () => {
  for (const api of apis) await api.stop();
  await ifSetUp(db)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A CRD directory holding only these fixture files. */
function crdDir(name: string, files: string[]): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  for (const f of files) copyFileSync(path.join(FIXTURE_CRDS, f), path.join(dir, f));
  return dir;
}

async function fakeApi(crds: object[]): Promise<FakeKubeApi> {
  const api = new FakeKubeApi({ crds });
  api.load([...vpcs(2), obj('Switch', 'sw-1')]);
  await api.start();
  apis.push(api);
  return api;
}

/** A new service each time, as a new CLI process would be: nothing remembered in memory. */
const service = (api?: FakeKubeApi, options: FabricSyncServiceOptions = {}) =>
  new FabricSyncService(orm.em, { ...options, ...(api ? { kubeConfigFor: () => api.kubeConfig() } : {}) });

async function storedCrdNames(fabricId: number): Promise<string[]> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute(`SELECT crd_name FROM fabric_crd_schema WHERE fabric_id = ? ORDER BY 1`, [fabricId]);
  return rows.map((r) => String(r.crd_name));
}

describe('schema coverage per kind', () => {
  test('--crds holding only the VPC CRD: the Switch is named as NOT checked, never reported as checked', async () => {
    const fabric = await new FabricRegistry(orm.em).create('crds-dir-vpc-only', {
      gitRepository: repo,
      crdDirectory: crdDir('vpc-only', ['vpcs.yaml']),
    });

    const run = await service().syncDesiredState(fabric);

    expect(run.details).toMatchObject({
      schemaSource: 'crds-dir',
      schemaChecked: ['VPC'],
      schemaUnchecked: ['Switch'],
    });
    expect(run.errors.map((e) => e.kind)).toEqual(['VPC']); // the Switch's problems went unseen: that is why it is named
    expect(text(run)).toContain(
      "schemas: checked against the fabric's CRD directory (--crds); NOT checked: Switch (no CRD schema for it)",
    );
  });

  test('a source with no schema for any kind read says NOT checked, never "checked against"', async () => {
    const fabric = await new FabricRegistry(orm.em).create('crds-dir-unrelated', {
      gitRepository: repo,
      crdDirectory: crdDir('connections-only', ['connections.yaml']),
    });

    const run = await service().syncDesiredState(fabric);

    expect(run.details).toMatchObject({
      schemaSource: 'crds-dir',
      schemaChecked: [],
      schemaUnchecked: ['Switch', 'VPC'],
    });
    expect(run.errors).toEqual([]);
    const line = text(run)
      .split('\n')
      .find((l) => l.includes('schemas:'))!;
    expect(line).toContain("NOT checked: Switch, VPC (no CRD schema for them in the fabric's CRD directory (--crds))");
    expect(line).not.toMatch(/checked against/);
  });

  test('every kind covered: all checked, none unchecked, the plain "checked against" line', async () => {
    const fabric = await new FabricRegistry(orm.em).create('crds-dir-full', {
      gitRepository: repo,
      crdDirectory: crdDir('vpc-switch', ['vpcs.yaml', 'switches.yaml']),
    });

    const run = await service().syncDesiredState(fabric);

    expect(run.details).toMatchObject({ schemaChecked: ['Switch', 'VPC'], schemaUnchecked: [] });
    expect(run.errors.map((e) => e.kind).sort()).toEqual(['Switch', 'Switch', 'VPC']);
    expect(text(run)).toMatch(/schemas: checked against the fabric's CRD directory \(--crds\)\n/);
  });

  test('a cluster serving only the VPC CRD: the next desired run names the Switch as NOT checked', async () => {
    const [vpcCrd] = crdsOf('vpcs.yaml');
    const api = await fakeApi([vpcCrd!]);
    const fabric = await new FabricRegistry(orm.em).create('cluster-vpc-only', { gitRepository: repo });
    expect((await service(api).syncActualState(fabric)).status).toBe('completed');

    const run = await service().syncDesiredState(fabric);

    expect(run.details).toMatchObject({ schemaSource: 'stored', schemaChecked: ['VPC'], schemaUnchecked: ['Switch'] });
    expect(text(run)).toContain(
      'schemas: checked against the CRD schemas last read from the cluster; NOT checked: Switch (no CRD schema for it)',
    );
  });

  test('no schemas at all: every kind read is unchecked', async () => {
    const fabric = await new FabricRegistry(orm.em).create('no-schemas', { gitRepository: repo });

    const run = await service().syncDesiredState(fabric);

    expect(run.details).toMatchObject({ schemaSource: 'none', schemaChecked: [], schemaUnchecked: ['Switch', 'VPC'] });
    expect(run.details.schemaProblem).toBeUndefined();
    expect(text(run)).toContain(
      'schemas: none known, documents were NOT checked against the CRD schemas (run an actual sync, or set --crds)',
    );
  });
});

test('a schema ajv cannot compile does not count as checked: its kind is unchecked', () => {
  const crd = (kind: string, spec: object) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.toLowerCase()}s.example.com` },
    spec: {
      group: 'example.com',
      names: { kind },
      versions: [{ name: 'v1', schema: { openAPIV3Schema: { type: 'object', properties: { spec } } } }],
    },
  });
  const schemas = crdSchemasFromObjects([
    crd('Bad', { type: 'object', pattern: '(' }),
    crd('Good', { type: 'object' }),
  ]);
  const tracked = trackSchemaCoverage(schemas, validatorOf(schemas));
  for (const kind of ['Bad', 'Good', 'Other']) tracked.validate({ apiVersion: 'example.com/v1', kind, spec: {} });
  expect(tracked.coverage()).toEqual({ checked: ['Good'], unchecked: ['Bad', 'Other'] });
});

describe('a failed CRD read is reported, never swallowed', () => {
  const GRANT =
    'forbidden: cannot list customresourcedefinitions.apiextensions.k8s.io in all namespaces (RBAC: grant "list" on "customresourcedefinitions" in API group "apiextensions.k8s.io")';

  test('403 on the CRD list: the actual run is partial naming the missing grant; the next desired run says why it has no schemas', async () => {
    const api = await fakeApi([...crdsOf('vpcs.yaml'), ...crdsOf('switches.yaml')]);
    api.injectFault({ type: 'status', code: 403, match: { path: CRD_LIST } });
    const fabric = await new FabricRegistry(orm.em).create('crd-403', { gitRepository: repo });

    const actual = await service(api).syncActualState(fabric);

    expect(actual.status).toBe('partial');
    expect(actual.counts).toMatchObject({ created: 3, failed: 0 }); // the objects all landed
    expect(actual.details).toMatchObject({ schemaSource: 'none', schemaProblem: GRANT });
    expect(actual.errors).toEqual([
      {
        kind: 'CustomResourceDefinition',
        reason: expect.stringContaining(
          `could not read the fabric's CRDs from the cluster: ${GRANT}; no CRD schemas are known`,
        ),
      },
    ]);

    const desired = await service().syncDesiredState(fabric);

    expect(desired.details).toMatchObject({ schemaSource: 'none', schemaProblem: GRANT });
    expect(text(desired)).toContain(
      `schemas: none known, documents were NOT checked against the CRD schemas (the last actual sync could not read the CRDs: ${GRANT}; fix that, or set --crds)`,
    );
  });

  test('a CRD read failing after schemas were stored: the stored schemas are kept and used, and the run says so', async () => {
    const api = await fakeApi([...crdsOf('vpcs.yaml'), ...crdsOf('switches.yaml')]);
    const fabric = await new FabricRegistry(orm.em).create('crd-403-stored', { gitRepository: repo });
    expect((await service(api).syncActualState(fabric)).status).toBe('completed');
    const before = await storedCrdNames(fabric.id);
    expect(before).toHaveLength(2);
    api.injectFault({ type: 'status', code: 403, match: { path: CRD_LIST } });

    const actual = await service(api).syncActualState(fabric);

    expect(actual.status).toBe('partial');
    expect(actual.details).toMatchObject({ schemaSource: 'stored', schemaProblem: GRANT });
    expect(actual.errors).toEqual([
      {
        kind: 'CustomResourceDefinition',
        reason: expect.stringMatching(/the CRD schemas read by an earlier actual sync are used/),
      },
    ]);
    expect(await storedCrdNames(fabric.id)).toEqual(before);
    const desired = await service().syncDesiredState(fabric);
    expect(desired.details).toMatchObject({ schemaSource: 'stored', schemaUnchecked: [] });
  });

  test("a server error on the CRD list (retries spent) is reported too, with the server's status", async () => {
    const api = await fakeApi(crdsOf('vpcs.yaml'));
    api.injectFault({ type: 'status', code: 500, match: { path: CRD_LIST } });
    const fabric = await new FabricRegistry(orm.em).create('crd-500');

    const actual = await service(api, { reader: { maxRetries: 0 } }).syncActualState(fabric);

    expect(actual.status).toBe('partial');
    expect(actual.details.schemaProblem).toMatch(/^list customresourcedefinitions failed: HTTP 500/);
    expect(actual.counts.created).toBe(3);
  });

  test('a later actual run that reads the CRDs clears the problem: the desired run no longer blames it', async () => {
    const api = await fakeApi(crdsOf('vpcs.yaml'));
    const fabric = await new FabricRegistry(orm.em).create('crd-recovered', { gitRepository: repo });
    api.injectFault({ type: 'status', code: 403, match: { path: CRD_LIST } });
    expect((await service(api).syncActualState(fabric)).status).toBe('partial');
    api.clearFaults();

    expect((await service(api).syncActualState(fabric)).status).toBe('completed');
    const desired = await service().syncDesiredState(fabric);

    expect(desired.details.schemaSource).toBe('stored');
    expect(desired.details.schemaProblem).toBeUndefined();
  });
});
