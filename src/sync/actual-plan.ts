/**
 * Planning the actual side of one kind — pure functions, no database.
 *
 * Phase 1 (`diffAgainstIndex`) compares the listed objects with the cheap index (uid + resourceVersion)
 * and finds what changed: an object whose uid and resourceVersion are unchanged is not touched at all.
 * Phase 2 (`planActualWriteChunks`) turns the changes into full rows, with drift and lifecycle recomputed,
 * using the stored details of just the rows involved — in chunks, so the writer can send one while the
 * next is planned.
 */
import {
  isFullObservation,
  keyOf,
  type ActualObservation,
  type ListedObject,
  type ResourceKey,
} from '../observations.js';
import { EVALUATED_COLUMNS, evaluateDrift, type DriftContext } from './drift-evaluation.js';
import type { ActualIndexEntry, StoredResource } from '../store/stored-resources.js';
import { hasDraft } from './resource-state.js';
import { emptyPlan, type ResourceChange, type WritePlan } from './write-plan.js';
import { deletionDraft, type TransitionContext } from './transitions.js';

export interface IndexDiff {
  /** New objects and objects whose uid or resourceVersion changed. */
  changed: ActualObservation[];
  unchanged: number;
  /** Keys the ledger holds an actual state for that the complete list no longer has. */
  stale: string[];
  /** Unchanged rows whose drift was pending: this read of the cluster settles them (drift only, no new actual data). */
  reevaluate: string[];
  /** Row ids whose stored details phase 2 needs. */
  idsToLoad: number[];
}

/**
 * What a kind's list has shown so far: the index entries it matched (by identity: no key is built or hashed twice),
 * and the keys it had that the index lacks. `unseenInIndex` needs it once the list has ended.
 */
export class ListedSoFar {
  readonly entries = new Set<ActualIndexEntry>();
  readonly newKeys = new Set<string>();

  /** The list had `key`. */
  has(key: string, index: ReadonlyMap<string, ActualIndexEntry>): boolean {
    const e = index.get(key);
    return e ? this.entries.has(e) : this.newKeys.has(key);
  }
}

/**
 * `deletes` absent: the observations are a kind's complete list — rows it lacks are stale, and pending rows
 * are settled. An object of the list may be its stamp only (a metadata-only list, src/sync/kind-read.ts) when the
 * index holds that very uid and resourceVersion; a stamp that differs is a caller's error, never guessed at.
 * `deletes` given: the observations are a partial batch (a watch) — only the named keys are stale, and nothing is
 * settled, since the batch says nothing about the other objects.
 */
export function diffAgainstIndex(
  observations: readonly ListedObject[],
  index: Map<string, ActualIndexEntry>,
  deletes?: readonly string[],
): IndexDiff {
  const complete = deletes === undefined;
  const seen = new ListedSoFar();
  const listed = classifyListed(observations, index, seen, complete);
  const unseen = complete ? unseenInIndex(index, seen, true) : unseenOfKeys(index, seen, deletes);
  return {
    changed: listed.changed,
    unchanged: listed.unchanged,
    stale: unseen.stale,
    reevaluate: [...listed.reevaluate, ...unseen.reevaluate],
    idsToLoad: [...listed.idsToLoad, ...unseen.idsToLoad],
  };
}

/**
 * Phase 1 for listed objects only — one page of a kind's list or all of it: what changed, what is unchanged, and
 * (`complete`: the page belongs to a complete list) the unchanged rows whose pending drift this read settles. Each
 * object is noted in `seen`, which `unseenInIndex` needs once the list has ended.
 */
export function classifyListed(
  observations: readonly ListedObject[],
  index: ReadonlyMap<string, ActualIndexEntry>,
  seen: ListedSoFar,
  complete: boolean,
): Omit<IndexDiff, 'stale'> {
  const changed: ActualObservation[] = [];
  const idsToLoad: number[] = [];
  const reevaluate: string[] = [];
  let unchanged = 0;
  for (const o of observations) {
    const key = keyOf(o);
    const e = index.get(key);
    if (e) seen.entries.add(e);
    else seen.newKeys.add(key);
    if (e && e.uid === o.uid && e.resourceVersion === o.resourceVersion) {
      unchanged++;
      if (complete && e.pending) {
        reevaluate.push(key);
        idsToLoad.push(e.id);
      }
      continue;
    }
    if (!isFullObservation(o)) {
      throw new Error(`${key}: listed by uid and resourceVersion only, but the ledger holds another version of it`);
    }
    changed.push(o);
    if (e) idsToLoad.push(e.id);
  }
  return { changed, unchanged, reevaluate, idsToLoad };
}

/**
 * Phase 1 for what a list did not have, once it has ended: of the index's rows the list did not show, those holding
 * an actual state are stale; after a complete list (`complete`), a pending row declared in Git and still absent from
 * the cluster is settled too.
 */
export function unseenInIndex(
  index: ReadonlyMap<string, ActualIndexEntry>,
  seen: ListedSoFar,
  complete: boolean,
): IndexDiff {
  const out = emptyDiff();
  for (const [key, e] of index) if (!seen.entries.has(e)) noteUnseen(out, key, e, complete);
  return out;
}

/** The same for the named keys only (the deletes of a watch batch): nothing is settled. */
function unseenOfKeys(index: ReadonlyMap<string, ActualIndexEntry>, seen: ListedSoFar, keys: Iterable<string>) {
  const out = emptyDiff();
  for (const key of keys) {
    const e = index.get(key);
    if (e && !seen.entries.has(e)) noteUnseen(out, key, e, false);
  }
  return out;
}

const emptyDiff = (): IndexDiff => ({ changed: [], unchanged: 0, stale: [], reevaluate: [], idsToLoad: [] });

function noteUnseen(out: IndexDiff, key: string, e: ActualIndexEntry, complete: boolean): void {
  if (e.hasActual) {
    out.stale.push(key);
    out.idsToLoad.push(e.id);
  } else if (complete && e.pending) {
    out.reevaluate.push(key); // declared in Git, still absent from the cluster after a complete read
    out.idsToLoad.push(e.id);
  }
}

/** Columns the actual side writes; everything else keeps its value (or takes its database default on insert). */
export const ACTUAL_COLUMNS = [
  'fabric_id',
  'kind',
  'namespace',
  'name',
  'api_version',
  'actual_spec',
  'actual_status',
  'actual_uid',
  'actual_resource_version',
  'actual_updated',
  'labels',
  'annotations',
  ...EVALUATED_COLUMNS,
  // Always null here: a version written (or the object gone) ends the mark of a refused one (refused-objects.ts).
  'last_sync_error',
] as const;

/**
 * The plan in chunks of `rowsPerChunk` rows at most, built lazily: a chunk is planned when the consumer
 * asks for it, so the writer can send one chunk while the next is planned, and a large kind's rows are
 * never all in memory at once. Deletes travel in the chunk that found them. The last chunk is always
 * yielded, even empty.
 */
export function* planActualWriteChunks(
  fabricId: number,
  diff: IndexDiff,
  stored: Map<string, StoredResource>,
  ctx: DriftContext,
  rowsPerChunk: number,
): Generator<WritePlan> {
  let plan = emptyPlan();
  const full = () => plan.upserts.length >= rowsPerChunk;
  const next = () => {
    const done = plan;
    plan = emptyPlan();
    return done;
  };

  for (const o of diff.changed) {
    const s = stored.get(keyOf(o));
    let reason = s?.actualUid ? 'changed in the cluster' : 'appeared in the cluster';
    let recreation: TransitionContext | undefined;
    if (s?.actualUid && s.actualUid !== o.uid) {
      reason = `deleted and recreated in the cluster (uid ${s.actualUid} → ${o.uid})`;
      plan.recreated.push({ kind: o.kind, namespace: o.namespace, name: o.name, oldUid: s.actualUid, newUid: o.uid });
      recreation = { oldUid: s.actualUid, newUid: o.uid };
    }
    if (s) plan.updated++;
    else plan.created++;
    const side: ActualSide = { ...o, updated: ctx.now };
    pushRow(plan, fabricId, o, s, side, reason, s ? 'updated' : 'created', ctx, recreation);
    if (full()) yield next();
  }

  for (const key of diff.stale) {
    const s = stored.get(key);
    if (!s) continue; // deleted concurrently; nothing to clear
    plan.cleared++;
    if (s.desiredSpec === null && !hasDraft(s)) {
      // Gone from the cluster and declared nowhere: nothing is left to track but its history.
      plan.deletes.push(s.id);
      plan.transitions.push(deletionDraft(s, 'deleted from the cluster (declared nowhere)'));
      plan.changes.push({ kind: s.kind, namespace: s.namespace, name: s.name, change: 'deleted' });
      continue;
    }
    pushRow(plan, fabricId, s, s, null, 'no longer in the cluster', 'cleared', ctx);
    if (full()) yield next();
  }

  for (const key of diff.reevaluate) {
    const s = stored.get(key);
    if (!s) continue;
    plan.reevaluated++;
    const side: ActualSide | null = s.actualSpec
      ? {
          apiVersion: s.apiVersion,
          spec: s.actualSpec,
          status: s.actualStatus,
          uid: s.actualUid!,
          resourceVersion: s.actualResourceVersion!,
          labels: s.labels,
          annotations: s.annotations,
          updated: s.actualUpdated ?? ctx.now,
        }
      : null;
    pushRow(plan, fabricId, s, s, side, 'the cluster was read after the Git change', 'updated', ctx);
    if (full()) yield next();
  }
  yield plan;
}

/** Adds a chunk's outcome (counts, changes, recreated objects) to `total`; the rows are the writer's alone. */
export function addOutcome(total: WritePlan, chunk: WritePlan): void {
  total.created += chunk.created;
  total.updated += chunk.updated;
  total.cleared += chunk.cleared;
  total.reevaluated += chunk.reevaluated;
  for (const r of chunk.recreated) total.recreated.push(r);
  for (const c of chunk.changes) total.changes.push(c);
}

/** The cluster's side of a row as the writer stores it. */
type ActualSide = Pick<
  ActualObservation,
  'apiVersion' | 'spec' | 'status' | 'uid' | 'resourceVersion' | 'labels' | 'annotations'
> & {
  updated: Date;
};

/**
 * One row of the plan: the object's actual side (`actual`, or null when the cluster no longer has it)
 * next to its stored desired side, with drift, lifecycle state and the state transition recomputed.
 */
function pushRow(
  plan: WritePlan,
  fabricId: number,
  id: ResourceKey,
  s: StoredResource | undefined,
  actual: ActualSide | null,
  reason: string,
  change: ResourceChange['change'],
  ctx: DriftContext,
  /** A deletion and recreation between two reads: recorded in the history even when the state stays the same. */
  recreation?: TransitionContext,
): void {
  const now = ctx.now;
  const drift = evaluateDrift(
    {
      kind: id.kind,
      name: id.name,
      desiredSpec: s?.desiredSpec ?? null,
      desiredMeta: s?.syncMetadata?.desired,
      previousDesiredSpec: s?.previousDesiredSpec ?? null,
      desiredUpdated: s?.desiredUpdated ? new Date(s.desiredUpdated) : null,
      hasDraft: !!s && hasDraft(s),
      actualSpec: actual?.spec ?? null,
      actualLabels: actual?.labels ?? {},
      actualAnnotations: actual?.annotations ?? {},
    },
    ctx,
  );
  if (!s || s.resourceState !== drift.resource_state || recreation) {
    plan.transitions.push({
      key: keyOf(id),
      from: s?.resourceState ?? null,
      to: drift.resource_state,
      reason,
      ...(recreation ? { context: recreation } : {}),
    });
  }
  plan.changes.push({
    kind: id.kind,
    namespace: id.namespace,
    name: id.name,
    change,
    driftStatus: drift.drift_status,
    state: drift.resource_state,
  });
  plan.upserts.push({
    fabric_id: fabricId,
    kind: id.kind,
    namespace: id.namespace,
    name: id.name,
    api_version: actual?.apiVersion ?? s!.apiVersion,
    actual_spec: actual?.spec ?? null,
    actual_status: actual?.status ?? null,
    actual_uid: actual?.uid ?? null,
    actual_resource_version: actual?.resourceVersion ?? null,
    // Stamped when the cluster side changes (seen, or gone now); a re-evaluation keeps the old stamp.
    actual_updated: actual ? actual.updated : change === 'cleared' ? now : (s?.actualUpdated ?? now),
    // With the cluster's object gone, the metadata on record is the one Git declares.
    labels: actual ? actual.labels : (s?.syncMetadata?.desired?.labels ?? {}),
    annotations: actual ? actual.annotations : (s?.syncMetadata?.desired?.annotations ?? {}),
    ...drift,
    last_state_change: now,
    state_change_reason: reason,
    last_updated: now,
    // Only a new row takes it: the writer never overwrites a first_seen already set.
    first_seen: now,
    last_sync_error: null,
  });
}
