/** The actual-side planner's first phase, a pure function: what changed against the ledger's index. */
import { diffAgainstIndex } from '../src/sync/actual-plan.js';
import type { ActualIndexEntry } from '../src/sync/stored-resource.js';
import type { ActualObservation } from '../src/observations.js';

const obs = (name: string, rv: string, uid = `uid-${name}`): ActualObservation => ({
  kind: 'VPC', namespace: 'default', name, apiVersion: 'vpc.githedgehog.com/v1beta1',
  spec: {}, status: null, labels: {}, annotations: {}, uid, resourceVersion: rv,
});
const entry = (id: number, rv: string | null, pending = false, uid: string | null = rv ? `uid-${id}` : null): ActualIndexEntry => ({
  id, uid, resourceVersion: rv, hasActual: uid !== null, pending,
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
