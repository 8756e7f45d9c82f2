/**
 * The actual-side planner, pure functions: what changed against the ledger's index (phase 1), and the
 * rows to write, in chunks (phase 2).
 */
import { addOutcome, diffAgainstIndex, planActualWriteChunks } from '../src/sync/actual-plan.js';
import { emptyPlan, type WritePlan } from '../src/sync/write-plan.js';
import type { DriftContext } from '../src/sync/drift-evaluation.js';
import type { ActualIndexEntry, StoredResource } from '../src/store/stored-resources.js';
import type { ActualObservation } from '../src/observations.js';

const obs = (name: string, rv: string, uid = `uid-${name}`): ActualObservation => ({
  kind: 'VPC',
  namespace: 'default',
  name,
  apiVersion: 'vpc.githedgehog.com/v1beta1',
  spec: {},
  status: null,
  labels: {},
  annotations: {},
  uid,
  resourceVersion: rv,
});
const entry = (
  id: number,
  rv: string | null,
  pending = false,
  uid: string | null = rv ? `uid-${id}` : null,
): ActualIndexEntry => ({
  id,
  uid,
  resourceVersion: rv,
  hasActual: uid !== null,
  pending,
});

function index(): Map<string, ActualIndexEntry> {
  return new Map([
    ['VPC/default/same', entry(1, '5', false, 'uid-same')],
    ['VPC/default/changed', entry(2, '5', false, 'uid-changed')],
    ['VPC/default/gone', entry(3, '5', false, 'uid-gone')],
    ['VPC/default/pending-present', entry(4, '5', true, 'uid-pending-present')],
    ['VPC/default/pending-absent', entry(5, null, true)],
    ['VPC/default/desired-only', entry(6, null, false)],
  ]);
}
const listed = [obs('same', '5'), obs('changed', '6'), obs('new', '1'), obs('pending-present', '5')];

test('a complete list: changed and new objects, stale rows, pending rows settled', () => {
  const d = diffAgainstIndex(listed, index());
  expect(d.changed.map((o) => o.name)).toEqual(['changed', 'new']);
  expect(d.unchanged).toBe(2);
  expect(d.stale).toEqual(['VPC/default/gone']);
  expect(d.reevaluate.sort()).toEqual(['VPC/default/pending-absent', 'VPC/default/pending-present']);
  expect(d.idsToLoad.sort()).toEqual([2, 3, 4, 5]);
});

test('a new uid under the same name is a change even with an equal resourceVersion', () => {
  const d = diffAgainstIndex([obs('same', '5', 'uid-other')], index());
  expect(d.changed.map((o) => o.uid)).toEqual(['uid-other']);
});

test('a partial batch (watch): only the named deletions are stale, nothing is settled', () => {
  const d = diffAgainstIndex([obs('changed', '6')], index(), ['VPC/default/gone', 'VPC/default/not-in-ledger']);
  expect(d.changed.map((o) => o.name)).toEqual(['changed']);
  expect(d.stale).toEqual(['VPC/default/gone']);
  expect(d.reevaluate).toEqual([]);
  expect(d.idsToLoad.sort()).toEqual([2, 3]);
});

// ---------------------------------------------------------------- phase 2, in chunks

const NOW = new Date('2026-11-26T12:00:00Z');
const ctx: DriftContext = { ignore: [], schemaDefaults: () => null, lastActualRead: null, now: NOW };

function storedRow(id: number, name: string, over: Partial<StoredResource> = {}): StoredResource {
  return {
    id,
    kind: 'VPC',
    namespace: 'default',
    name,
    apiVersion: 'vpc.githedgehog.com/v1beta1',
    desiredSpec: null,
    previousDesiredSpec: null,
    desiredUpdated: null,
    desiredCommit: null,
    desiredFilePath: null,
    fileHash: null,
    draftSpec: null,
    draftOperation: null,
    draftMetadata: null,
    draftUpdated: null,
    draftUpdatedBy: null,
    draftBaseSpec: null,
    draftBaseCommit: null,
    draftBaseFileHash: null,
    syncDirection: 'inherit',
    driftStatus: null,
    externalModifications: [],
    actualSpec: { subnets: {} },
    actualStatus: null,
    actualUid: `uid-${name}`,
    actualResourceVersion: '5',
    actualUpdated: NOW,
    labels: {},
    annotations: {},
    syncMetadata: {},
    resourceState: 'orphaned',
    conflictStatus: 'none',
    conflictDetails: {},
    ...over,
  };
}

/** 23 new objects, one recreated (new uid), one gone and declared in Git (cleared), one gone and declared nowhere (deleted). */
function mixedDiff() {
  const stored = new Map<string, StoredResource>([
    ['VPC/default/recreated', storedRow(1, 'recreated')],
    [
      'VPC/default/gone-declared',
      storedRow(2, 'gone-declared', { desiredSpec: { subnets: {} }, resourceState: 'synced' }),
    ],
    ['VPC/default/gone', storedRow(3, 'gone')],
  ]);
  const index = new Map<string, ActualIndexEntry>([
    ['VPC/default/recreated', entry(1, '5', false, 'uid-recreated')],
    ['VPC/default/gone-declared', entry(2, '5', false, 'uid-gone-declared')],
    ['VPC/default/gone', entry(3, '5', false, 'uid-gone')],
  ]);
  const listed = [
    ...Array.from({ length: 23 }, (_, i) => obs(`new-${i}`, '1')),
    obs('recreated', '9', 'uid-recreated-2'),
  ];
  return { diff: diffAgainstIndex(listed, index), stored };
}

const all = (chunks: WritePlan[], pick: (p: WritePlan) => unknown[]) => chunks.flatMap(pick);

test('phase 2 in chunks: no chunk exceeds the size; together they are the one-chunk plan, in order', () => {
  const { diff, stored } = mixedDiff();
  const whole = [...planActualWriteChunks(7, diff, stored, ctx, Infinity)];
  expect(whole).toHaveLength(1);
  const chunks = [...planActualWriteChunks(7, diff, stored, ctx, 5)];
  // 25 rows (23 new, the recreated one, the cleared one) fill 5 chunks; the delete found after them goes in a 6th.
  expect(chunks.map((c) => [c.upserts.length, c.deletes.length])).toEqual([
    [5, 0],
    [5, 0],
    [5, 0],
    [5, 0],
    [5, 0],
    [0, 1],
  ]);
  expect(all(chunks, (p) => p.upserts)).toEqual(whole[0]!.upserts);
  expect(all(chunks, (p) => p.transitions)).toEqual(whole[0]!.transitions);
  expect(all(chunks, (p) => p.deletes)).toEqual([3]);
  expect(all(chunks, (p) => p.changes)).toEqual(whole[0]!.changes);

  const total = emptyPlan();
  for (const c of chunks) addOutcome(total, c);
  expect(total).toMatchObject({ created: 23, updated: 1, cleared: 2, reevaluated: 0, upserts: [], deletes: [] });
  expect(total.recreated).toEqual([
    { kind: 'VPC', namespace: 'default', name: 'recreated', oldUid: 'uid-recreated', newUid: 'uid-recreated-2' },
  ]);
  expect(total.changes.map((c) => c.change).sort()).toEqual(
    [...Array(23).fill('created'), 'cleared', 'deleted', 'updated'].sort(),
  );
});

test('phase 2 is lazy: a chunk is planned only when the consumer asks for it', () => {
  const { diff, stored } = mixedDiff();
  let evaluated = 0;
  const counting: DriftContext = { ...ctx, schemaDefaults: () => (evaluated++, null) };
  const chunks = planActualWriteChunks(7, diff, stored, counting, 5);
  expect(evaluated).toBe(0);
  chunks.next();
  expect(evaluated).toBe(5);
  chunks.next();
  expect(evaluated).toBe(10);
});

test('phase 2 with nothing to do yields one empty chunk', () => {
  const chunks = [...planActualWriteChunks(7, diffAgainstIndex([], new Map()), new Map(), ctx, 5)];
  expect(chunks).toEqual([emptyPlan()]);
});
