/**
 * ClusterInformer against the project's fake API server, through the real client-node Watch.
 * A small "mirror" plays the consumer (the writer): it replaces a kind on 'relist' and applies
 * 'batch'es; each scenario ends by comparing the mirror with the server's objects.
 */
import { FakeKubeApi } from '../src/testing/fake-kube-api.js';
import { kindInfo } from '../src/kube/catalog.js';
import {
  ClusterInformer,
  type ClusterInformerOptions,
  type WatchEventBatch,
  type WatchRestart,
} from '../src/kube/cluster-informer.js';
import type { KindListResult } from '../src/kube/cluster-reader.js';
import { KubeAuthError } from '../src/kube/kube-errors.js';
import type { ActualObservation } from '../src/observations.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { ManualClock } from './helpers/manual-clock.js';

const VPC = kindInfo('VPC')!;
const SERVER = kindInfo('Server')!;

let fake: FakeKubeApi;
let watcher: ClusterInformer | undefined;

afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (fake as FakeKubeApi | undefined)?.stop();
});

/** The consumer: what the ledger would hold, fed only by the watcher's events. */
class Mirror {
  readonly state = new Map<string, ActualObservation>();
  readonly batches: WatchEventBatch[] = [];
  readonly relists: KindListResult[] = [];
  readonly restarts: WatchRestart[] = [];
  readonly errors: Error[] = [];

  constructor(w: ClusterInformer) {
    w.on('relist', (r: KindListResult) => {
      this.relists.push(r);
      for (const [k, o] of this.state) {
        if (o.kind === r.kind.kind && (r.namespaces === null || r.namespaces.includes(o.namespace)))
          this.state.delete(k);
      }
      for (const o of r.observations) this.state.set(`${o.kind}/${o.namespace}/${o.name}`, o);
    });
    w.on('batch', (b: WatchEventBatch) => {
      this.batches.push(b);
      for (const o of b.upserts) this.state.set(`${o.kind}/${o.namespace}/${o.name}`, o);
      for (const d of b.deletes) this.state.delete(`${b.kind.kind}/${d.namespace}/${d.name}`);
    });
    w.on('restart', (r: WatchRestart) => this.restarts.push(r));
    w.on('error', (e: Error) => this.errors.push(e));
  }

  /** kind/ns/name → resourceVersion, for comparing with the server. */
  view(kind?: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, o] of this.state) if (!kind || o.kind === kind) out[k] = `${o.uid}@${o.resourceVersion}`;
    return out;
  }
}

function serverView(kind: string, namespaces?: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of fake.list(kind)) {
    const m = o.metadata as { namespace: string; name: string; uid: string; resourceVersion: string };
    if (namespaces && !namespaces.includes(m.namespace)) continue;
    out[`${kind}/${m.namespace}/${m.name}`] = `${m.uid}@${m.resourceVersion}`;
  }
  return out;
}

async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Count of each kind of active handle (ref'd timers, sockets, servers). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/**
 * The handles once the sockets of earlier tests (closed asynchronously) are gone. Jest runs several test files
 * in one worker process, and a socket another file left behind is not this test's: after a bounded wait, what
 * is still open is the baseline, and only handles beyond it count as this test's leaks.
 */
async function quietBaseline(): Promise<Record<string, number>> {
  await waitFor(() => !handles().TCPSocketWrap && !handles().TCPServerWrap, 3000, 'earlier sockets closed').catch(
    () => undefined,
  );
  return handles();
}

/** Handle kinds of which more are open now than in `baseline`. */
function extraHandles(baseline: Record<string, number>): string[] {
  return Object.entries(handles())
    .filter(([k, n]) => n > (baseline[k] ?? 0))
    .map(([k, n]) => `${k}×${n - (baseline[k] ?? 0)}`);
}

async function setup(objects: object[] = [], opts: ClusterInformerOptions = {}, kinds = [VPC, SERVER], fakeOpts = {}) {
  fake = new FakeKubeApi(fakeOpts);
  await fake.start();
  fake.load(objects);
  watcher = new ClusterInformer(fake.kubeConfig(), kinds, {
    flushIntervalMs: 30,
    stallTimeoutMs: 10_000,
    backoff: { baseMs: 10, maxMs: 100 },
    list: { baseDelayMs: 10, maxRetries: 2 },
    ...opts,
  });
  const mirror = new Mirror(watcher);
  await watcher.start();
  // start() resolves after the lists; wait for the watches to be open before changing things.
  await waitFor(() => fake.watchCount() === kinds.length * (opts.namespaces?.length || 1), 5000, 'watches open');
  return { w: watcher, mirror };
}

const watchRequests = (plural: string) =>
  fake.requests.filter((r) => r.path.endsWith(`/${plural}`) && r.query.watch !== undefined);

test('start lists every kind (relist), then ADDED/MODIFIED/DELETED arrive in a batch within a second', async () => {
  const { w, mirror } = await setup([...vpcs(3), obj('Server', 's1')]);
  expect(mirror.relists.map((r) => [r.kind.kind, r.complete, r.observations.length])).toEqual([
    ['VPC', true, 3],
    ['Server', true, 1],
  ]);
  // The watch resumes exactly from the list's resourceVersion, with bookmarks.
  const wr = watchRequests('vpcs')[0]!;
  expect(wr.query.resourceVersion).toBe(mirror.relists[0]!.resourceVersion);
  expect(wr.query.allowWatchBookmarks).toBe('true');

  const t0 = Date.now();
  fake.create(obj('VPC', 'new-one', 'default', { vlan: 7 }));
  fake.update({ ...fake.get('VPC', 'default', 'vpc-00000')!, spec: { vlan: 9999 } });
  fake.delete('VPC', 'default', 'vpc-00001');
  fake.delete('Server', 'default', 's1');
  await waitFor(
    () =>
      mirror.view('VPC')['VPC/default/new-one'] !== undefined &&
      !mirror.view()['VPC/default/vpc-00001'] &&
      !mirror.view()['Server/default/s1'],
    1000,
    'events applied',
  );
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(mirror.state.get('VPC/default/vpc-00000')!.spec).toEqual({ vlan: 9999 });
  expect(mirror.view('VPC')).toEqual(serverView('VPC'));
  expect(mirror.view('Server')).toEqual(serverView('Server'));
  expect(w.stats().events).toBe(4);
  expect(w.stats().lastEventAt.VPC).toBeGreaterThanOrEqual(t0);
  expect(mirror.restarts).toEqual([]);
});

test('events of one object within a batch are coalesced; delete-then-recreate keeps the new incarnation', async () => {
  const { mirror } = await setup(vpcs(2), { flushIntervalMs: 400 });
  const before = fake.get('VPC', 'default', 'vpc-00000')!;
  // All of these land before the first flush.
  fake.create(obj('VPC', 'short-lived'));
  for (let i = 0; i < 5; i++) fake.update({ ...fake.get('VPC', 'default', 'short-lived')!, spec: { i } });
  fake.delete('VPC', 'default', 'short-lived');
  fake.delete('VPC', 'default', 'vpc-00000');
  fake.create(obj('VPC', 'vpc-00000', 'default', { again: true }));
  for (let i = 0; i < 3; i++) fake.update({ ...fake.get('VPC', 'default', 'vpc-00001')!, spec: { i } });
  await waitFor(() => mirror.batches.length > 0, 2000, 'a batch');
  expect(mirror.batches).toHaveLength(1);
  const b = mirror.batches[0]!;
  expect(b.kind.kind).toBe('VPC');
  expect(b.deletes).toEqual([{ namespace: 'default', name: 'short-lived' }]);
  expect(b.upserts.map((u) => u.name).sort()).toEqual(['vpc-00000', 'vpc-00001']);
  const recreated = b.upserts.find((u) => u.name === 'vpc-00000')!;
  expect(recreated.uid).not.toBe(before.metadata.uid);
  expect(recreated.spec).toEqual({ again: true });
  expect(b.upserts.find((u) => u.name === 'vpc-00001')!.spec).toEqual({ i: 2 });
  expect(mirror.view('VPC')).toEqual(serverView('VPC'));
});

test('maxBatch flushes at once without waiting for the interval', async () => {
  const { mirror } = await setup([], { flushIntervalMs: 60_000, maxBatch: 5 });
  fake.load(vpcs(12));
  await waitFor(() => mirror.batches.reduce((n, b) => n + b.upserts.length, 0) >= 10, 3000, 'two full batches');
  expect(mirror.batches.slice(0, 2).map((b) => b.upserts.length)).toEqual([5, 5]);
});

test('invalid objects in watch events are reported in the batch, valid ones applied', async () => {
  const { mirror } = await setup([]);
  fake.create(obj('VPC', 'Bad_Name'));
  fake.create(obj('VPC', 'fine'));
  await waitFor(
    () => mirror.batches.some((b) => b.errors.length > 0) && mirror.state.has('VPC/default/fine'),
    2000,
    'batch',
  );
  const errors = mirror.batches.flatMap((b) => b.errors);
  expect(errors).toEqual([
    {
      kind: 'VPC',
      namespace: 'default',
      name: 'Bad_Name',
      reason: expect.stringMatching(/^ADDED event: metadata\.name "Bad_Name" is not a valid DNS-1123/),
    },
  ]);
});

test('a watch the server closes is renewed from the last resourceVersion; nothing is lost', async () => {
  const { w, mirror } = await setup(vpcs(3));
  fake.create(obj('VPC', 'before-close'));
  await waitFor(() => mirror.state.has('VPC/default/before-close'), 2000, 'first event');
  const rvSeen = mirror.state.get('VPC/default/before-close')!.resourceVersion;
  fake.closeWatches();
  // Changes while no watch is open come from the server's history on the next watch.
  fake.create(obj('VPC', 'during-gap'));
  fake.delete('VPC', 'default', 'vpc-00002');
  await waitFor(
    () => mirror.state.has('VPC/default/during-gap') && !mirror.state.has('VPC/default/vpc-00002'),
    3000,
    'gap events',
  );
  fake.create(obj('VPC', 'after-reconnect'));
  await waitFor(() => mirror.state.has('VPC/default/after-reconnect'), 2000, 'later events');
  expect(mirror.view('VPC')).toEqual(serverView('VPC'));
  const renewed = watchRequests('vpcs')[1]!;
  expect(renewed.query.resourceVersion).toBe(rvSeen);
  expect(mirror.relists).toHaveLength(2); // only the initial lists: no relist was needed
  expect(w.stats().restarts).toBeGreaterThanOrEqual(1);
});

test('a watch socket dropped mid-stream is recovered without loss', async () => {
  fake = undefined as unknown as FakeKubeApi;
  const { mirror } = await setup([], {}, [VPC]);
  // The next watch connection breaks after 2 events; the one after that works.
  fake.injectFault({ type: 'drop', afterItems: 2, times: 1, match: { watch: true } });
  fake.closeWatches();
  await waitFor(() => watchRequests('vpcs').length >= 2 && fake.watchCount() === 1, 3000, 're-watch with fault');
  fake.load(vpcs(6, 'default', 'dropped'));
  await waitFor(() => Object.keys(mirror.view('VPC')).length === 6, 3000, 'all six');
  expect(mirror.view('VPC')).toEqual(serverView('VPC'));
  expect(mirror.restarts.some((r) => /watch failed|closed/.test(r.reason))).toBe(true);
});

test('a compacted resourceVersion (410) relists the kind; deletions during the outage reach the consumer', async () => {
  const { w, mirror } = await setup([...vpcs(5), obj('Server', 's1')]);
  fake.closeWatches();
  // While the client has not reconnected yet: delete, change, create — and compact the history.
  fake.delete('VPC', 'default', 'vpc-00001');
  fake.delete('VPC', 'default', 'vpc-00003');
  fake.update({ ...fake.get('VPC', 'default', 'vpc-00000')!, spec: { changed: true } });
  fake.create(obj('VPC', 'brand-new'));
  fake.compact();
  await waitFor(() => mirror.relists.filter((r) => r.kind.kind === 'VPC').length === 2, 3000, 'VPC relist');
  const relist = mirror.relists.filter((r) => r.kind.kind === 'VPC')[1]!;
  expect(relist.complete).toBe(true);
  expect(relist.observations.map((o) => o.name).sort()).toEqual(['brand-new', 'vpc-00000', 'vpc-00002', 'vpc-00004']);
  expect(mirror.restarts.some((r) => r.kind.kind === 'VPC' && /410/.test(r.reason))).toBe(true);
  expect(mirror.view('VPC')).toEqual(serverView('VPC'));
  expect(mirror.view('Server')).toEqual(serverView('Server'));
  // And the watch continues from the relist.
  fake.delete('VPC', 'default', 'brand-new');
  await waitFor(() => !mirror.state.has('VPC/default/brand-new'), 2000, 'post-relist event');
  expect(w.stats().relists).toBeGreaterThanOrEqual(3);
});

test('the stall watchdog restarts a watch that stays silent', async () => {
  // The server keeps the watch open without a byte (no events, bookmarks once a minute). The watcher's timers run on
  // an injected clock: the silence is 300 ms of clock time, not of real time, and maxBatch 1 hands events out at once.
  const clock = new ManualClock();
  const { w, mirror } = await setup([], { stallTimeoutMs: 300, watchTimeoutSeconds: 60, maxBatch: 1, clock }, [VPC]);
  const watchdogEvery = await clock.whenTimer((ms) => ms === 75); // a quarter of the stall timeout
  clock.advance(300);
  expect(mirror.restarts).toHaveLength(0); // silent for exactly the timeout: not yet stalled
  clock.advance(watchdogEvery);
  await new Promise<WatchRestart>((resolve) => w.once('restart', resolve));
  await clock.whenTimer((ms) => ms <= 100); // the restart's backoff (at most backoff.maxMs)
  clock.advance(100);
  await waitFor(() => mirror.restarts.length >= 1 && watchRequests('vpcs').length >= 2, 3000, 'a stall restart');
  expect(mirror.restarts[0]!.reason).toMatch(/silent for more than 300 ms/);
  // Still delivering afterwards.
  fake.create(obj('VPC', 'after-stall'));
  await waitFor(() => mirror.state.has('VPC/default/after-stall'), 2000, 'event after stall');
  expect(w.stats().restarts).toBeGreaterThanOrEqual(1);
});

test('a watch request the server never answers is abandoned by the watchdog; its events are not lost', async () => {
  const baseline = await quietBaseline();
  // Bookmarks every 100 ms keep a healthy watch from ever looking stalled; only the hung request does.
  const { w, mirror } = await setup(vpcs(1), { stallTimeoutMs: 800, watchTimeoutSeconds: 60 }, [VPC], {
    bookmarkIntervalMs: 100,
  });
  // The next watch request hangs before its response headers for 30 s.
  fake.injectFault({ type: 'delay', ms: 30_000, times: 1, match: { watch: true } });
  fake.closeWatches();
  await waitFor(() => watchRequests('vpcs').length === 2, 2000, 'hanging watch request');
  fake.create(obj('VPC', 'while-hanging'));
  await waitFor(() => mirror.state.has('VPC/default/while-hanging'), 3000, 'event after the hang');
  expect(mirror.restarts.filter((r) => /silent/.test(r.reason))).toHaveLength(1);
  expect(mirror.view('VPC')).toEqual(serverView('VPC'));
  // The abandoned request's connection is closed, not leaked: one live watch = two socket ends.
  const extraSockets = () => (handles().TCPSocketWrap ?? 0) - (baseline.TCPSocketWrap ?? 0);
  await waitFor(() => extraSockets() === 2, 2000, `only the live watch connection (have ${extraSockets()})`);
  await new Promise((r) => setTimeout(r, 300));
  expect(extraSockets()).toBe(2);
  expect(w.stats().activeWatches).toBe(1);
});

test('watch errors (500) are retried with backoff until the watch works again', async () => {
  const { mirror } = await setup([], {}, [VPC]);
  fake.injectFault({ type: 'status', code: 500, times: 3, match: { watch: true } });
  fake.closeWatches();
  fake.create(obj('VPC', 'x'));
  await waitFor(() => mirror.state.has('VPC/default/x'), 3000, 'event after errors');
  const failed = mirror.restarts.filter((r) => /HTTP 500/.test(r.reason));
  expect(failed).toHaveLength(3);
  expect(failed.map((r) => r.attempt)).toEqual([1, 2, 3].map((n) => n - 1 + failed[0]!.attempt));
  expect(failed.every((r) => r.delayMs <= 100)).toBe(true);
});

test('a malformed line in the stream does not stop the watch', async () => {
  const { mirror } = await setup([], {}, [VPC]);
  fake.injectFault({ type: 'malformed', times: 1, match: { watch: true } });
  fake.closeWatches();
  await waitFor(() => watchRequests('vpcs').length === 2 && fake.watchCount() === 1, 2000, 're-watch');
  fake.create(obj('VPC', 'after-garbage'));
  await waitFor(() => mirror.state.has('VPC/default/after-garbage'), 2000, 'event after garbage');
});

test('namespace restriction: one watch per namespace, other namespaces unseen, relists scoped', async () => {
  const { mirror } = await setup([...vpcs(2, 'alpha'), ...vpcs(2, 'beta')], { namespaces: ['alpha'] }, [VPC]);
  expect(mirror.relists[0]!.namespaces).toEqual(['alpha']);
  expect(watchRequests('vpcs')[0]!.path).toBe('/apis/vpc.githedgehog.com/v1beta1/namespaces/alpha/vpcs');
  fake.create(obj('VPC', 'in-beta', 'beta'));
  fake.create(obj('VPC', 'in-alpha', 'alpha'));
  await waitFor(() => mirror.state.has('VPC/alpha/in-alpha'), 2000, 'alpha event');
  expect(mirror.view('VPC')).toEqual(serverView('VPC', ['alpha']));
});

test('resync() relists every kind on demand', async () => {
  const { w, mirror } = await setup(vpcs(2));
  w.resync();
  await waitFor(() => mirror.relists.length === 4, 3000, 'relists');
  expect(
    mirror.relists
      .slice(2)
      .map((r) => r.kind.kind)
      .sort(),
  ).toEqual(['Server', 'VPC']);
  fake.create(obj('VPC', 'after-resync'));
  await waitFor(() => mirror.state.has('VPC/default/after-resync'), 2000, 'event after resync');
});

test('a resync() asked for while a list is running gets a list of its own', async () => {
  const { mirror } = await setup(vpcs(2), {}, [VPC]);
  fake.injectFault({ type: 'delay', ms: 300, times: 1, match: { plural: 'vpcs', watch: false } });
  watcher!.resync(['VPC']);
  await waitFor(
    () => fake.requests.filter((r) => r.path.endsWith('/vpcs') && !r.query.watch).length === 2,
    2000,
    'slow relist sent',
  );
  watcher!.resync(['VPC']); // e.g. the consumer's database came back while that list was in flight
  await waitFor(() => mirror.relists.length === 3, 3000, 'a second relist');
  await new Promise((r) => setTimeout(r, 100));
  expect(mirror.relists).toHaveLength(3);
});

test('start() rejects with KubeAuthError when the credentials are refused, and leaves nothing running', async () => {
  fake = new FakeKubeApi({ token: 'right' });
  await fake.start();
  const w = new ClusterInformer(fake.kubeConfig({ token: 'wrong' }), [VPC, SERVER], { list: { baseDelayMs: 10 } });
  await expect(w.start()).rejects.toBeInstanceOf(KubeAuthError);
  expect(w.stats().activeWatches).toBe(0);
  expect(fake.requests.filter((r) => r.query.watch !== undefined)).toHaveLength(0);
});

test('stop() flushes the pending batch, closes every watch and leaves no handle behind', async () => {
  const baseline = await quietBaseline();
  const { w, mirror } = await setup(vpcs(2), { flushIntervalMs: 60_000 });
  expect(extraHandles(baseline).length).toBeGreaterThan(0); // the check below can see our sockets
  fake.create(obj('VPC', 'pending-1'));
  fake.create(obj('Server', 'pending-2'));
  await waitFor(() => w.stats().events === 2, 2000, 'events received');
  expect(mirror.batches).toHaveLength(0); // still pending: the interval is a minute
  await w.stop();
  expect(mirror.batches.flatMap((b) => b.upserts.map((u) => u.name)).sort()).toEqual(['pending-1', 'pending-2']);
  expect(w.stats().activeWatches).toBe(0);
  await waitFor(() => fake.watchCount() === 0, 2000, 'server sees the watches closed');
  await fake.stop();
  // No timer, socket or server of ours is left (Jest would otherwise hang or warn).
  await waitFor(
    () => extraHandles(baseline).length === 0,
    2000,
    `no handles left (extra: ${extraHandles(baseline).join(', ')})`,
  );
  // A second stop is harmless.
  await w.stop();
});
