/**
 * The fake Kubernetes API tested against the semantics of the real API server, through the real
 * @kubernetes/client-node 1.4 (CustomObjectsApi, ApisApi, Watch, makeInformer) and raw HTTP for edge cases.
 */
import { request as httpRequest } from 'node:http';
import {
  ApiException,
  ApiextensionsV1Api,
  ApisApi,
  CoreApi,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  VersionApi,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { FakeKubeApi, type KubeObject } from '../src/testing/index.js';

const VPC_GROUP = 'vpc.githedgehog.com';
const WIRING_GROUP = 'wiring.githedgehog.com';
const V = 'v1beta1';

function vpc(name: string, namespace = 'default', labels: Record<string, string> = {}, spec: object = {}): object {
  return {
    apiVersion: `${VPC_GROUP}/${V}`,
    kind: 'VPC',
    metadata: { name, namespace, labels },
    spec: { subnets: { default: { subnet: '10.0.1.0/24', vlan: 1001 } }, ...spec },
  };
}

function server(name: string, namespace = 'default'): object {
  return {
    apiVersion: `${WIRING_GROUP}/${V}`,
    kind: 'Server',
    metadata: { name, namespace },
    spec: { description: name },
  };
}

type List = KubernetesListObject<KubeObject & KubernetesObject> & {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
};

/** Polls `cond` every 5 ms until true; fails after `ms`. */
async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Seen {
  type: string;
  object: KubeObject & { code?: number; reason?: string };
}

/** A client-node Watch collecting its events. */
async function watch(kc: KubeConfig, path: string, params: Record<string, string | number | boolean> = {}) {
  const events: Seen[] = [];
  let ended = false;
  let error: unknown;
  const controller = await new Watch(kc).watch(
    path,
    params,
    (type, object) => events.push({ type, object }),
    (err) => {
      ended = true;
      error = err;
    },
  );
  return {
    events,
    ended: () => ended,
    error: () => error,
    // An ERROR event's object is a Status, which need not have metadata.
    names: (type?: string) =>
      events
        .filter((e) => !type || e.type === type)
        .map((e) => (e.object.metadata as KubeObject['metadata'] | undefined)?.name),
    abort: () => controller.abort(),
  };
}

/** Raw GET; resolves with status, headers and body text (rejects when the socket breaks). */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body, headers: res.headers }),
      );
      res.on('error', (e) => reject(Object.assign(e, { partial: body })));
      res.on('aborted', () => reject(Object.assign(new Error('aborted'), { partial: body })));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Raw GET that keeps whatever arrived before the connection broke. */
function rawGetPartial(url: string): Promise<{ body: string; broken: boolean }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ body, broken: !res.complete }));
      res.on('error', () => resolve({ body, broken: true }));
    });
    req.on('error', () => resolve({ body: '', broken: true }));
    req.end();
  });
}

function expectStatusBody(
  r: { status: number; type: string; body: string },
  code: number,
  reason: string,
): Record<string, any> {
  expect(r.status).toBe(code);
  expect(r.type).toBe('application/json');
  const s = JSON.parse(r.body);
  expect(s).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
  expect(typeof s.message).toBe('string');
  return s;
}

async function apiError(p: Promise<unknown>): Promise<ApiException<any>> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiException);
    return e as ApiException<any>;
  }
  throw new Error('expected the call to fail');
}

describe('FakeKubeApi', () => {
  let api: FakeKubeApi;
  let kc: KubeConfig;
  let co: CustomObjectsApi;

  beforeEach(async () => {
    api = new FakeKubeApi({ bookmarkIntervalMs: 100 });
    await api.start();
    kc = api.kubeConfig();
    co = kc.makeApiClient(CustomObjectsApi);
  });
  afterEach(async () => {
    await api.stop();
  });

  const listAll = (extra: Record<string, unknown> = {}) =>
    co.listClusterCustomObject({ group: VPC_GROUP, version: V, plural: 'vpcs', ...extra }) as Promise<List>;
  const listNs = (namespace: string, extra: Record<string, unknown> = {}) =>
    co.listNamespacedCustomObject({
      group: VPC_GROUP,
      version: V,
      plural: 'vpcs',
      namespace,
      ...extra,
    }) as Promise<List>;

  describe('discovery', () => {
    test('/apis lists both fabric groups with their preferred version (ApisApi.getAPIVersions)', async () => {
      const groups = await kc.makeApiClient(ApisApi).getAPIVersions();
      expect(groups.kind).toBe('APIGroupList');
      const byName = new Map(groups.groups.map((g) => [g.name, g]));
      expect([...byName.keys()].sort()).toEqual([VPC_GROUP, WIRING_GROUP]);
      expect(byName.get(VPC_GROUP)!.preferredVersion).toEqual({ groupVersion: `${VPC_GROUP}/${V}`, version: V });
    });

    test('/apis/{g} is an APIGroup; /apis/{g}/{v} lists every served kind with plural, singular, namespaced, verbs', async () => {
      const g = JSON.parse((await rawGet(`${api.url}/apis/${WIRING_GROUP}`)).body);
      expect(g).toMatchObject({ kind: 'APIGroup', name: WIRING_GROUP, versions: [{ version: V }] });
      const r = await rawGet(`${api.url}/apis/${VPC_GROUP}/${V}`);
      expect(r.type).toBe('application/json');
      const list = JSON.parse(r.body);
      expect(list).toMatchObject({ kind: 'APIResourceList', groupVersion: `${VPC_GROUP}/${V}` });
      const main = list.resources.filter((x: { name: string }) => !x.name.includes('/'));
      expect(main.map((x: { kind: string }) => x.kind).sort()).toEqual(
        FABRIC_KINDS.filter((k) => k.group === VPC_GROUP)
          .map((k) => k.kind)
          .sort(),
      );
      expect(main.find((x: { kind: string }) => x.kind === 'VPC')).toMatchObject({
        name: 'vpcs',
        singularName: 'vpc',
        namespaced: true,
        verbs: expect.arrayContaining(['get', 'list', 'watch']),
      });
    });

    test('/api, /version and CoreApi/VersionApi through the real client', async () => {
      expect((await kc.makeApiClient(CoreApi).getAPIVersions()).versions).toEqual(['v1']);
      expect((await kc.makeApiClient(VersionApi).getCode()).major).toBe('1');
    });

    test('a cluster that serves only some kinds hides the others, and their lists are 404 Status', async () => {
      const partial = new FakeKubeApi({ kinds: FABRIC_KINDS.filter((k) => k.group === WIRING_GROUP) });
      await partial.start();
      try {
        const groups = await partial.kubeConfig().makeApiClient(ApisApi).getAPIVersions();
        expect(groups.groups.map((g) => g.name)).toEqual([WIRING_GROUP]);
        expectStatusBody(await rawGet(`${partial.url}/apis/${VPC_GROUP}/${V}`), 404, 'NotFound');
        const err = await apiError(
          partial
            .kubeConfig()
            .makeApiClient(CustomObjectsApi)
            .listClusterCustomObject({ group: VPC_GROUP, version: V, plural: 'vpcs' }),
        );
        expect(err.code).toBe(404);
        expect(() => partial.create(vpc('x'))).toThrow(/not served/);
      } finally {
        await partial.stop();
      }
    });

    test('CRDs given as options are served and enrich discovery with shortNames and categories', async () => {
      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `vpcs.${VPC_GROUP}` },
        spec: {
          group: VPC_GROUP,
          names: { kind: 'VPC', plural: 'vpcs', singular: 'vpc', shortNames: ['v'], categories: ['hedgehog'] },
          scope: 'Namespaced',
          versions: [{ name: V, served: true, storage: true, subresources: { status: {} } }],
        },
      };
      const withCrds = new FakeKubeApi({ crds: [crd] });
      await withCrds.start();
      try {
        const ext = withCrds.kubeConfig().makeApiClient(ApiextensionsV1Api);
        const crds = await ext.listCustomResourceDefinition();
        expect(crds.items.map((c) => c.metadata?.name)).toEqual([`vpcs.${VPC_GROUP}`]);
        expect((await ext.readCustomResourceDefinition({ name: `vpcs.${VPC_GROUP}` })).spec.group).toBe(VPC_GROUP);
        const list = JSON.parse((await rawGet(`${withCrds.url}/apis/${VPC_GROUP}/${V}`)).body);
        expect(list.resources.find((x: { name: string }) => x.name === 'vpcs')).toMatchObject({
          shortNames: ['v'],
          categories: ['hedgehog'],
        });
      } finally {
        await withCrds.stop();
      }
    });
  });

  describe('object store', () => {
    test('create sets uid, resourceVersion, creationTimestamp, generation; the resourceVersion is global across kinds', () => {
      const a = api.create(vpc('a'));
      const s = api.create(server('s1'));
      const b = api.create(vpc('b', 'other'));
      expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.metadata.generation).toBe(1);
      expect(a.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const rvs = [a, s, b].map((o) => Number(o.metadata.resourceVersion));
      expect(rvs[1]).toBeGreaterThan(rvs[0]!);
      expect(rvs[2]).toBeGreaterThan(rvs[1]!);
      expect(api.resourceVersion).toBe(String(rvs[2]));
      expect(() => api.create(vpc('a'))).toThrow(/already exists/);
    });

    test('update: same uid, new resourceVersion; generation only moves with the spec; identical content is a no-op', () => {
      const a = api.create(vpc('a'));
      const relabeled = api.update({ ...vpc('a', 'default', { tier: 'gold' }) });
      expect(relabeled.metadata.uid).toBe(a.metadata.uid);
      expect(Number(relabeled.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
      expect(relabeled.metadata.generation).toBe(1);
      const respec = api.update(vpc('a', 'default', { tier: 'gold' }, { vlanNamespace: 'other' }));
      expect(respec.metadata.generation).toBe(2);
      const rv = api.resourceVersion;
      const same = api.update(vpc('a', 'default', { tier: 'gold' }, { vlanNamespace: 'other' }));
      expect(same.metadata.resourceVersion).toBe(respec.metadata.resourceVersion);
      expect(api.resourceVersion).toBe(rv);
      // A stale resourceVersion is a conflict, as on the real server.
      expect(() =>
        api.update({
          ...vpc('a'),
          metadata: { name: 'a', namespace: 'default', resourceVersion: a.metadata.resourceVersion },
        }),
      ).toThrow(/has been modified/);
      expect(() => api.update(vpc('missing'))).toThrow(/not found/);
    });

    test('delete, then create again: a new uid; apply creates or replaces', () => {
      const a = api.create(vpc('a'));
      expect(api.delete('VPC', 'default', 'a')).toBe(true);
      expect(api.delete('VPC', 'default', 'a')).toBe(false);
      expect(api.get('VPC', 'default', 'a')).toBeUndefined();
      const again = api.apply(vpc('a'));
      expect(again.metadata.uid).not.toBe(a.metadata.uid);
      const applied = api.apply(vpc('a', 'default', { x: 'y' }));
      expect(applied.metadata.uid).toBe(again.metadata.uid);
      expect(applied.metadata.labels).toEqual({ x: 'y' });
    });

    test('objects returned are copies: changing them does not change the store', () => {
      const a = api.create(vpc('a'));
      (a.metadata.labels as Record<string, string>).evil = 'yes';
      expect(api.get('VPC', 'default', 'a')!.metadata.labels).toEqual({});
      expect(api.list('VPC')).toHaveLength(1);
      expect(api.list()).toHaveLength(1);
    });

    test('load() bulk-creates and keeps objects the reader must reject (bad names, odd specs)', () => {
      api.load([vpc('Bad_Name'), { ...vpc('spec-string'), spec: 'not an object' }, server('s')]);
      expect(api.list().map((o) => o.metadata.name)).toEqual(['Bad_Name', 'spec-string', 's']);
      expect(() => api.load([{ kind: 'Pod', metadata: { name: 'p' } }])).toThrow(/not served/);
      expect(() => api.create({ kind: 'VPC', metadata: {} })).toThrow(/metadata.name/);
    });
  });

  describe('list', () => {
    test('all namespaces and one namespace, sorted by namespace/name, with the list kind and resourceVersion', async () => {
      api.load([vpc('b', 'ns1'), vpc('a', 'ns2'), vpc('c', 'ns1'), server('s')]);
      const all = await listAll();
      expect(all.kind).toBe('VPCList');
      expect(all.apiVersion).toBe(`${VPC_GROUP}/${V}`);
      expect(all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['ns1/b', 'ns1/c', 'ns2/a']);
      expect(all.metadata.resourceVersion).toBe(api.resourceVersion);
      expect(all.metadata.continue).toBeUndefined();
      const ns1 = await listNs('ns1');
      expect(ns1.items.map((o) => o.metadata.name)).toEqual(['b', 'c']);
      expect((await listNs('nope')).items).toEqual([]);
    });

    test('single GET and 404 NotFound Status for a missing object', async () => {
      api.create(vpc('a', 'ns1'));
      const got = (await co.getNamespacedCustomObject({
        group: VPC_GROUP,
        version: V,
        plural: 'vpcs',
        namespace: 'ns1',
        name: 'a',
      })) as KubeObject;
      expect(got.metadata.name).toBe('a');
      const r = await rawGet(`${api.url}/apis/${VPC_GROUP}/${V}/namespaces/ns1/vpcs/zz`);
      const s = expectStatusBody(r, 404, 'NotFound');
      expect(s.message).toBe(`vpcs.${VPC_GROUP} "zz" not found`);
      expect(s.details).toEqual({ name: 'zz', group: VPC_GROUP, kind: 'vpcs' });
    });

    test('paging: every object exactly once, remainingItemCount counting down, one resourceVersion for all pages', async () => {
      const objs = [];
      for (let i = 0; i < 1000; i++) objs.push(vpc(`v${String(i).padStart(4, '0')}`, `ns${i % 7}`));
      api.load(objs);
      const seen: string[] = [];
      const rvs = new Set<string>();
      const remaining: number[] = [];
      let cont: string | undefined;
      do {
        const page = await listAll({ limit: 97, _continue: cont });
        expect(page.items.length).toBeLessThanOrEqual(97);
        seen.push(...page.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
        rvs.add(page.metadata.resourceVersion);
        cont = page.metadata.continue;
        if (cont) remaining.push(page.metadata.remainingItemCount!);
        else expect(page.metadata.remainingItemCount).toBeUndefined();
      } while (cont);
      expect(seen).toHaveLength(1000);
      expect(new Set(seen).size).toBe(1000);
      expect(rvs.size).toBe(1);
      expect(remaining[0]).toBe(1000 - 97);
      expect(remaining.at(-1)).toBe(1000 - 97 * remaining.length);

      // Per namespace: only that namespace, counted within it.
      const first = await listNs('ns3', { limit: 10 });
      expect(first.items.every((o) => o.metadata.namespace === 'ns3')).toBe(true);
      expect(first.metadata.remainingItemCount).toBe(objs.filter((_, i) => i % 7 === 3).length - 10);
    });

    test('pages after the first come from the first page snapshot, whatever changes meanwhile', async () => {
      api.load(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => vpc(n)));
      const p1 = await listAll({ limit: 2 });
      api.delete('VPC', 'default', 'd');
      api.create(vpc('cc'));
      api.update(vpc('e', 'default', { changed: 'yes' }));
      const p2 = await listAll({ limit: 2, _continue: p1.metadata.continue });
      const p3 = await listAll({ limit: 2, _continue: p2.metadata.continue });
      expect([...p1.items, ...p2.items, ...p3.items].map((o) => o.metadata.name)).toEqual([
        'a',
        'b',
        'c',
        'd',
        'e',
        'f',
      ]);
      expect(p3.items.find((o) => o.metadata.name === 'e')!.metadata.labels).toEqual({});
      expect(p3.metadata.resourceVersion).toBe(p1.metadata.resourceVersion);
      expect(p3.metadata.continue).toBeUndefined();
      // A new list sees the new state.
      expect((await listAll()).items.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c', 'cc', 'e', 'f']);
    });

    test('expired continue token: ApiException 410 with a Status (reason Expired) carrying an inconsistent continue token', async () => {
      api.load(['a', 'b', 'c', 'd'].map((n) => vpc(n)));
      const p1 = await listAll({ limit: 2 });
      api.expireContinueTokens();
      api.create(vpc('bb'));
      const err = await apiError(listAll({ limit: 2, _continue: p1.metadata.continue }));
      expect(err.code).toBe(410);
      expect(err.headers['content-type']).toBe('application/json');
      // client-node hands non-401 error bodies over as the raw text.
      expect(typeof err.body).toBe('string');
      const s = JSON.parse(err.body);
      expect(s).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
      expect(s.message).toMatch(/too old to display a consistent list/);
      // Following the inconsistent token continues from the latest state after 'b'.
      const rest = await listAll({ limit: 10, _continue: s.metadata.continue });
      expect(rest.items.map((o) => o.metadata.name)).toEqual(['bb', 'c', 'd']);
      expect(rest.metadata.resourceVersion).toBe(api.resourceVersion);
    });

    test('continue tokens expire after continueTokenTtlMs, and compaction expires those of older lists', async () => {
      const short = new FakeKubeApi({ continueTokenTtlMs: 30 });
      await short.start();
      try {
        short.load(['a', 'b', 'c'].map((n) => vpc(n)));
        const sco = short.kubeConfig().makeApiClient(CustomObjectsApi);
        const p1 = (await sco.listClusterCustomObject({
          group: VPC_GROUP,
          version: V,
          plural: 'vpcs',
          limit: 1,
        })) as List;
        await new Promise((r) => setTimeout(r, 60));
        const err = await apiError(
          sco.listClusterCustomObject({
            group: VPC_GROUP,
            version: V,
            plural: 'vpcs',
            limit: 1,
            _continue: p1.metadata.continue,
          }),
        );
        expect(err.code).toBe(410);
      } finally {
        await short.stop();
      }
      api.load(['a', 'b', 'c'].map((n) => vpc(n)));
      const p1 = await listAll({ limit: 1 });
      api.create(vpc('d'));
      api.compact();
      expect((await apiError(listAll({ limit: 1, _continue: p1.metadata.continue }))).code).toBe(410);
    });

    test('a garbled continue token is 400 BadRequest', async () => {
      const s = expectStatusBody(
        await rawGet(`${api.url}/apis/${VPC_GROUP}/${V}/vpcs?limit=1&continue=%25%25garbage`),
        400,
        'BadRequest',
      );
      expect(s.message).toMatch(/continue/);
    });

    test('resourceVersionMatch=Exact lists an older state from history; 410 once compacted; too new a version is 504', async () => {
      api.create(vpc('a'));
      const rvBefore = api.resourceVersion;
      api.create(vpc('b'));
      api.update(vpc('a', 'default', { later: 'yes' }));
      api.delete('VPC', 'default', 'b');
      const old = await listAll({ resourceVersion: rvBefore, resourceVersionMatch: 'Exact' });
      expect(old.items.map((o) => [o.metadata.name, o.metadata.labels])).toEqual([['a', {}]]);
      expect(old.metadata.resourceVersion).toBe(rvBefore);
      const latest = await listAll({ resourceVersion: rvBefore, resourceVersionMatch: 'NotOlderThan' });
      expect(latest.items.map((o) => [o.metadata.name, o.metadata.labels])).toEqual([['a', { later: 'yes' }]]);
      const future = await apiError(listAll({ resourceVersion: String(Number(api.resourceVersion) + 10) }));
      expect(future.code).toBe(504);
      expect(JSON.parse(future.body).message).toMatch(/Too large resource version/);
      api.compact();
      const gone = await apiError(listAll({ resourceVersion: rvBefore, resourceVersionMatch: 'Exact' }));
      expect(gone.code).toBe(410);
      expect(JSON.parse(gone.body).reason).toBe('Expired');
    });

    test('invalid list options are 422 Invalid', async () => {
      const r = await rawGet(`${api.url}/apis/${VPC_GROUP}/${V}/vpcs?resourceVersionMatch=Exact`);
      expect(expectStatusBody(r, 422, 'Invalid').message).toMatch(
        /resourceVersionMatch is forbidden unless resourceVersion is provided/,
      );
      expectStatusBody(
        await rawGet(`${api.url}/apis/${VPC_GROUP}/${V}/vpcs?resourceVersion=0&resourceVersionMatch=Exact`),
        422,
        'Invalid',
      );
    });
  });

  describe('selectors', () => {
    beforeEach(() => {
      api.load([
        vpc('a', 'ns1', { tier: 'gold', zone: 'z1' }),
        vpc('b', 'ns1', { tier: 'silver' }),
        vpc('c', 'ns2', { tier: 'bronze', zone: 'z2' }),
        vpc('d', 'ns2', {}),
        vpc('e', 'ns3', { tier: 'gold', rank: '5' }),
      ]);
    });
    const names = async (extra: Record<string, unknown>) => (await listAll(extra)).items.map((o) => o.metadata.name);

    test.each([
      ['tier=gold', ['a', 'e']],
      ['tier==gold', ['a', 'e']],
      ['tier!=gold', ['b', 'c', 'd']],
      ['tier in (gold, bronze)', ['a', 'c', 'e']],
      ['tier notin (gold,bronze)', ['b', 'd']],
      ['zone', ['a', 'c']],
      ['!zone', ['b', 'd', 'e']],
      ['tier=gold,zone', ['a']],
      ['tier,!zone,tier!=silver', ['e']],
      ['rank>3', ['e']],
      ['', ['a', 'b', 'c', 'd', 'e']],
    ])('labelSelector %j', async (sel, expected) => {
      expect(await names({ labelSelector: sel })).toEqual(expected);
    });

    test.each([
      ['metadata.name=c', ['c']],
      ['metadata.name==c', ['c']],
      ['metadata.name!=c', ['a', 'b', 'd', 'e']],
      ['metadata.namespace=ns2', ['c', 'd']],
      ['metadata.namespace!=ns2,metadata.name!=a', ['b', 'e']],
    ])('fieldSelector %j', async (sel, expected) => {
      expect(await names({ fieldSelector: sel })).toEqual(expected);
    });

    test('both selectors together, per namespace, paged (no remainingItemCount when filtered)', async () => {
      expect(
        (await listNs('ns1', { labelSelector: 'tier', fieldSelector: 'metadata.name!=b' })).items.map(
          (o) => o.metadata.name,
        ),
      ).toEqual(['a']);
      const p1 = await listAll({ labelSelector: 'tier', limit: 2 });
      expect(p1.items.map((o) => o.metadata.name)).toEqual(['a', 'b']);
      expect(p1.metadata.remainingItemCount).toBeUndefined();
      const p2 = await listAll({ labelSelector: 'tier', limit: 2, _continue: p1.metadata.continue });
      expect(p2.items.map((o) => o.metadata.name)).toEqual(['c', 'e']);
    });

    test('a bad label selector or an unsupported field is 400 BadRequest', async () => {
      const base = `${api.url}/apis/${VPC_GROUP}/${V}/vpcs`;
      expectStatusBody(await rawGet(`${base}?labelSelector=${encodeURIComponent('tier in (gold')}`), 400, 'BadRequest');
      expectStatusBody(await rawGet(`${base}?labelSelector=${encodeURIComponent('=x')}`), 400, 'BadRequest');
      const s = expectStatusBody(await rawGet(`${base}?fieldSelector=spec.vlan%3D1`), 400, 'BadRequest');
      expect(s.message).toMatch(/"spec.vlan" is not a known field selector/);
    });
  });

  describe('watch', () => {
    const path = `/apis/${VPC_GROUP}/${V}/vpcs`;

    test('without resourceVersion: synthetic ADDED for the current state, then ADDED/MODIFIED/DELETED as they happen', async () => {
      api.load([vpc('a'), vpc('b', 'ns2')]);
      const w = await watch(kc, path);
      await until(() => w.events.length === 2, 5000, 'initial events');
      expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'ADDED']);
      expect(api.watchCount()).toBe(1);
      api.create(vpc('c'));
      api.create(server('not-a-vpc'));
      api.update(vpc('a', 'default', { l: 'v' }));
      api.delete('VPC', 'ns2', 'b');
      const deletionRv = api.resourceVersion;
      await until(() => w.events.length === 5, 5000, 'live events');
      expect(w.events.slice(2).map((e) => [e.type, e.object.metadata.name])).toEqual([
        ['ADDED', 'c'],
        ['MODIFIED', 'a'],
        ['DELETED', 'b'],
      ]);
      // A DELETED event carries the last state stamped with the deletion's resourceVersion.
      expect(w.events[4]!.object.metadata.resourceVersion).toBe(deletionRv);
      w.abort();
      await until(() => api.watchCount() === 0, 5000, 'server to see the abort');
    });

    test('from a resourceVersion: only later events; a namespaced watch sees only its namespace', async () => {
      api.create(vpc('a'));
      const rv = api.resourceVersion;
      api.create(vpc('b'));
      api.create(vpc('x', 'other'));
      const w = await watch(kc, path, { resourceVersion: rv });
      const wNs = await watch(kc, `/apis/${VPC_GROUP}/${V}/namespaces/other/vpcs`, { resourceVersion: rv });
      api.create(vpc('c'));
      await until(() => w.events.length === 3 && wNs.events.length === 1);
      expect(w.events.map((e) => [e.type, e.object.metadata.name])).toEqual([
        ['ADDED', 'b'],
        ['ADDED', 'x'],
        ['ADDED', 'c'],
      ]);
      expect(wNs.names()).toEqual(['x']);
      w.abort();
      wNs.abort();
    });

    test('selectors: an object entering the selection arrives as ADDED, one leaving it as DELETED', async () => {
      api.create(vpc('a', 'default', { tier: 'gold' }));
      api.create(vpc('b'));
      const w = await watch(kc, path, { labelSelector: 'tier=gold' });
      await until(() => w.events.length === 1);
      api.update(vpc('b', 'default', { tier: 'gold' }));
      api.update(vpc('a', 'default', { tier: 'silver' }));
      api.update(vpc('b', 'default', { tier: 'gold', more: 'x' }));
      await until(() => w.events.length === 4);
      expect(w.events.map((e) => [e.type, e.object.metadata.name])).toEqual([
        ['ADDED', 'a'],
        ['ADDED', 'b'],
        ['DELETED', 'a'],
        ['MODIFIED', 'b'],
      ]);
      w.abort();
    });

    test('BOOKMARK only when asked for, carrying the current resourceVersion', async () => {
      api.create(vpc('a'));
      const plain = await watch(kc, path, { resourceVersion: api.resourceVersion });
      const marked = await watch(kc, path, { resourceVersion: api.resourceVersion, allowWatchBookmarks: true });
      api.create(server('s'));
      await until(() => marked.events.some((e) => e.type === 'BOOKMARK'), 5000, 'a bookmark');
      // The bookmark interval is 100 ms: by now the plain watch has had several chances.
      await new Promise((r) => setTimeout(r, 250));
      expect(plain.events).toEqual([]);
      const bm = marked.events.find((e) => e.type === 'BOOKMARK')!;
      expect(bm.object).toMatchObject({
        kind: 'VPC',
        apiVersion: `${VPC_GROUP}/${V}`,
        metadata: { resourceVersion: api.resourceVersion },
      });
      plain.abort();
      marked.abort();
    });

    test('timeoutSeconds ends the stream cleanly (with a last bookmark when allowed)', async () => {
      const t0 = Date.now();
      const w = await watch(kc, path, { timeoutSeconds: 1, allowWatchBookmarks: true });
      await until(() => w.ended(), 5000, 'the timeout');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
      expect(w.error()).toBeNull();
      expect(w.events.at(-1)!.type).toBe('BOOKMARK');
      await until(() => api.watchCount() === 0);
    });

    test('a compacted resourceVersion: HTTP 200, then an in-stream ERROR event with a 410 Expired Status, then the end', async () => {
      api.create(vpc('a'));
      const old = api.resourceVersion;
      api.create(vpc('b'));
      api.compact();
      const w = await watch(kc, path, { resourceVersion: old });
      await until(() => w.ended());
      expect(w.events).toHaveLength(1);
      expect(w.events[0]!.type).toBe('ERROR');
      expect(w.events[0]!.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
      expect((w.events[0]!.object as { message?: string }).message).toMatch(/too old resource version/);
      // The current resourceVersion is still fine.
      const ok = await watch(kc, path, { resourceVersion: api.resourceVersion });
      api.create(vpc('c'));
      await until(() => ok.events.length === 1);
      ok.abort();
    });

    test('a short history: a watch from before the kept events gets 410 too', async () => {
      const small = new FakeKubeApi({ historyLimit: 3 });
      await small.start();
      try {
        small.create(vpc('a'));
        const old = small.resourceVersion;
        for (const n of ['b', 'c', 'd', 'e']) small.create(vpc(n));
        const w = await watch(small.kubeConfig(), path, { resourceVersion: old });
        await until(() => w.ended());
        expect(w.events[0]!.object).toMatchObject({ code: 410 });
        const recent = await watch(small.kubeConfig(), path, {
          resourceVersion: String(Number(small.resourceVersion) - 2),
        });
        await until(() => recent.events.length === 2);
        expect(recent.names()).toEqual(['d', 'e']);
        recent.abort();
      } finally {
        await small.stop();
      }
    });

    test('closeWatches() ends every stream; the client sees a clean end', async () => {
      const w1 = await watch(kc, path);
      const w2 = await watch(kc, `/apis/${WIRING_GROUP}/${V}/servers`);
      await until(() => api.watchCount() === 2);
      api.closeWatches();
      await until(() => w1.ended() && w2.ended());
      expect(w1.error()).toBeNull();
      expect(api.watchCount()).toBe(0);
    });

    test('sendInitialEvents: the initial state, then a bookmark marking its end', async () => {
      api.create(vpc('a'));
      const w = await watch(kc, path, {
        sendInitialEvents: true,
        resourceVersionMatch: 'NotOlderThan',
        allowWatchBookmarks: true,
      });
      await until(() => w.events.length >= 2);
      expect(w.events[0]!.type).toBe('ADDED');
      expect(w.events[1]!.type).toBe('BOOKMARK');
      expect(w.events[1]!.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
      w.abort();
    });

    test('makeInformer keeps an up-to-date cache and relists after a 410', async () => {
      api.load([vpc('a'), vpc('b')]);
      const informer = makeInformer(kc, path, () => listAll() as Promise<KubernetesListObject<KubernetesObject>>);
      const adds: string[] = [];
      const deletes: string[] = [];
      informer.on('add', (o) => adds.push(o.metadata!.name!));
      informer.on('delete', (o) => deletes.push(o.metadata!.name!));
      await informer.start();
      try {
        await until(() => adds.length === 2 && api.watchCount() === 1);
        api.create(vpc('c'));
        api.delete('VPC', 'default', 'a');
        await until(() => informer.list().length === 2 && adds.includes('c') && deletes.includes('a'));
        // The informer's re-watch from its last resourceVersion gets an in-stream 410, so it relists.
        const lists = () => api.requests.filter((r) => r.path === path && r.query.watch === undefined).length;
        const listsBefore = lists();
        api.create(vpc('d'));
        await until(() => informer.list().length === 3);
        // Drop the watch, then move history on and compact it past the informer's last resourceVersion
        // (all before the client can react, so its re-watch comes too late).
        api.closeWatches();
        api.create(vpc('e'));
        api.compact();
        await until(() => lists() > listsBefore, 5000, 'a relist');
        await until(() => informer.list().length === 4, 5000, 'the cache to converge');
        expect(
          informer
            .list()
            .map((o) => o.metadata!.name)
            .sort(),
        ).toEqual(['b', 'c', 'd', 'e']);
      } finally {
        await informer.stop();
      }
    });
  });

  describe('authentication', () => {
    let secured: FakeKubeApi;
    beforeEach(async () => {
      secured = new FakeKubeApi({ token: 's3cret' });
      await secured.start();
      secured.create(vpc('a'));
    });
    afterEach(async () => {
      await secured.stop();
    });

    test('the right bearer token lists; none or a wrong one is 401 (ApiException without a body)', async () => {
      const ok = secured.kubeConfig().makeApiClient(CustomObjectsApi);
      expect(
        ((await ok.listClusterCustomObject({ group: VPC_GROUP, version: V, plural: 'vpcs' })) as List).items,
      ).toHaveLength(1);
      for (const token of ['', 'wrong']) {
        const bad = secured.kubeConfig({ token }).makeApiClient(CustomObjectsApi);
        const err = await apiError(bad.listClusterCustomObject({ group: VPC_GROUP, version: V, plural: 'vpcs' }));
        expect(err.code).toBe(401);
        // client-node's generated code drops the 401 body (it maps 401 to "Unauthorized" itself).
        expect(err.body).toBeUndefined();
      }
      expectStatusBody(await rawGet(`${secured.url}/apis`), 401, 'Unauthorized');
      expectStatusBody(await rawGet(`${secured.url}/apis`, { authorization: 'Bearer wrong' }), 401, 'Unauthorized');
      expect((await rawGet(`${secured.url}/apis`, { authorization: 'Bearer s3cret' })).status).toBe(200);
    });

    test('a watch without the token fails with statusCode 401', async () => {
      const w = await watch(secured.kubeConfig({ token: 'wrong' }), `/apis/${VPC_GROUP}/${V}/vpcs`);
      await until(() => w.ended());
      expect((w.error() as { statusCode?: number }).statusCode).toBe(401);
    });

    test('kubeconfigYaml loads into a working KubeConfig (context fake)', async () => {
      const loaded = new KubeConfig();
      loaded.loadFromString(secured.kubeconfigYaml());
      expect(loaded.getCurrentContext()).toBe('fake');
      expect(loaded.getCurrentCluster()!.skipTLSVerify).toBe(true);
      const list = (await loaded
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group: VPC_GROUP, version: V, plural: 'vpcs' })) as List;
      expect(list.items).toHaveLength(1);
      const bad = new KubeConfig();
      bad.loadFromString(secured.kubeconfigYaml({ token: 'nope' }));
      expect(
        (
          await apiError(
            bad
              .makeApiClient(CustomObjectsApi)
              .listClusterCustomObject({ group: VPC_GROUP, version: V, plural: 'vpcs' }),
          )
        ).code,
      ).toBe(401);
    });
  });

  describe('faults', () => {
    const listPath = `/apis/${VPC_GROUP}/${V}/vpcs`;

    test('status 500 once, then success; the request log records both', async () => {
      api.create(vpc('a'));
      api.injectFault({ type: 'status', code: 500, times: 1 });
      const err = await apiError(listAll());
      expect(err.code).toBe(500);
      expect(JSON.parse(err.body)).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
      expect((await listAll()).items).toHaveLength(1);
      expect(api.requests.filter((r) => r.path === listPath).map((r) => r.status)).toEqual([500, 200]);
    });

    test('429 with Retry-After (header and Status details)', async () => {
      api.injectFault({ type: 'status', code: 429, retryAfterSeconds: 3, times: 1 });
      const err = await apiError(listAll());
      expect(err.code).toBe(429);
      expect(err.headers['retry-after']).toBe('3');
      expect(JSON.parse(err.body)).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } });
    });

    test.each([
      [503, 'ServiceUnavailable'],
      [504, 'Timeout'],
      [403, 'Forbidden'],
      [404, 'NotFound'],
      [401, 'Unauthorized'],
    ] as const)('status %i is a %s Status', async (code, reason) => {
      api.injectFault({ type: 'status', code, times: 1 });
      expectStatusBody(await rawGet(`${api.url}${listPath}`), code, reason);
      expect((await rawGet(`${api.url}${listPath}`)).status).toBe(200);
    });

    test('match narrows a fault to a kind, to watches, or to a path; without times it lasts until clearFaults()', async () => {
      api.create(vpc('a'));
      api.create(server('s'));
      api.injectFault({ type: 'status', code: 503, match: { kind: 'Server' } });
      api.injectFault({ type: 'status', code: 500, match: { watch: true } });
      api.injectFault({ type: 'status', code: 404, match: { path: /\/externals$/ } });
      const servers = () => co.listClusterCustomObject({ group: WIRING_GROUP, version: V, plural: 'servers' });
      expect((await apiError(servers())).code).toBe(503);
      expect((await apiError(servers())).code).toBe(503);
      expect((await listAll()).items).toHaveLength(1);
      expect(
        (await apiError(co.listClusterCustomObject({ group: VPC_GROUP, version: V, plural: 'externals' }))).code,
      ).toBe(404);
      const w = await watch(kc, listPath);
      await until(() => w.ended());
      expect((w.error() as { statusCode?: number }).statusCode).toBe(500);
      api.clearFaults();
      expect(((await servers()) as List).items).toHaveLength(1);
    });

    test('drop mid-list: part of the body arrives, then the socket breaks; the client call rejects', async () => {
      api.load(['a', 'b', 'c', 'd'].map((n) => vpc(n)));
      api.injectFault({ type: 'drop', afterItems: 2, times: 1 });
      const raw = await rawGetPartial(`${api.url}${listPath}`);
      expect(raw.broken).toBe(true);
      expect(raw.body).toContain('"name":"b"');
      expect(raw.body).not.toContain('"name":"c"');
      api.injectFault({ type: 'drop', times: 1 });
      await expect(listAll()).rejects.toThrow();
      expect((await listAll()).items).toHaveLength(4);
    });

    test('drop mid-watch after N events: the client gets N events and then an error', async () => {
      api.load(['a', 'b', 'c'].map((n) => vpc(n)));
      api.injectFault({ type: 'drop', afterItems: 2, match: { watch: true }, times: 1 });
      const w = await watch(kc, listPath);
      await until(() => w.ended());
      expect(w.names()).toEqual(['a', 'b']);
      expect(w.error()).toBeTruthy();
      await until(() => api.watchCount() === 0);
    });

    test('delay holds the reply back', async () => {
      api.injectFault({ type: 'delay', ms: 300, times: 1 });
      const t0 = Date.now();
      await listAll();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    });

    test('malformed: an invalid JSON list body makes the client reject; a garbage watch line is skipped by Watch', async () => {
      api.create(vpc('a'));
      api.injectFault({ type: 'malformed', match: { watch: false }, times: 1 });
      const raw = await rawGet(`${api.url}${listPath}`);
      expect(raw.status).toBe(200);
      expect(() => JSON.parse(raw.body)).toThrow();
      api.injectFault({ type: 'malformed', match: { watch: false }, times: 1 });
      await expect(listAll()).rejects.toThrow(SyntaxError);

      api.injectFault({ type: 'malformed', match: { watch: true }, times: 1 });
      const rawWatch = await rawGetPartial(`${api.url}${listPath}?watch=1&timeoutSeconds=1`);
      const lines = rawWatch.body.trim().split('\n');
      expect(() => JSON.parse(lines[0]!)).toThrow();
      expect(JSON.parse(lines[1]!)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'a' } } });
      api.injectFault({ type: 'malformed', match: { watch: true }, times: 1 });
      const w = await watch(kc, listPath);
      await until(() => w.events.length === 1);
      expect(w.names('ADDED')).toEqual(['a']);
      w.abort();
    });
  });

  describe('HTTP edges', () => {
    test('every error is a JSON Status: unknown paths, wrong methods, cluster path of a namespaced object', async () => {
      expectStatusBody(await rawGet(`${api.url}/nope`), 404, 'NotFound');
      expectStatusBody(await rawGet(`${api.url}/apis/unknown.group/v1`), 404, 'NotFound');
      expectStatusBody(await rawGet(`${api.url}/apis/${VPC_GROUP}/v9/vpcs`), 404, 'NotFound');
      expectStatusBody(await rawGet(`${api.url}/apis/${VPC_GROUP}/${V}/vpcs/name-without-namespace`), 404, 'NotFound');
      const post = await fetch(`${api.url}/apis/${VPC_GROUP}/${V}/namespaces/default/vpcs`, {
        method: 'POST',
        body: '{}',
      });
      expectStatusBody(
        { status: post.status, type: post.headers.get('content-type')!, body: await post.text() },
        405,
        'MethodNotAllowed',
      );
    });

    test('a watch stream is chunked application/json, one JSON object per line', async () => {
      api.create(vpc('a'));
      const r = await rawGet(`${api.url}/apis/${VPC_GROUP}/${V}/vpcs?watch=true&timeoutSeconds=1`);
      expect(r.status).toBe(200);
      expect(r.type).toBe('application/json');
      expect(r.headers['transfer-encoding']).toBe('chunked');
      const lines = r.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toEqual([{ type: 'ADDED', object: api.get('VPC', 'default', 'a') }]);
    });

    test('stop() ends open watches and closes the port', async () => {
      const other = new FakeKubeApi();
      const url = await other.start();
      const w = await watch(other.kubeConfig(), `/apis/${VPC_GROUP}/${V}/vpcs`);
      await until(() => other.watchCount() === 1);
      other.injectFault({ type: 'delay', ms: 60_000 });
      const pending = rawGet(`${url}/apis`).then(
        () => 'answered',
        () => 'broken',
      );
      await until(() => other.requests.length === 2);
      await other.stop();
      await until(() => w.ended());
      expect(await pending).toBe('broken');
      expect(other.watchCount()).toBe(0);
      await expect(fetch(`${url}/apis`)).rejects.toThrow();
      await other.stop(); // idempotent
    });
  });
});
