/**
 * A kind larger than `holdObjects` is written as its pages arrive, in a savepoint of its own (src/sync/streamed-kind.ts):
 * the same ledger as holding it whole, and still all-or-nothing when its list starts over (410) or fails mid-way —
 * after some of its pages were written. Against the fake API (real client-node) and a real database (PostgreSQL in
 * CI, PGlite otherwise).
 */
import 'reflect-metadata';
import { jest } from '@jest/globals';
import type { EntityManager } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { kindInfo } from '../src/kube/catalog.js';
import { ClusterReader, type KindPageSink } from '../src/kube/cluster-reader.js';
import type { ActualObservation } from '../src/observations.js';
import { ActualKindWriter, KindWriteSession } from '../src/sync/actual-kind-writer.js';
import { PhaseTimer } from '../src/sync/phase-timings.js';
import { FabricSyncService, type ResourceEvent } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi, generateSampleFabric, withServerDefaults } from '../src/testing/index.js';
import { createOrmConfig } from '../src/db/orm-config.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

let db: TestDatabase;
let orm: MikroORM;
const apis: FakeKubeApi[] = [];
let fabricSeq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  await db.close();
});
afterEach(() => jest.restoreAllMocks());

/** 300 objects: Connection 110, VPCAttachment 79 and Server 71 are streamed at HOLD; the other kinds are held. */
const objects = () => generateSampleFabric({ targetObjects: 300, seed: 5 }).map((o) => withServerDefaults(o));
const HOLD = 30;
const PAGE = 10;
const CONNECTIONS = 110;

async function fake(): Promise<FakeKubeApi> {
  const api = new FakeKubeApi();
  api.load(objects());
  await api.start();
  apis.push(api);
  return api;
}

const newFabric = (): Promise<HedgehogFabric> => new FabricRegistry(orm.em).create(`streamed-${++fabricSeq}`);

function service(
  api: FakeKubeApi,
  holdObjects: number,
  onPage?: (kind: string) => void,
  em: EntityManager = orm.em,
): FabricSyncService {
  return new FabricSyncService(em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 1, maxDelayMs: 5, pageSize: PAGE, onPage: (k) => onPage?.(k.kind) },
    holdObjects,
    // Statements as small as a page: a streamed kind's rows reach the database before its list ends.
    writeBatchRows: PAGE,
  });
}

type LedgerRow = { kind: string; namespace: string; name: string } & Record<string, unknown>;

/** Every row's content, without ids and times (they differ between fabrics and runs). */
async function ledger(fabricId: number): Promise<LedgerRow[]> {
  return orm.em
    .fork()
    .getConnection()
    .execute<LedgerRow[]>(
      `SELECT kind, namespace, name, actual_spec, actual_status, actual_uid, actual_resource_version, labels, annotations,
              drift_status, resource_state, last_sync_error
       FROM hedgehog_resource WHERE fabric_id = ? ORDER BY kind, namespace, name`,
      [fabricId],
    );
}

/** The fabric's history entries per kind (each object's creation is one). */
async function transitionsByKind(fabricId: number): Promise<Record<string, number>> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute<{ kind: string; n: number }[]>(
      `SELECT r.kind, count(*)::int AS n FROM state_transition t JOIN hedgehog_resource r ON r.id = t.resource_id
       WHERE t.fabric_id = ? GROUP BY r.kind`,
      [fabricId],
    );
  return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
}

/** The `resource` events of one service, by kind. */
function eventsOf(svc: FabricSyncService): ResourceEvent[] {
  const events: ResourceEvent[] = [];
  svc.on('resource', (e) => events.push(e));
  return events;
}

const count = (events: readonly ResourceEvent[], kind: string) => events.filter((e) => e.kind === kind).length;

/** The sizes of the parts each kind's write session was given, by kind. */
function spyOnPages(): Record<string, number[]> {
  const sizes: Record<string, number[]> = {};
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the session as `this`
  const original = KindWriteSession.prototype.addPage;
  jest.spyOn(KindWriteSession.prototype, 'addPage').mockImplementation(function (this: KindWriteSession, page) {
    const kind = page[0]?.kind;
    if (kind) (sizes[kind] ??= []).push(page.length);
    return original.call(this, page);
  });
  return sizes;
}

test('a kind past holdObjects is written page by page: the same rows, counts, history and events as holding it whole', async () => {
  const api = await fake();
  const held = service(api, 1_000_000);
  const streamed = service(api, HOLD);
  const heldEvents = eventsOf(held);
  const streamedEvents = eventsOf(streamed);
  const [a, b] = [await newFabric(), await newFabric()];

  const heldPages = spyOnPages();
  const heldRun = await held.syncActualState(a);
  expect(heldPages.Connection).toEqual([CONNECTIONS]);
  jest.restoreAllMocks();
  const pages = spyOnPages();
  const streamedRun = await streamed.syncActualState(b);

  expect(streamedRun.status).toBe('completed');
  expect(streamedRun.counts).toEqual(heldRun.counts);
  expect(streamedRun.counts.created).toBe(300);
  expect(await ledger(b.id)).toEqual(await ledger(a.id));
  expect(await transitionsByKind(b.id)).toEqual(await transitionsByKind(a.id));
  expect(streamedEvents.map((e) => `${e.kind}/${e.name}/${e.change}`).sort()).toEqual(
    heldEvents.map((e) => `${e.kind}/${e.name}/${e.change}`).sort(),
  );
  // Held until past HOLD (4 pages of 10), then one page at a time: never the whole kind at once.
  const afterHold = (CONNECTIONS - HOLD - PAGE) / PAGE;
  expect(pages.Connection).toEqual([HOLD + PAGE, ...Array<number>(afterHold).fill(PAGE)]);
  // The phases stay apart: a streamed kind's writes count as write time, not as list time too.
  const t = streamedRun.details.timingsMs!;
  expect(t.write).toBeGreaterThan(0);
  expect(t.discover! + t.list! + t.write!).toBeLessThanOrEqual(t.total!);
  // A kind under the limit is still given whole (its rows batched with the other kinds').
  expect(pages.VPC).toEqual([9]);
});

test('a 410 mid-way through a streamed kind: the rows written so far are rolled back, the list starts over, and everything is there once', async () => {
  const api = await fake();
  const first = api.list('Connection')[0]!.metadata as { namespace: string; name: string };
  let connectionPages = 0;
  const svc = service(api, HOLD, (kind) => {
    // Past HOLD: Connection rows are written already when its continue token expires — the first of them among
    // them, and it is deleted before the list starts over: kept, it would be a row of an object the cluster lacks.
    if (kind === 'Connection' && ++connectionPages === 6) {
      api.delete('Connection', first.namespace, first.name);
      api.expireContinueTokens();
    }
  });
  const events = eventsOf(svc);
  const fabric = await newFabric();
  const run = await svc.syncActualState(fabric);

  expect(run.status).toBe('completed');
  expect(connectionPages).toBe(6 + Math.ceil((CONNECTIONS - 1) / PAGE)); // listed again from its first page
  expect(run.counts).toMatchObject({ listed: 299, created: 299, failed: 0 });
  const rows = await ledger(fabric.id);
  expect(rows).toHaveLength(299);
  const connections = rows.filter((r) => r.kind === 'Connection');
  expect(connections).toHaveLength(CONNECTIONS - 1);
  expect(connections.map((r) => r.name)).not.toContain(first.name);
  expect((await transitionsByKind(fabric.id)).Connection).toBe(CONNECTIONS - 1);
  expect(count(events, 'Connection')).toBe(CONNECTIONS - 1);
  expect(new Set(events.map((e) => `${e.kind}/${e.namespace}/${e.name}`)).size).toBe(299);
});

test('a streamed kind whose list fails after pages were written leaves no row, count, history or event; the others land', async () => {
  const api = await fake();
  let connectionPages = 0;
  const svc = service(api, HOLD, (kind) => {
    if (kind === 'Connection' && ++connectionPages === 6)
      api.injectFault({ type: 'status', code: 500, match: { plural: 'connections' } });
  });
  const events = eventsOf(svc);
  const fabric = await newFabric();
  const run = await svc.syncActualState(fabric);

  expect(run.status).toBe('partial');
  expect(run.errors.map((e) => e.kind)).toContain('Connection');
  expect(run.errors.find((e) => e.kind === 'Connection')!.reason).toMatch(
    /list failed, rows of this kind left untouched/,
  );
  expect(run.counts).toMatchObject({ created: 300 - CONNECTIONS, failed: 0 });
  const rows = await ledger(fabric.id);
  expect(rows).toHaveLength(300 - CONNECTIONS);
  expect(rows.some((r) => r.kind === 'Connection')).toBe(false);
  expect((await transitionsByKind(fabric.id)).Connection).toBeUndefined();
  expect(count(events, 'Connection')).toBe(0);
  // The kinds after it in the run were written too (the savepoint undid the Connection rows only).
  expect(rows.filter((r) => r.kind === 'Server')).toHaveLength(71);

  // Once the server recovers, the next run (a re-sync: every Connection is new to it, so listed in full) adds them.
  api.clearFaults();
  const next = await svc.syncActualState(fabric);
  expect(next.status).toBe('completed');
  expect(next.counts).toMatchObject({ created: CONNECTIONS, updated: 0 });
  expect(await ledger(fabric.id)).toHaveLength(300);
});

test('a re-sync that lists a changed kind in full streams it too, and sweeps what the cluster no longer has', async () => {
  const api = await fake();
  const [held, streamed] = [service(api, 1_000_000), service(api, HOLD)];
  const [a, b] = [await newFabric(), await newFabric()];
  expect((await held.syncActualState(a)).status).toBe('completed');
  expect((await streamed.syncActualState(b)).status).toBe('completed');
  // Every Connection relabelled (too many changes for one GET each: the kind is listed in full), three deleted.
  const connections = api.list('Connection');
  for (const o of connections.slice(3)) {
    const changed = structuredClone(o) as { metadata: { labels?: Record<string, string> } };
    changed.metadata.labels = { ...changed.metadata.labels, relabelled: 'yes' };
    api.update(changed);
  }
  for (const o of connections.slice(0, 3)) {
    const { namespace, name } = o.metadata as { namespace: string; name: string };
    api.delete('Connection', namespace, name);
  }
  const pages = spyOnPages();
  const streamedRun = await streamed.syncActualState(b);
  jest.restoreAllMocks();
  const heldRun = await held.syncActualState(a);

  expect(streamedRun.status).toBe('completed');
  expect(streamedRun.counts).toEqual(heldRun.counts);
  expect(streamedRun.counts).toMatchObject({ updated: CONNECTIONS - 3, cleared: 3 });
  expect(await ledger(b.id)).toEqual(await ledger(a.id));
  expect(Math.max(...pages.Connection!)).toBeLessThanOrEqual(HOLD + PAGE);
});

test('objects the reader refuses (a NUL PostgreSQL cannot store) inside a streamed kind keep and mark their rows, as held', async () => {
  const api = await fake();
  const [held, streamed] = [service(api, 1_000_000), service(api, HOLD)];
  const [a, b] = [await newFabric(), await newFabric()];
  expect((await held.syncActualState(a)).status).toBe('completed');
  expect((await streamed.syncActualState(b)).status).toBe('completed');
  // Every Connection relabelled (the kind is listed in full); two of them, one among the pages held before writing
  // starts and one in a late page, get a spec the ledger cannot store.
  const connections = api.list('Connection');
  const refused = [connections[5]!, connections[100]!].map((o) => (o.metadata as { name: string }).name);
  for (const o of connections) {
    const changed = structuredClone(o) as { metadata: { name: string; labels?: Record<string, string> }; spec: object };
    changed.metadata.labels = { ...changed.metadata.labels, relabelled: 'yes' };
    if (refused.includes(changed.metadata.name)) changed.spec = { ...changed.spec, note: 'a\u0000b' };
    api.update(changed);
  }
  const streamedRun = await streamed.syncActualState(b);
  const heldRun = await held.syncActualState(a);

  expect(streamedRun.status).toBe(heldRun.status);
  expect(streamedRun.counts).toEqual(heldRun.counts);
  expect(streamedRun.counts).toMatchObject({ updated: CONNECTIONS - 2, cleared: 0, failed: 2 });
  const rows = await ledger(b.id);
  expect(rows).toEqual(await ledger(a.id));
  for (const name of refused) {
    const row = rows.find((r) => r.kind === 'Connection' && r.name === name)!;
    expect(row.last_sync_error).toMatch(/could not be read/);
    expect(row.labels).not.toHaveProperty('relabelled'); // the last version read stays
  }
});

test.each([
  ['held whole', 1_000_000],
  ['streamed', 5],
])(
  'a namespace-scoped fabric (%s): each namespace has its own bound of 410 restarts, as a whole-kind list gives it',
  async (_how, holdObjects) => {
    const namespaces = ['ns-a', 'ns-b', 'ns-c', 'ns-d'];
    const api = new FakeKubeApi();
    api.load(
      objects().map((o, i) =>
        o.kind === 'Connection' ? { ...o, metadata: { ...o.metadata, namespace: namespaces[i % 4] } } : o,
      ),
    );
    await api.start();
    apis.push(api);
    // One expiry in each namespace, on its second page: four in all — one more than a kind's bound of three.
    const expired = new Set<string>();
    const svc = service(api, holdObjects, (kind) => {
      const last = api.requests.at(-1)!;
      const namespace = /\/namespaces\/([^/]+)\/connections$/.exec(last.path)?.[1];
      if (kind !== 'Connection' || !namespace || !last.query.continue || expired.has(namespace)) return;
      expired.add(namespace);
      api.expireContinueTokens();
    });
    const fabric = await new FabricRegistry(orm.em).create(`streamed-${++fabricSeq}`, { namespaces });
    const run = await svc.syncActualState(fabric);
    expect(run.details.failedKinds ?? []).toEqual([]);
    expect(run.status).toBe('completed');
    expect(expired.size).toBe(4);
    const connections = (await ledger(fabric.id)).filter((r) => r.kind === 'Connection');
    expect(connections).toHaveLength(CONNECTIONS);
  },
);

test('the database connection dies while a streamed kind is written: the run fails whole, nothing of it stays, the next run lands', async () => {
  const api = await fake();
  const proxy = await startTcpProxy(db.url);
  const viaProxy = await MikroORM.init(createOrmConfig(proxy.url, db.embedded ? { pool: { min: 0, max: 1 } } : {}));
  try {
    let connectionPages = 0;
    const svc = service(
      api,
      HOLD,
      (kind) => {
        if (kind === 'Connection' && ++connectionPages === 6) proxy.cutAll();
      },
      viaProxy.em,
    );
    const fabric = await new FabricRegistry(viaProxy.em).create(`streamed-${++fabricSeq}`);
    const failed = await svc.syncActualState(fabric);
    expect(failed.status).toBe('failed');
    expect(failed.errorMessage).toBeTruthy();
    expect(await ledger(fabric.id)).toEqual([]);
    const next = await svc.syncActualState(fabric);
    expect(next.status).toBe('completed');
    expect(next.counts.created).toBe(300);
  } finally {
    await viaProxy.close(true);
    await proxy.close();
  }
});

/** Resolves after `ms` without keeping the process alive. */
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Counts VPCAttachment's pages as the reader hands them on, and says when `n` have been. */
function aheadPageCounter(n: number) {
  let pages = 0;
  let reached!: () => void;
  let passed!: () => void;
  const reachedN = new Promise<void>((resolve) => (reached = resolve));
  const passedN = new Promise<void>((resolve) => (passed = resolve));
  return {
    onPage: (kind: string) => {
      if (kind !== 'VPCAttachment') return;
      if (++pages === n) reached();
      if (pages > n) passed();
    },
    pages: () => pages,
    reachedN,
    /** Resolved if a page past the n-th is handed on. */
    passedN,
  };
}

/**
 * Holds VPC's write (the first kind, 9 objects, held whole) until VPCAttachment (the next kind, 79 objects, past HOLD)
 * has handed on `ahead.reachedN` pages, then runs `then`: possible only if that list runs ahead of its turn. Gives up
 * after 5 s, so a run without it ends (and the test says so) instead of waiting for ever.
 */
function holdVpcWriteUntilAhead(ahead: ReturnType<typeof aheadPageCounter>, then: () => void = () => undefined) {
  const seen = { aheadPages: -1, begunBeforeTurn: [] as string[] };
  const begun: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the writer as `this`
  const begin = ActualKindWriter.prototype.begin;
  jest.spyOn(ActualKindWriter.prototype, 'begin').mockImplementation(function (this: ActualKindWriter, ...args) {
    begun.push(args[2].kind);
    return begin.apply(this, args);
  });
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the writer as `this`
  const write = ActualKindWriter.prototype.write;
  jest.spyOn(ActualKindWriter.prototype, 'write').mockImplementation(async function (this: ActualKindWriter, ...args) {
    if (args[2].kind === 'VPC') {
      await Promise.race([ahead.reachedN, delay(5000)]);
      // A list that did not wait for its turn would hand its next page on at once (and begin writing): give it the
      // chance. Waiting the whole half second is the outcome that passes.
      await Promise.race([ahead.passedN, delay(500)]);
      seen.aheadPages = ahead.pages();
      seen.begunBeforeTurn = begun.filter((k) => k !== 'VPC');
      then();
    }
    return write.apply(this, args);
  });
  return seen;
}

/** How each paged list the runs start ends ("<Kind> complete", "<Kind> incomplete: …" or "<Kind> <error>"), in order. */
function listEndings(): Promise<string>[] {
  const lists: Promise<string>[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the reader as `this`
  const listKindPages = ClusterReader.prototype.listKindPages;
  jest.spyOn(ClusterReader.prototype, 'listKindPages').mockImplementation(function (this: ClusterReader, ...args) {
    const p = listKindPages.apply(this, args);
    lists.push(
      p.then(
        (r) => `${args[0].kind} ${r.complete ? 'complete' : `incomplete: ${r.failure}`}`,
        (err: unknown) => `${args[0].kind} ${(err as Error).message}`,
      ),
    );
    return p;
  });
  return lists;
}

test("the next kind's full list runs while a kind is written, holding its pages: no database work before its turn", async () => {
  const api = await fake();
  const ahead = aheadPageCounter(HOLD / PAGE);
  const svc = service(api, HOLD, ahead.onPage);
  const seen = holdVpcWriteUntilAhead(ahead);
  const fabric = await newFabric();
  const run = await svc.syncActualState(fabric);

  expect(run.status).toBe('completed');
  expect(run.counts.created).toBe(300);
  // While VPC was written, VPCAttachment listed its first pages — and stopped at its hold (the fourth page, 40 > 30,
  // waits for its turn), without starting its write session.
  expect(seen.aheadPages).toBe(HOLD / PAGE);
  expect(seen.begunBeforeTurn).toEqual([]);
  const attachments = (await ledger(fabric.id)).filter((r) => r.kind === 'VPCAttachment');
  expect(attachments).toHaveLength(79);
  expect((await transitionsByKind(fabric.id)).VPCAttachment).toBe(79);
});

test('a run that fails while the next kind is listed ahead: that list ends at its next page, and nothing of it is written', async () => {
  const api = await fake();
  const ahead = aheadPageCounter(HOLD / PAGE);
  const svc = service(api, HOLD, ahead.onPage);
  const lists = listEndings();
  holdVpcWriteUntilAhead(ahead, () => {
    throw new Error('the database went away (injected)');
  });
  const fabric = await newFabric();
  const run = await svc.syncActualState(fabric);

  expect(run.status).toBe('failed');
  expect(run.errorMessage).toMatch(/the database went away \(injected\)/);
  expect(await ledger(fabric.id)).toEqual([]);
  // Every list the run started has ended (a list left waiting for its turn would keep this await from returning).
  expect(await Promise.all(lists)).toEqual([
    'VPC complete',
    "VPCAttachment list ended: the run ended before this kind's turn",
  ]);
  // The page that outgrew the hold was never handed on: the list ended there.
  expect(ahead.pages()).toBe(HOLD / PAGE);

  // The next run, unhindered, lands everything.
  jest.restoreAllMocks();
  const next = await svc.syncActualState(fabric);
  expect(next.status).toBe('completed');
  expect(next.counts.created).toBe(300);
});

test('a run that fails while a list ahead waits on a hung server: its request is aborted with the run, none is retried after', async () => {
  const api = await fake();
  const ahead = aheadPageCounter(1);
  void ahead.reachedN.then(() => api.injectFault({ type: 'hang', match: { plural: 'vpcattachments' } }));
  const svc = new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    // Retried for seconds if nothing stopped it: 300 ms per attempt, five retries.
    reader: {
      baseDelayMs: 1,
      maxDelayMs: 5,
      pageSize: PAGE,
      requestTimeoutMs: 300,
      maxRetries: 5,
      onPage: (k) => ahead.onPage(k.kind),
    },
    holdObjects: HOLD,
    writeBatchRows: PAGE,
  });
  const lists = listEndings();
  const attachmentRequests = () => api.requests.filter((r) => r.path.endsWith('/vpcattachments')).length;
  holdVpcWriteUntilAhead(ahead, () => {
    throw new Error('the database went away (injected)');
  });
  const fabric = await newFabric();
  const run = await svc.syncActualState(fabric);
  const askedWhenTheRunEnded = attachmentRequests();

  expect(run.status).toBe('failed');
  const ended = await Promise.all(lists);
  expect(ended[0]).toBe('VPC complete');
  expect(ended[1]).toMatch(/^VPCAttachment .*aborted/);
  expect(attachmentRequests()).toBe(askedWhenTheRunEnded);
  expect(await ledger(fabric.id)).toEqual([]);
});

describe('ClusterReader.listKindPages', () => {
  const CONNECTION = kindInfo('Connection')!;

  /** A sink that records what it is given, as a consumer of the pages sees it. */
  function recordingSink() {
    const given: ActualObservation[][] = [];
    let restarts = 0;
    const sink: KindPageSink = {
      page: (observations) => Promise.resolve(void given.push(observations)),
      restart: () => {
        restarts++;
        given.length = 0;
        return Promise.resolve();
      },
    };
    return { sink, given, restarts: () => restarts };
  }

  test('hands each page over as it arrives; a 410 voids them (restart) and lists the kind again from its first page', async () => {
    const api = await fake();
    let pagesSeen = 0;
    const reader = new ClusterReader(api.kubeConfig(), {
      pageSize: PAGE,
      baseDelayMs: 1,
      onPage: () => {
        if (++pagesSeen === 4) api.expireContinueTokens();
      },
    });
    const { sink, given, restarts } = recordingSink();
    const r = await reader.listKindPages(CONNECTION, sink);
    expect(r).toMatchObject({ complete: true, restarts: 1, errors: [] });
    expect(restarts()).toBe(1);
    expect(given.every((p) => p.length <= PAGE)).toBe(true);
    const names = given.flat().map((o) => o.name);
    expect(names).toHaveLength(CONNECTIONS);
    expect(new Set(names).size).toBe(CONNECTIONS);
    expect(r.pages).toBe(4 + CONNECTIONS / PAGE);
  });

  test('continue tokens expiring on every page: gives up after maxRestarts, incomplete, each restart told', async () => {
    const api = await fake();
    const reader = new ClusterReader(api.kubeConfig(), {
      pageSize: PAGE,
      baseDelayMs: 1,
      maxRestarts: 2,
      onPage: () => api.expireContinueTokens(),
    });
    const { sink, restarts } = recordingSink();
    const r = await reader.listKindPages(CONNECTION, sink);
    expect(r.complete).toBe(false);
    expect(r.failure).toMatch(/continue token expired 3 times; gave up/);
    expect(restarts()).toBe(2);
  });

  test('a list that fails mid-way says why; a sink that throws stops the list with its error', async () => {
    const api = await fake();
    let pagesSeen = 0;
    const reader = new ClusterReader(api.kubeConfig(), {
      pageSize: PAGE,
      baseDelayMs: 1,
      maxDelayMs: 2,
      onPage: () => {
        if (++pagesSeen === 2) api.injectFault({ type: 'status', code: 500, match: { plural: 'connections' } });
      },
    });
    const failed = await reader.listKindPages(CONNECTION, recordingSink().sink);
    expect(failed.complete).toBe(false);
    expect(failed.failure).toMatch(/500/);

    api.clearFaults();
    const throwing: KindPageSink = {
      page: () => Promise.reject(new Error('the database went away')),
      restart: () => Promise.resolve(),
    };
    await expect(reader.listKindPages(CONNECTION, throwing)).rejects.toThrow('the database went away');
  });
});

test.each([-1, 1.5, Number.NaN])('holdObjects %s is refused when the service is made, naming it', (hold) => {
  expect(() => new FabricSyncService(orm.em, { holdObjects: hold })).toThrow(/holdObjects must be a whole number/);
});

test('PhaseTimer: a phase timed inside another counts for itself only', async () => {
  let now = 0;
  const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
  const timer = new PhaseTimer();
  await timer.time('list', async () => {
    now += 10;
    await timer.time('write', () => Promise.resolve((now += 5)));
    now += 1;
  });
  await timer.time('write', () => Promise.resolve((now += 2)));
  expect(timer.toJSON()).toEqual({ list: 11, write: 7, total: 18 });
  clock.mockRestore();
});
