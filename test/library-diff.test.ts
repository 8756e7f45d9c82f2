/**
 * The read-only diff as a library: the pure comparison (src/sync/diff-sides.ts) on hand-made sides, and `ledger.diff`
 * on a database with an injected clock (the age of the ledger's actual state), its refusals, and in-memory sources.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiffInputError, NoActualStateError, type Ledger } from '../src/index.js';
import { ledgerOnOrm } from '../src/ledger.js';
import { diffSides, type ActualSide } from '../src/sync/diff-sides.js';
import type { DriftContext } from '../src/sync/drift-evaluation.js';
import type { StoredResource } from '../src/store/stored-resources.js';
import type { DesiredObservation } from '../src/observations.js';
import type { ActualSource } from '../src/sync/sources.js';
import { FABRIC_KINDS, type KindInfo } from '../src/kube/catalog.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

const API = 'vpc.githedgehog.com/v1beta1';
const T0 = new Date('2026-12-01T10:00:00Z');
const NOW = new Date('2026-12-01T10:03:30Z');

function declared(name: string, spec: Record<string, unknown>): DesiredObservation {
  return {
    kind: 'VPC',
    namespace: 'default',
    name,
    apiVersion: API,
    spec,
    labels: {},
    annotations: {},
    filePath: 'vpcs.yaml',
    line: 1,
    fileHash: 'h',
  };
}

function inCluster(name: string, spec: Record<string, unknown>): ActualSide {
  return { kind: 'VPC', namespace: 'default', name, spec, labels: {}, annotations: {} };
}

/** A ledger row whose Git side declared `desiredSpec` at T0 (only the fields the comparison reads matter). */
function storedRow(name: string, desiredSpec: Record<string, unknown> | null): StoredResource {
  return {
    kind: 'VPC',
    namespace: 'default',
    name,
    desiredSpec,
    previousDesiredSpec: null,
    desiredUpdated: desiredSpec ? T0 : null,
    syncMetadata: desiredSpec ? { desired: { labels: {}, annotations: {} } } : null,
  } as unknown as StoredResource;
}

const ctx = (lastActualRead: Date): DriftContext => ({
  ignore: [],
  schemaDefaults: () => null,
  lastActualRead,
  now: NOW,
});

const key = (name: string) => `VPC/default/${name}`;

describe('diffSides (pure)', () => {
  test('equal sides are in sync and listed nowhere; a changed field is one replace operation', () => {
    const r = diffSides({
      desired: [declared('a', { vlan: 1 }), declared('b', { vlan: 2 })],
      stored: new Map(),
      actual: new Map([
        [key('a'), inCluster('a', { vlan: 1 })],
        [key('b'), inCluster('b', { vlan: 3 })],
      ]),
      skip: new Map(),
      ctx: ctx(NOW),
    });
    expect(r.summary).toMatchObject({ total: 2, differing: 1, notCompared: 0 });
    expect(r.summary.byStatus).toMatchObject({ in_sync: 1, spec_drift: 1 });
    expect(r.objects).toEqual([
      expect.objectContaining({
        name: 'b',
        status: 'spec_drift',
        differences: [{ op: 'replace', path: '/spec/vlan', value: 2, actual: 3 }],
        file: 'vpcs.yaml',
        line: 1,
      }),
    ]);
  });

  test("a field the ledger's Git declared and the compared source removed is a difference, not a server default", () => {
    const input = {
      desired: [declared('a', { vlan: 1 })],
      actual: new Map([[key('a'), inCluster('a', { vlan: 1, mtu: 9000 })]]),
      skip: new Map<string, string>(),
      ctx: ctx(NOW),
    };
    // Never declared by anyone: the cluster's extra field is a default, not drift.
    expect(diffSides({ ...input, stored: new Map() }).summary.differing).toBe(0);
    const removed = diffSides({ ...input, stored: new Map([[key('a'), storedRow('a', { vlan: 1, mtu: 9000 })]]) });
    expect(removed.objects[0]!.differences).toEqual([{ op: 'remove', path: '/spec/mtu', value: null, actual: 9000 }]);
  });

  test('an object no longer declared is pending while the cluster side is older than the change, else only in cluster', () => {
    const input = {
      desired: [],
      stored: new Map([[key('gone'), storedRow('gone', { vlan: 1 })]]),
      actual: new Map([[key('gone'), inCluster('gone', { vlan: 1 })]]),
      skip: new Map<string, string>(),
    };
    expect(diffSides({ ...input, ctx: ctx(T0) }).objects[0]).toMatchObject({ status: 'deletion_pending' });
    const live = diffSides({ ...input, ctx: ctx(NOW) }).objects[0]!;
    expect(live).toMatchObject({ status: 'actual_only', file: null });
    // The root operation carries the whole object the cluster holds.
    expect(live.differences).toEqual([{ op: 'remove', path: '', value: null, actual: { spec: { vlan: 1 } } }]);
  });

  test('skipped objects are not compared (nor counted), with their reason; filters apply to them too', () => {
    const r = diffSides({
      desired: [declared('a', { vlan: 1 })],
      stored: new Map(),
      actual: new Map([[key('b'), inCluster('b', { vlan: 2 })]]),
      skip: new Map([
        [key('b'), 'refused by the cluster'],
        [key('c'), 'its file was refused'],
        ['Switch/default/s', 'filtered out'],
      ]),
      keep: (k) => k.kind === 'VPC',
      ctx: ctx(NOW),
    });
    expect(r.summary).toMatchObject({ total: 1, differing: 1, notCompared: 2 });
    expect(r.notCompared).toEqual([
      { kind: 'VPC', namespace: 'default', name: 'b', reason: 'refused by the cluster' },
      { kind: 'VPC', namespace: 'default', name: 'c', reason: 'its file was refused' },
    ]);
  });
});

describe('ledger.diff', () => {
  let db: TestDatabase;
  let ledger: Ledger;
  let dir: string;
  let clusterVlan = 1000;
  let listCalls = 0;
  const vpcInCluster = () => ({
    kind: 'VPC',
    namespace: 'default',
    name: 'vpc-1',
    uid: 'u1',
    resourceVersion: String(clusterVlan),
    apiVersion: API,
    spec: { vlan: clusterVlan },
    status: null,
    labels: {},
    annotations: {},
  });
  const discoverVpcs = (kinds: readonly KindInfo[]) =>
    Promise.resolve({
      served: kinds.filter((k) => k.kind === 'VPC'),
      skipped: kinds.filter((k) => k.kind !== 'VPC').map((k) => ({ kind: k.kind, reason: 'not served' })),
      failed: [],
    });
  // The cluster in memory: serves VPCs only, one object.
  const cluster: ActualSource = {
    discover: discoverVpcs,
    listKind: (kind) => {
      listCalls++;
      return Promise.resolve({
        kind,
        complete: true,
        observations: kind.kind === 'VPC' ? [vpcInCluster()] : [],
        errors: [],
        namespaces: null,
        pages: 1,
        restarts: 0,
      });
    },
    readCrds: () => Promise.resolve([]),
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = ledgerOnOrm(
      db.orm,
      { sync: { actualSource: () => cluster, preflight: false } },
      { location: 'test', embedded: db.embedded, close: async () => {} },
    );
    dir = mkdtempSync(join(tmpdir(), 'hh-library-diff-'));
    writeFileSync(
      join(dir, 'vpc.yaml'),
      `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: vpc-1\n  namespace: default\nspec:\n  vlan: 1100\n`,
    );
    await ledger.fabrics.create('f', { gitRepository: dir });
  }, 60_000);

  afterAll(async () => {
    await ifSetUp(db)?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('before any actual sync: NoActualStateError, unless the cluster is read live', async () => {
    await expect(ledger.diff('f')).rejects.toBeInstanceOf(NoActualStateError);
    const live = await ledger.diff('f', { live: true, now: NOW });
    expect(live.actual).toEqual({ type: 'live', readAt: NOW.toISOString(), failedKinds: [] });
    expect(live.objects).toEqual([
      expect.objectContaining({ name: 'vpc-1', differences: [expect.objectContaining({ value: 1100, actual: 1000 })] }),
    ]);
  });

  test("the ledger's actual state is as old as the last actual sync, measured at the injected time", async () => {
    await ledger.sync.syncActualState('f');
    const synced = (await ledger.fabrics.get('f'))!.lastActualSync!;
    const later = new Date(synced.getTime() + 210_500);
    clusterVlan = 1200; // the cluster moves on; the ledger does not know
    listCalls = 0;
    const r = await ledger.diff('f', { now: later });
    expect(listCalls).toBe(0); // the cluster is not read
    expect(r.actual).toEqual({ type: 'ledger', asOf: synced.toISOString(), ageSeconds: 210 });
    expect(r.desired).toEqual({ type: 'git', repository: dir, ref: null, commit: null, path: '' });
    expect(r.objects[0]!.differences).toEqual([{ op: 'replace', path: '/spec/vlan', value: 1100, actual: 1000 }]);
    const live = await ledger.diff('f', { live: true, now: later });
    expect(live.objects[0]!.differences).toEqual([{ op: 'replace', path: '/spec/vlan', value: 1100, actual: 1200 }]);
  });

  test('refusals: a local directory and a ref together, a missing directory, a ref of a plain directory', async () => {
    await expect(ledger.diff('f', { local: dir, ref: 'main' })).rejects.toBeInstanceOf(DiffInputError);
    await expect(ledger.diff('f', { local: join(dir, 'nope') })).rejects.toMatchObject({
      name: 'DiffInputError',
      option: 'local',
      message: expect.stringMatching(/no such directory/),
    });
    await expect(ledger.diff('f', { ref: 'main' })).rejects.toThrow(/plain directory, not a Git repository/);
    await expect(ledger.diff('nobody')).rejects.toThrow(/no fabric named "nobody"/);
  });

  test('a kind filter reaches the live read: only the kinds asked for are discovered', async () => {
    const asked: string[][] = [];
    cluster.discover = (kinds) => {
      asked.push(kinds.map((k) => k.kind));
      return discoverVpcs(kinds);
    };
    try {
      const r = await ledger.diff('f', { live: true, kinds: ['VPC'] });
      expect(asked).toEqual([['VPC']]);
      expect(r.summary.total).toBe(1);
    } finally {
      cluster.discover = discoverVpcs;
    }
    expect(FABRIC_KINDS.length).toBeGreaterThan(1); // so the filter above did narrow something
  });
});
