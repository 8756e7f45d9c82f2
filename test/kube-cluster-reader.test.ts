/**
 * ClusterReader against the project's fake API server, through the real @kubernetes/client-node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FakeKubeApi } from '../src/testing/fake-kube-api.js';
import { FABRIC_KINDS, kindInfo } from '../src/kube/catalog.js';
import { ClusterReader, KubeAuthError, type ClusterReaderOptions, type RetryInfo } from '../src/kube/cluster-reader.js';
import { names, obj, vpcs } from './helpers/kube-objects.js';
import { ManualClock } from './helpers/manual-clock.js';

const VPC = kindInfo('VPC')!;
const SERVER = kindInfo('Server')!;
const FAST: ClusterReaderOptions = { baseDelayMs: 10, maxDelayMs: 50, maxRetries: 3, requestTimeoutMs: 5000 };

let fake: FakeKubeApi;

afterEach(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (fake as FakeKubeApi | undefined)?.stop();
});

async function startFake(opts: ConstructorParameters<typeof FakeKubeApi>[0] = {}, objects: object[] = []) {
  fake = new FakeKubeApi(opts);
  await fake.start();
  fake.load(objects);
  return fake;
}

function reader(opts: ClusterReaderOptions = {}, kcOpts: { token?: string } = {}) {
  return new ClusterReader(fake.kubeConfig(kcOpts), { ...FAST, ...opts });
}

function listRequests(plural: string) {
  return fake.requests.filter((r) => r.path.endsWith(`/${plural}`) && r.query.watch === undefined);
}

describe('discover', () => {
  test('a kind the cluster does not serve is skipped and named; the rest are served', async () => {
    const served = FABRIC_KINDS.filter((k) => k.kind !== 'ExternalPeering' && k.kind !== 'SwitchGroup');
    await startFake({ kinds: served });
    const d = await reader().discover();
    expect(d.served.map((k) => k.kind)).toEqual(served.map((k) => k.kind));
    expect(d.skipped.map((s) => s.kind).sort()).toEqual(['ExternalPeering', 'SwitchGroup']);
    const ep = d.skipped.find((s) => s.kind === 'ExternalPeering')!;
    expect(ep.reason).toContain('externalpeerings');
    expect(ep.reason).toContain('vpc.githedgehog.com/v1beta1');
  });

  test('a whole group missing (404) skips all its kinds with the reason', async () => {
    await startFake({ kinds: FABRIC_KINDS.filter((k) => k.group === 'wiring.githedgehog.com') });
    const d = await reader().discover();
    expect(d.served.every((k) => k.group === 'wiring.githedgehog.com')).toBe(true);
    expect(d.skipped).toHaveLength(7);
    for (const s of d.skipped) expect(s.reason).toMatch(/does not serve vpc\.githedgehog\.com\/v1beta1 \(404/);
  });

  test('discovery retries a 503, and 401 throws KubeAuthError naming the context', async () => {
    await startFake({ token: 'good' });
    fake.injectFault({ type: 'status', code: 503, times: 1, match: { path: /^\/apis\/vpc/ } });
    const ok = await reader({}, { token: 'good' }).discover();
    expect(ok.served).toHaveLength(14);
    await expect(reader({}, { token: 'bad' }).discover()).rejects.toThrow(/context "fake" \(401/);
  });
});

describe('listKind', () => {
  test('lists every object of a kind with its fields, pages by limit', async () => {
    await startFake({}, [
      ...vpcs(7),
      obj(
        'VPC',
        'labelled',
        'team-a',
        { subnets: { a: { vlan: 1 } } },
        { metadata: { labels: { role: 'x' }, annotations: { note: 'y' } }, status: { ok: true } },
      ),
      obj('Server', 'srv-1'),
    ]);
    const pages: number[] = [];
    const r = await reader({ pageSize: 3, onPage: (_k, n) => pages.push(n) }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(r.errors).toEqual([]);
    expect(r.observations).toHaveLength(8);
    expect(pages).toEqual([3, 3, 2]);
    expect(r.pages).toBe(3);
    expect(r.resourceVersion).toBe(fake.resourceVersion);
    expect(r.namespaces).toBeNull();
    const l = r.observations.find((o) => o.name === 'labelled')!;
    const stored = fake.get('VPC', 'team-a', 'labelled')!;
    expect(l).toEqual({
      kind: 'VPC',
      apiVersion: 'vpc.githedgehog.com/v1beta1',
      namespace: 'team-a',
      name: 'labelled',
      spec: { subnets: { a: { vlan: 1 } } },
      status: { ok: true },
      labels: { role: 'x' },
      annotations: { note: 'y' },
      uid: stored.metadata.uid,
      resourceVersion: stored.metadata.resourceVersion,
    });
    // Requests really were paged with limit + continue.
    const reqs = listRequests('vpcs');
    expect(reqs.map((q) => q.query.limit)).toEqual(['3', '3', '3']);
    expect(reqs[0]!.query.continue).toBeUndefined();
    expect(reqs[1]!.query.continue).toBeTruthy();
  });

  test('a continue token expiring mid-way restarts the kind from scratch: complete, no duplicates, none missing', async () => {
    await startFake({}, vpcs(250));
    let pagesSeen = 0;
    let expired = false;
    const r = await reader({
      pageSize: 20,
      onPage: () => {
        pagesSeen++;
        if (pagesSeen === 5 && !expired) {
          expired = true;
          fake.expireContinueTokens();
        }
      },
    }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(r.restarts).toBe(1);
    expect(r.observations).toHaveLength(250);
    expect(new Set(names(r.observations)).size).toBe(250);
    expect(names(r.observations)).toEqual(
      names(fake.list('VPC').map((o) => o.metadata as { namespace: string; name: string })),
    );
    // The restart began without a continue token.
    const reqs = listRequests('vpcs');
    expect(reqs.filter((q) => q.status === 410)).toHaveLength(1);
    const after410 = reqs.findIndex((q) => q.status === 410) + 1;
    expect(reqs[after410]!.query.continue).toBeUndefined();
    expect(r.pages).toBe(5 + 13);
  });

  test('continue tokens expiring on every page give up after maxRestarts: complete false, no observations', async () => {
    await startFake({}, vpcs(30));
    const r = await reader({ pageSize: 10, maxRestarts: 2, onPage: () => fake.expireContinueTokens() }).listKind(VPC);
    expect(r.complete).toBe(false);
    expect(r.observations).toEqual([]);
    expect(r.restarts).toBe(3);
    expect(r.failure).toMatch(/continue token expired 3 times/);
  });

  test.each([500, 503, 504] as const)('a %s is retried with backoff, then the list completes', async (code) => {
    await startFake({}, vpcs(12));
    fake.injectFault({ type: 'status', code, times: 2, match: { plural: 'vpcs' } });
    const retries: RetryInfo[] = [];
    const r = await reader({ pageSize: 5, onRetry: (i) => retries.push(i) }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(r.observations).toHaveLength(12);
    expect(retries.map((x) => x.attempt)).toEqual([1, 2]);
    expect(retries[0]!.error).toContain(`HTTP ${code}`);
    expect(listRequests('vpcs').filter((q) => q.status === code)).toHaveLength(2);
  });

  test('a 429 waits what Retry-After asks, then succeeds', async () => {
    await startFake({}, vpcs(4));
    fake.injectFault({ type: 'status', code: 429, retryAfterSeconds: 1, times: 1, match: { plural: 'vpcs' } });
    const retries: RetryInfo[] = [];
    // The reader waits on an injected clock: the test moves it, instead of waiting the real second.
    const clock = new ManualClock();
    const t0 = clock.now();
    const listing = reader({ onRetry: (i) => retries.push(i), clock }).listKind(VPC);
    await clock.whenTimer((ms) => ms === 1000);
    clock.advance(999);
    expect(listRequests('vpcs')).toHaveLength(1); // no retry before the second is over
    clock.advance(1);
    const r = await listing;
    const elapsed = clock.now() - t0;
    expect(r.complete).toBe(true);
    expect(r.observations).toHaveLength(4);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.delayMs).toBe(1000); // the server's choice, not the 10 ms backoff
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(listRequests('vpcs')).toHaveLength(2);
  });

  test('a Retry-After on any retryable answer (here a 500) is honoured, capped by maxRetryAfterMs', async () => {
    await startFake({}, vpcs(1));
    fake.injectFault({ type: 'status', code: 500, retryAfterSeconds: 3600, times: 1, match: { plural: 'vpcs' } });
    const retries: RetryInfo[] = [];
    const r = await reader({ maxRetryAfterMs: 20, onRetry: (i) => retries.push(i) }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(retries[0]!.delayMs).toBe(20);
  });

  test('401 throws KubeAuthError with a clear message and no token in it', async () => {
    await startFake({ token: 's3cret-token' }, vpcs(2));
    const err = await reader({}, { token: 'wrong-token' })
      .listKind(VPC)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeAuthError);
    expect((err as KubeAuthError).status).toBe(401);
    expect((err as Error).message).toBe(
      'the API server rejected the credentials of context "fake" (401 Unauthorized) while trying to list vpcs.vpc.githedgehog.com: check the kubeconfig/token',
    );
    expect((err as Error).message).not.toMatch(/s3cret|wrong-token/);
    // Not retried: one request.
    expect(listRequests('vpcs')).toHaveLength(1);
    // With the right token the same read works.
    expect((await reader({}, { token: 's3cret-token' }).listKind(VPC)).complete).toBe(true);
  });

  test('403 (RBAC) fails that kind only: complete false, the missing grant named, not retried', async () => {
    await startFake({}, vpcs(2));
    fake.injectFault({ type: 'status', code: 403, match: { plural: 'vpcs' } });
    const r = await reader().listKind(VPC);
    expect(r.complete).toBe(false);
    expect(r.failure).toBe(
      'forbidden: cannot list vpcs.vpc.githedgehog.com in all namespaces (RBAC: grant "list" on "vpcs" in API group "vpc.githedgehog.com")',
    );
    expect(listRequests('vpcs')).toHaveLength(1);
  });

  test('500 beyond the retries → complete false, a failure, and no observations at all', async () => {
    await startFake({}, vpcs(30));
    // The first page succeeds, every later request fails: a half-read kind must not leak out.
    let page = 0;
    const r = await reader({
      pageSize: 10,
      maxRetries: 2,
      onPage: () => {
        if (++page === 1) fake.injectFault({ type: 'status', code: 500, match: { plural: 'vpcs' } });
      },
    }).listKind(VPC);
    expect(r.complete).toBe(false);
    expect(r.observations).toEqual([]);
    expect(r.failure).toMatch(/list vpcs\.vpc\.githedgehog\.com failed after 3 attempts: HTTP 500/);
    expect(listRequests('vpcs').filter((q) => q.status === 500)).toHaveLength(3);
  });

  test('a kind that fails does not affect another kind listed by the same reader', async () => {
    await startFake({}, [...vpcs(3), obj('Server', 's1'), obj('Server', 's2')]);
    fake.injectFault({ type: 'status', code: 500, match: { plural: 'vpcs' } });
    const [v, s] = await reader({ maxRetries: 1 }).listKinds([VPC, SERVER]);
    expect(v!.complete).toBe(false);
    expect(s!.complete).toBe(true);
    expect(names(s!.observations)).toEqual(['default/s1', 'default/s2']);
  });

  test('a socket dropped mid-list is retried and the list completes without duplicates', async () => {
    await startFake({}, vpcs(60));
    fake.injectFault({ type: 'drop', afterItems: 7, times: 2, match: { plural: 'vpcs' } });
    const retries: RetryInfo[] = [];
    const r = await reader({ pageSize: 25, onRetry: (i) => retries.push(i) }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(r.observations).toHaveLength(60);
    expect(new Set(names(r.observations)).size).toBe(60);
    expect(retries).toHaveLength(2);
  });

  test('a malformed (non-JSON) body is retried like a network error', async () => {
    await startFake({}, vpcs(5));
    fake.injectFault({ type: 'malformed', times: 1, match: { plural: 'vpcs' } });
    const retries: RetryInfo[] = [];
    const r = await reader({ onRetry: (i) => retries.push(i) }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(r.observations).toHaveLength(5);
    expect(retries).toHaveLength(1);
  });

  test('a slow reply beyond requestTimeoutMs is abandoned and retried', async () => {
    await startFake({}, vpcs(3));
    fake.injectFault({ type: 'delay', ms: 400, times: 1, match: { plural: 'vpcs' } });
    const retries: RetryInfo[] = [];
    const r = await reader({ requestTimeoutMs: 100, onRetry: (i) => retries.push(i) }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(r.observations).toHaveLength(3);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.error).toMatch(/no complete answer within 100 ms/);
  });

  test('a kind the server does not serve (404) fails at once, unretried', async () => {
    await startFake({ kinds: [VPC] });
    const r = await reader().listKind(SERVER);
    expect(r.complete).toBe(false);
    expect(r.failure).toMatch(/does not serve servers\.wiring\.githedgehog\.com \(404\)/);
    expect(listRequests('servers')).toHaveLength(1);
  });

  test('an aborted signal rejects the list with an AbortError', async () => {
    await startFake({}, vpcs(3));
    fake.injectFault({ type: 'delay', ms: 2000, match: { plural: 'vpcs' } });
    const ac = new AbortController();
    const p = reader({ signal: ac.signal }).listKind(VPC);
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('namespace restriction lists only those namespaces, each through its namespaced path', async () => {
    await startFake({}, [...vpcs(3, 'alpha'), ...vpcs(4, 'beta'), ...vpcs(5, 'gamma')]);
    const r = await reader({ namespaces: ['alpha', 'gamma'], pageSize: 2 }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(r.namespaces).toEqual(['alpha', 'gamma']);
    expect(r.observations).toHaveLength(8);
    expect(new Set(r.observations.map((o) => o.namespace))).toEqual(new Set(['alpha', 'gamma']));
    const paths = new Set(listRequests('vpcs').map((q) => q.path));
    expect(paths).toEqual(
      new Set([
        '/apis/vpc.githedgehog.com/v1beta1/namespaces/alpha/vpcs',
        '/apis/vpc.githedgehog.com/v1beta1/namespaces/gamma/vpcs',
      ]),
    );
    expect(r.resourceVersion).toBeUndefined(); // two snapshots: no single resourceVersion
  });

  test('malformed objects of many kinds are each reported with kind, namespace, name, reason; valid ones are kept', async () => {
    const bad = [
      obj('VPC', 'Bad_Name'),
      obj('VPC', 'UPPER'),
      obj('VPC', `x${'a'.repeat(253)}`),
      obj('VPC', 'bad-ns', 'Not_A_Namespace'),
      obj('VPC', 'long-ns', 'n'.repeat(64)),
      obj('VPC', 'spec-string', 'default', 'just a string'),
      obj('VPC', 'spec-array', 'default', [1, 2]),
      obj('VPC', 'spec-number', 'default', 42),
      obj('VPC', 'status-string', 'default', {}, { status: 'broken' }),
      obj('VPC', 'label-number', 'default', {}, { metadata: { labels: { vlan: 1000 } } }),
      obj('VPC', 'annotations-list', 'default', {}, { metadata: { annotations: ['a'] } }),
      obj('VPC', 'huge', 'default', { blob: 'x'.repeat(20_000) }),
    ];
    const good = [
      ...vpcs(5),
      { apiVersion: VPC.apiVersion, kind: 'VPC', metadata: { name: 'no-spec', namespace: 'default' } },
      obj('VPC', 'dotted.name-1', 'ns-2'),
    ];
    await startFake({}, [...good.slice(0, 3), ...bad, ...good.slice(3)]);
    const r = await reader({ maxObjectBytes: 10_000, pageSize: 4 }).listKind(VPC);
    expect(r.complete).toBe(true);
    expect(names(r.observations)).toEqual(names(good.map((g) => g.metadata)));
    expect(r.observations.find((o) => o.name === 'no-spec')!.spec).toEqual({});
    expect(r.errors).toHaveLength(bad.length);
    const reasonOf = (name: string) => r.errors.find((e) => e.name === name)?.reason;
    expect(r.errors.every((e) => e.kind === 'VPC')).toBe(true);
    expect(reasonOf('Bad_Name')).toMatch(/metadata\.name "Bad_Name" is not a valid DNS-1123 subdomain/);
    expect(reasonOf('UPPER')).toMatch(/DNS-1123/);
    expect(r.errors.find((e) => e.name?.startsWith('xaaa'))!.reason).toMatch(/254 characters long, over 253/);
    expect(r.errors.find((e) => e.name === 'bad-ns')).toMatchObject({
      namespace: 'Not_A_Namespace',
      reason: expect.stringMatching(/DNS-1123 label/),
    });
    expect(reasonOf('long-ns')).toMatch(/metadata\.namespace is 64 characters long, over 63/);
    expect(reasonOf('spec-string')).toBe('spec is a string, not an object');
    expect(reasonOf('spec-array')).toBe('spec is an array, not an object');
    expect(reasonOf('spec-number')).toBe('spec is a number, not an object');
    expect(reasonOf('status-string')).toBe('status is a string, not an object');
    expect(reasonOf('label-number')).toMatch(/metadata\.labels has a non-string value \("vlan"\)/);
    expect(reasonOf('annotations-list')).toMatch(/metadata\.annotations is an array/);
    expect(reasonOf('huge')).toMatch(/bytes serialized, over the limit of 10000 bytes/);
    for (const e of r.errors) expect(e.namespace).toBeDefined();
  });
});

describe('readCrds', () => {
  const crdDir = path.resolve(process.cwd(), '../shared/hedgehog-crds');
  const haveCrds = fs.existsSync(crdDir);

  test('no CRD endpoint (404) → []', async () => {
    await startFake();
    expect(await reader().readCrds()).toEqual([]);
  });

  test('403 throws, naming the missing grant (a fabric reader may lack cluster-wide RBAC; never taken for "no CRDs")', async () => {
    await startFake({ crds: [] });
    fake.injectFault({ type: 'status', code: 403, match: { path: /customresourcedefinitions/ } });
    await expect(reader().readCrds()).rejects.toThrow(
      /^forbidden: cannot list customresourcedefinitions\.apiextensions\.k8s\.io .*grant "list" on "customresourcedefinitions"/,
    );
  });

  test('returns only the CRDs of the fabric groups', async () => {
    const crd = (group: string, plural: string) => ({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `${plural}.${group}` },
      spec: { group, names: { plural, kind: plural }, scope: 'Namespaced', versions: [] },
    });
    await startFake({
      crds: [
        crd('vpc.githedgehog.com', 'vpcs'),
        crd('example.com', 'widgets'),
        crd('wiring.githedgehog.com', 'switches'),
      ],
    });
    const crds = (await reader().readCrds()) as { metadata: { name: string } }[];
    expect(crds.map((c) => c.metadata.name).sort()).toEqual([
      'switches.wiring.githedgehog.com',
      'vpcs.vpc.githedgehog.com',
    ]);
  });

  // ../shared is present on developer machines and CI; elsewhere these cases are simply not defined.
  if (haveCrds) {
    test('with the real Hedgehog CRDs: all fourteen are read back and discovered', async () => {
      const crds = fs
        .readdirSync(crdDir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => parseYaml(fs.readFileSync(path.join(crdDir, f), 'utf8')) as object);
      await startFake({ crds });
      const got = await reader().readCrds();
      expect(got).toHaveLength(14);
      const d = await reader().discover();
      expect(d.served).toHaveLength(14);
    });
  }
});
