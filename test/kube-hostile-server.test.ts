/**
 * Nothing hangs: every request to the API server (discovery, CRD reads, lists, the watch's initial list) has a
 * timeout that holds with or without a caller's AbortSignal. A server that accepts the connection and never
 * answers — or answers later than the timeout — fails that kind after its retries; the run ends and releases the
 * fabric lock. Servers here are closed (sockets destroyed) in afterEach/afterAll so Jest never waits on them.
 */
import 'reflect-metadata';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { MikroORM } from '@mikro-orm/postgresql';
import { kubeConfigFor } from './helpers/kube-config.js';
import { kindInfo } from '../src/kube/catalog.js';
import { ClusterReader, type ClusterReaderOptions } from '../src/kube/cluster-reader.js';
import { ClusterInformer, type WatchRestart } from '../src/kube/cluster-informer.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { silentServer } from './helpers/silent-server.js';
import { ManualClock } from './helpers/manual-clock.js';

const VPC = kindInfo('VPC')!;
const FAST: ClusterReaderOptions = { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 1, requestTimeoutMs: 150 };

describe('a server that accepts the connection and never answers', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  beforeEach(async () => {
    silent = await silentServer();
  });
  afterEach(async () => {
    await silent.close();
  });

  test.each([
    ['without a caller signal', undefined],
    ['with a caller signal (the combination must keep the timeout)', new AbortController().signal],
  ])('list, discovery and CRD reads time out and fail, %s', async (_label, signal) => {
    // A reader each: after one request got no answer, the same reader gives the next ones a single attempt.
    const fresh = () => new ClusterReader(kubeConfigFor(silent.url), { ...FAST, signal });
    const started = Date.now();
    const list = await fresh().listKind(VPC);
    expect(list.complete).toBe(false);
    expect(list.failure).toBe(
      'list vpcs.vpc.githedgehog.com failed after 2 attempts: RequestTimeoutError: no complete answer within 150 ms',
    );
    const discovery = await fresh().discover([VPC]);
    expect(discovery.served).toEqual([]);
    expect(discovery.failed).toEqual([
      {
        kind: 'VPC',
        reason: expect.stringMatching(
          /discover vpc\.githedgehog\.com\/v1beta1 failed after 2 attempts: .*no complete answer within 150 ms/,
        ),
      },
    ]);
    await expect(fresh().readCrds()).rejects.toThrow(/no complete answer within 150 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(silent.accepted()).toBeGreaterThanOrEqual(6);
  });

  test('the timeout survives garbage collection while a caller signal is also passed', async () => {
    // What hung `hh-sync sync` for ever: AbortSignal.any([caller, AbortSignal.timeout()]) was collected mid-request
    // on Node 20, and its timeout with it. Collect garbage while the request waits; the list must still end.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const reader = new ClusterReader(kubeConfigFor(silent.url), {
      ...FAST,
      maxRetries: 0,
      requestTimeoutMs: 300,
      signal: new AbortController().signal,
    });
    const collector = setInterval(gc, 20);
    let guard: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        reader.listKind(VPC).then((r) => r.failure),
        new Promise<string>(
          (resolve) => (guard = setTimeout(() => resolve('still waiting after 5 s: the timeout was lost'), 5000)),
        ),
      ]);
      expect(outcome).toBe(
        'list vpcs.vpc.githedgehog.com failed: RequestTimeoutError: no complete answer within 300 ms',
      );
    } finally {
      clearInterval(collector);
      clearTimeout(guard);
    }
  });

  test('the default timeout (30 s) is armed for every request even when a caller signal is passed, and the caller can still abort', async () => {
    // The reader's timers run on an injected clock: the test sees the 30 s timer armed without waiting 30 s.
    const clock = new ManualClock();
    const caller = new AbortController();
    const reader = new ClusterReader(kubeConfigFor(silent.url), { signal: caller.signal, clock });
    const pending = reader.listKind(VPC);
    await clock.whenTimer((ms) => ms === 30_000);
    expect(clock.pendingDelays()).toContain(30_000);
    caller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(clock.pendingDelays()).toEqual([]); // the aborted attempt left no timer behind
  });

  test('the default 30 s timeout ends a request the server never answers (30 s passing on the injected clock)', async () => {
    const clock = new ManualClock();
    const reader = new ClusterReader(kubeConfigFor(silent.url), { maxRetries: 0, clock });
    const pending = reader.listKind(VPC).then((r) => r.failure);
    await clock.whenTimer((ms) => ms === 30_000);
    clock.advance(30_000);
    expect(await pending).toBe(
      'list vpcs.vpc.githedgehog.com failed: RequestTimeoutError: no complete answer within 30000 ms',
    );
  });

  test("the watch's initial list times out too: start() returns and the kind is retried, not hung", async () => {
    const restarts: WatchRestart[] = [];
    const w = new ClusterInformer(kubeConfigFor(silent.url), [VPC], {
      list: { maxRetries: 0, requestTimeoutMs: 150 },
      backoff: { baseMs: 60_000, maxMs: 60_000 },
    });
    w.on('restart', (r: WatchRestart) => restarts.push(r));
    await w.start();
    await w.stop();
    expect(restarts[0]?.reason).toMatch(
      /relist failed: list vpcs\.vpc\.githedgehog\.com failed: RequestTimeoutError: no complete answer within 150 ms/,
    );
  });
});

describe('fake API hang and delay faults in a full actual run', () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let api: FakeKubeApi;
  let seq = 0;
  beforeAll(async () => {
    db = await createTestDatabase();
    orm = db.orm;
    api = new FakeKubeApi();
    api.load([...vpcs(3), obj('Server', 'srv-1')]);
    await api.start();
  });
  afterAll(async () => {
    await api.stop();
    await db.close();
  });
  afterEach(() => api.clearFaults());

  const service = () =>
    new FabricSyncService(orm.em, {
      kubeConfigFor: () => api.kubeConfig(),
      reader: FAST,
      lockTimeoutMs: 20_000,
    });

  test.each([
    ['never answers', { type: 'hang' as const }],
    ['sends headers and never finishes the body', { type: 'hang' as const, afterHeaders: true }],
    ['answers later than the timeout', { type: 'delay' as const, ms: 600 }],
  ])('a list that %s fails that kind; the run ends partial; the lock is free at once', async (_label, fault) => {
    const fabric = await new FabricRegistry(orm.em).create(`hostile-${++seq}`);
    const svc = service();
    api.injectFault({ ...fault, match: { plural: 'vpcs', watch: false } });
    const r = await svc.syncActualState(fabric, { signal: new AbortController().signal });
    expect(r.status).toBe('partial');
    expect(r.details.failedKinds).toEqual([
      {
        kind: 'VPC',
        reason:
          'list vpcs.vpc.githedgehog.com failed after 2 attempts: RequestTimeoutError: no complete answer within 150 ms',
      },
    ]);
    expect(r.counts.listed).toBe(1);

    // The first run released the fabric lock: a second run right after does not wait for it. Its reader has an
    // ordinary timeout: at 150 ms, a loaded machine (CI runs the lint beside the tests) could fail a kind by itself.
    api.clearFaults();
    const started = Date.now();
    const next = await new FabricSyncService(orm.em, {
      kubeConfigFor: () => api.kubeConfig(),
      reader: { ...FAST, requestTimeoutMs: 10_000 },
      lockTimeoutMs: 20_000,
    }).syncActualState(fabric);
    expect(next.details.failedKinds ?? []).toEqual([]);
    expect(next.status).toBe('completed');
    expect(next.counts.listed).toBe(4);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  test('a reply slower than the timeout once is abandoned and retried: the run completes', async () => {
    const fabric = await new FabricRegistry(orm.em).create(`hostile-${++seq}`);
    api.injectFault({ type: 'delay', ms: 600, times: 1, match: { plural: 'vpcs', watch: false } });
    const r = await service().syncActualState(fabric);
    expect(r.status).toBe('completed');
    expect(r.counts.listed).toBe(4);
  });
});
