/**
 * The actual run is never silently wrong: an object PostgreSQL would refuse, a kind RBAC refuses, a group whose
 * discovery fails — each becomes an error entry while everything else lands; a run that read nothing is failed.
 * Against the fake Kubernetes API (real client-node) and a real database (PostgreSQL or PGlite).
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';

let db: TestDatabase;
let orm: MikroORM;
const apis: FakeKubeApi[] = [];
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  await db.close();
});

async function fakeWith(
  objs: readonly object[],
  opts: ConstructorParameters<typeof FakeKubeApi>[0] = {},
): Promise<FakeKubeApi> {
  const api = new FakeKubeApi(opts);
  api.load(objs);
  await api.start();
  apis.push(api);
  return api;
}

const newFabric = (): Promise<HedgehogFabric> => new FabricRegistry(orm.em).create(`refusals-${++seq}`);

function service(api: FakeKubeApi, token?: string) {
  return new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig({ token }),
    reader: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 1 },
  });
}

async function names(fabricId: number, kind?: string): Promise<string[]> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute(
      `SELECT kind, namespace, name FROM hedgehog_resource WHERE fabric_id = ? AND actual_spec IS NOT NULL ${kind ? 'AND kind = ?' : ''} ORDER BY 1, 2, 3`,
      kind ? [fabricId, kind] : [fabricId],
    );
  return rows.map((r: any) => `${r.kind}/${r.namespace}/${r.name}`);
}

async function fabricRow(id: number): Promise<{ connection_status: string; last_sync_error: string | null }> {
  const [row] = await orm.em
    .fork()
    .getConnection()
    .execute(`SELECT connection_status, last_sync_error FROM hedgehog_fabric WHERE id = ?`, [id]);
  return row as { connection_status: string; last_sync_error: string | null };
}

const good = () => [...vpcs(3), obj('Server', 'srv-1'), obj('Switch', 'sw-1')];

describe('objects PostgreSQL cannot store', () => {
  const bad = [
    obj('VPC', 'nul-spec-value', 'default', { description: 'a\u0000b' }),
    obj('VPC', 'nul-spec-key', 'default', { 'x\u0000': 1 }),
    obj('Server', 'nul-label', 'default', { n: 1 }, { metadata: { labels: { 'ro\u0000le': 'x' } } }),
    obj('Server', 'nul-annotation', 'default', { n: 1 }, { metadata: { annotations: { note: '\u0000' } } }),
    obj('Switch', 'nul-status', 'default', { n: 1 }, { status: { conditions: [{ message: 'm\u0000' }] } }),
    obj('Switch', 'lone-surrogate', 'default', { description: 'x\ud800y' }),
  ];

  test('each is one error entry (kind, namespace, name, field path); every other object lands; the run is partial, again and again', async () => {
    const api = await fakeWith([...good(), ...bad]);
    const fabric = await newFabric();
    const svc = service(api);
    for (let run = 0; run < 2; run++) {
      const r = await svc.syncActualState(fabric);
      expect(r.status).toBe('partial');
      expect(r.counts.failed).toBe(bad.length);
      expect(r.errors).toHaveLength(bad.length);
      expect(r.counts.listed).toBe(good().length);
      const byName = Object.fromEntries(r.errors.map((e) => [e.name, e]));
      expect(byName['nul-spec-value']).toMatchObject({ kind: 'VPC', namespace: 'default' });
      expect(byName['nul-spec-value']!.reason).toMatch(/^spec\.description contains a NUL character/);
      expect(byName['nul-spec-key']!.reason).toMatch(/^spec\["x\\u0000"\] \(a key\) contains a NUL/);
      expect(byName['nul-label']!.reason).toMatch(/^metadata\.labels\["ro\\u0000le"\] \(a key\)/);
      expect(byName['nul-annotation']!.reason).toMatch(/^metadata\.annotations\.note contains a NUL/);
      expect(byName['nul-status']!.reason).toMatch(/^status\.conditions\[0\]\.message contains a NUL/);
      expect(byName['lone-surrogate']!.reason).toMatch(
        /^spec\.description contains a lone UTF-16 surrogate \(\\ud800\)/,
      );
    }
    expect(await names(fabric.id)).toEqual([
      'Server/default/srv-1',
      'Switch/default/sw-1',
      'VPC/default/vpc-00000',
      'VPC/default/vpc-00001',
      'VPC/default/vpc-00002',
    ]);
    expect((await fabricRow(fabric.id)).connection_status).toBe('connected');
  });
});

describe('one kind or one group refused', () => {
  test('403 on one kind: that kind is failed and left untouched (not swept), the others land, the error names the missing grant', async () => {
    const api = await fakeWith(good());
    const fabric = await newFabric();
    const svc = service(api);
    expect((await svc.syncActualState(fabric)).status).toBe('completed');
    api.delete('VPC', 'default', 'vpc-00002'); // would be swept if the VPC list were trusted
    api.apply(obj('Server', 'srv-2'));
    api.injectFault({ type: 'status', code: 403, match: { plural: 'vpcs' } });

    const r = await svc.syncActualState(fabric);
    expect(r.status).toBe('partial');
    expect(r.counts.failed).toBe(0); // a failed kind is not a refused object
    const expected =
      'forbidden: cannot list vpcs.vpc.githedgehog.com in all namespaces (RBAC: grant "list" on "vpcs" in API group "vpc.githedgehog.com")';
    expect(r.details.failedKinds).toEqual([{ kind: 'VPC', reason: expected }]);
    expect(r.errors).toEqual([{ kind: 'VPC', reason: `list failed, rows of this kind left untouched: ${expected}` }]);
    expect(r.errorMessage).toContain(expected);
    expect(await names(fabric.id, 'VPC')).toEqual([
      'VPC/default/vpc-00000',
      'VPC/default/vpc-00001',
      'VPC/default/vpc-00002',
    ]);
    expect(await names(fabric.id, 'Server')).toEqual(['Server/default/srv-1', 'Server/default/srv-2']);
  });

  test("403 on one API group's discovery: its kinds are failed kinds, the other group lands", async () => {
    const api = await fakeWith(good());
    const fabric = await newFabric();
    api.injectFault({ type: 'status', code: 403, match: { path: /^\/apis\/vpc\.githedgehog\.com\/v1beta1$/ } });
    const r = await service(api).syncActualState(fabric);
    expect(r.status).toBe('partial');
    const failed = r.details.failedKinds as { kind: string; reason: string }[];
    expect(failed).toHaveLength(7);
    expect(
      failed.every((k) =>
        /^forbidden: cannot discover \/apis\/vpc\.githedgehog\.com\/v1beta1 \(RBAC: grant "get"/.test(k.reason),
      ),
    ).toBe(true);
    expect(r.skippedKinds).toEqual([]);
    expect(await names(fabric.id)).toEqual(['Server/default/srv-1', 'Switch/default/sw-1']);
  });

  test("a discovery 503 that outlasts the retries: that group's kinds are failed kinds, each named, the run partial (not completed)", async () => {
    const api = await fakeWith(good());
    const fabric = await newFabric();
    api.injectFault({ type: 'status', code: 503, match: { path: /^\/apis\/wiring\.githedgehog\.com\/v1beta1$/ } });
    const r = await service(api).syncActualState(fabric);
    expect(r.status).toBe('partial');
    const failed = r.details.failedKinds as { kind: string; reason: string }[];
    expect(failed.map((k) => k.kind).sort()).toEqual(
      ['Connection', 'Server', 'ServerProfile', 'Switch', 'SwitchGroup', 'SwitchProfile', 'VLANNamespace'].sort(),
    );
    for (const k of failed)
      expect(k.reason).toMatch(/discover wiring\.githedgehog\.com\/v1beta1 failed after 2 attempts: HTTP 503/);
    for (const k of failed)
      expect(r.errors).toContainEqual({
        kind: k.kind,
        reason: `discovery failed, rows of this kind left untouched: ${k.reason}`,
      });
    expect(r.skippedKinds).toEqual([]);
    expect(await names(fabric.id)).toEqual(['VPC/default/vpc-00000', 'VPC/default/vpc-00001', 'VPC/default/vpc-00002']);
  });

  test('a kind the cluster does not serve (404) is still skipped, not failed', async () => {
    const api = await fakeWith(good(), {
      kinds: (await import('../src/kube/catalog.js')).FABRIC_KINDS.filter((k) => k.kind !== 'External'),
    });
    const r = await service(api).syncActualState(await newFabric());
    expect(r.status).toBe('completed');
    expect(r.skippedKinds.map((k) => k.kind)).toEqual(['External']);
  });
});

describe('nothing read', () => {
  test('every list answering 500: the run is failed (not partial), nothing swept, the fabric not "connected"', async () => {
    const api = await fakeWith(good());
    const fabric = await newFabric();
    const svc = service(api);
    expect((await svc.syncActualState(fabric)).status).toBe('completed');
    api.delete('VPC', 'default', 'vpc-00000');
    api.injectFault({
      type: 'status',
      code: 500,
      match: {
        watch: false,
        path: /\/(vpcs|vpcattachments|vpcpeerings|externals|externalattachments|externalpeerings|ipv4namespaces|connections|servers|switches|switchgroups|switchprofiles|serverprofiles|vlannamespaces)$/,
      },
    });
    const r = await svc.syncActualState(fabric);
    expect(r.status).toBe('failed');
    expect(r.errorMessage).toMatch(
      /^no fabric kind could be read from the cluster: every list failed: list vpcs\.vpc\.githedgehog\.com failed after 2 attempts: HTTP 500/,
    );
    expect((r.details.failedKinds as unknown[]).length).toBe(14);
    expect(await names(fabric.id, 'VPC')).toHaveLength(3);
    expect((await fabricRow(fabric.id)).connection_status).toBe('error');
  });

  test('401 (bad credentials) fails the whole run: it concerns every kind', async () => {
    const api = await fakeWith(good(), { token: 'right' });
    const fabric = await newFabric();
    const r = await service(api, 'wrong').syncActualState(fabric);
    expect(r.status).toBe('failed');
    expect(r.errorMessage).toMatch(/401 Unauthorized/);
    expect((await fabricRow(fabric.id)).connection_status).toBe('error');
  });
});
