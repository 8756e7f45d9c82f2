/**
 * Planning the actual side of one kind — pure functions, no database.
 *
 * Phase 1 (`diffAgainstIndex`) compares the listed objects with the cheap index (uid + resourceVersion)
 * and finds what changed: an object whose uid and resourceVersion are unchanged is not touched at all.
 * Phase 2 (`planActualWrites`) turns the changes into full rows, with drift and lifecycle recomputed,
 * using the stored details of just the rows involved.
 */
import { keyOf, type ActualObservation } from '../observations.js';
import type { Row } from './sql.js';
import { evaluateDrift, type DriftColumns, type DriftContext } from './drift-evaluation.js';
import type { ActualIndexEntry, StoredResource } from './stored-resource.js';
import type { TransitionDraft } from './transitions.js';

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
 * `deletes` absent: the observations are a kind's complete list — rows it lacks are stale, and pending rows
 * are settled. `deletes` given: the observations are a partial batch (a watch) — only the named keys are
 * stale, and nothing is settled, since the batch says nothing about the other objects.
 */
export function diffAgainstIndex(
  observations: readonly ActualObservation[],
  index: Map<string, ActualIndexEntry>,
  deletes?: readonly string[],
): IndexDiff {
  const complete = deletes === undefined;
  const changed: ActualObservation[] = [];
  const idsToLoad: number[] = [];
  const seen = new Set<string>();
  const reevaluate: string[] = [];
  let unchanged = 0;
  for (const o of observations) {
    const key = keyOf(o);
    seen.add(key);
    const e = index.get(key);
    if (e && e.uid === o.uid && e.resourceVersion === o.resourceVersion) {
      unchanged++;
      if (complete && e.pending) {
        reevaluate.push(key);
        idsToLoad.push(e.id);
      }
      continue;
    }
    changed.push(o);
    if (e) idsToLoad.push(e.id);
  }
  const stale: string[] = [];
  const candidates: Iterable<string> = complete ? index.keys() : deletes;
  for (const key of candidates) {
    const e = index.get(key);
    if (!e || seen.has(key)) continue;
    if (e.hasActual) {
      stale.push(key);
      idsToLoad.push(e.id);
    } else if (complete && e.pending) {
      reevaluate.push(key); // declared in Git, still absent from the cluster after a complete read
      idsToLoad.push(e.id);
    }
  }
  return { changed, unchanged, stale, reevaluate, idsToLoad };
}

export interface WritePlan {
  upserts: Row[];
  deletes: number[];
  transitions: TransitionDraft[];
  created: number;
  updated: number;
  cleared: number;
  recreated: { kind: string; namespace: string; name: string; oldUid: string; newUid: string }[];
  /** Rows whose drift was recomputed without a change of their data. */
  reevaluated: number;
  /** What happened to each object, for the service's `resource` events. */
  changes: ResourceChange[];
}

export interface ResourceChange {
  kind: string;
  namespace: string;
  name: string;
  change: 'created' | 'updated' | 'cleared' | 'deleted';
  driftStatus?: string;
  state?: string;
}

/** Columns the actual side writes; everything else keeps its value (or takes its database default on insert). */
export const ACTUAL_COLUMNS = [
  'fabric_id', 'kind', 'namespace', 'name', 'api_version',
  'actual_spec', 'actual_status', 'actual_uid', 'actual_resource_version', 'actual_updated',
  'labels', 'annotations',
  'drift_status', 'drift_score', 'drift_severity', 'drift_details', 'last_drift_check',
  'resource_state', 'last_state_change', 'state_change_reason', 'last_updated',
] as const;

export function planActualWrites(
  fabricId: number,
  diff: IndexDiff,
  stored: Map<string, StoredResource>,
  ctx: DriftContext,
): WritePlan {
  const plan: WritePlan = { upserts: [], deletes: [], transitions: [], created: 0, updated: 0, cleared: 0, recreated: [], reevaluated: 0, changes: [] };
  const now = ctx.now;

  for (const o of diff.changed) {
    const key = keyOf(o);
    const s = stored.get(key);
    const drift = evaluateDrift(
      {
        kind: o.kind,
        name: o.name,
        desiredSpec: s?.desiredSpec ?? null,
        desiredMeta: s?.syncMetadata?.desired,
        previousDesiredSpec: s?.previousDesiredSpec ?? null,
        desiredUpdated: s?.desiredUpdated ? new Date(s.desiredUpdated) : null,
        draftSpec: s?.draftSpec ?? null,
        actualSpec: o.spec,
        actualLabels: o.labels,
        actualAnnotations: o.annotations,
      },
      ctx,
    );
    let reason = s?.actualUid ? 'changed in the cluster' : 'appeared in the cluster';
    if (s?.actualUid && s.actualUid !== o.uid) {
      reason = `deleted and recreated in the cluster (uid ${s.actualUid} → ${o.uid})`;
      plan.recreated.push({ kind: o.kind, namespace: o.namespace, name: o.name, oldUid: s.actualUid, newUid: o.uid });
    }
    if (s) plan.updated++;
    else plan.created++;
    plan.changes.push({ kind: o.kind, namespace: o.namespace, name: o.name, change: s ? 'updated' : 'created', driftStatus: drift.drift_status, state: drift.resource_state });
    if (!s || s.resourceState !== drift.resource_state) {
      plan.transitions.push({ key, from: s?.resourceState ?? null, to: drift.resource_state, reason });
    }
    plan.upserts.push({
      fabric_id: fabricId,
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      api_version: o.apiVersion,
      actual_spec: o.spec,
      actual_status: o.status,
      actual_uid: o.uid,
      actual_resource_version: o.resourceVersion,
      actual_updated: now,
      labels: o.labels,
      annotations: o.annotations,
      ...drift,
      last_state_change: now,
      state_change_reason: reason,
      last_updated: now,
    });
  }

  for (const key of diff.stale) {
    const s = stored.get(key);
    if (!s) continue; // deleted concurrently; nothing to clear
    plan.cleared++;
    if (s.desiredSpec === null && s.draftSpec === null) {
      // Gone from the cluster and declared nowhere: nothing is left to track.
      plan.deletes.push(s.id);
      plan.changes.push({ kind: s.kind, namespace: s.namespace, name: s.name, change: 'deleted' });
      continue;
    }
    const drift = pushStoredRow(plan, fabricId, key, s, null, 'no longer in the cluster', ctx);
    plan.changes.push({ kind: s.kind, namespace: s.namespace, name: s.name, change: 'cleared', driftStatus: drift.drift_status, state: drift.resource_state });
  }

  for (const key of diff.reevaluate) {
    const s = stored.get(key);
    if (!s) continue;
    plan.reevaluated++;
    const drift = pushStoredRow(plan, fabricId, key, s, s, 'the cluster was read after the Git change', ctx);
    plan.changes.push({ kind: s.kind, namespace: s.namespace, name: s.name, change: 'updated', driftStatus: drift.drift_status, state: drift.resource_state });
  }
  return plan;
}

/** A row written from its stored state: its actual side cleared (`actual` null) or kept as stored. */
function pushStoredRow(
  plan: WritePlan,
  fabricId: number,
  key: string,
  s: StoredResource,
  actual: StoredResource | null,
  reason: string,
  ctx: DriftContext,
): DriftColumns {
  const now = ctx.now;
  const drift = evaluateDrift(
    {
      kind: s.kind,
      name: s.name,
      desiredSpec: s.desiredSpec,
      desiredMeta: s.syncMetadata?.desired,
      previousDesiredSpec: s.previousDesiredSpec,
      desiredUpdated: s.desiredUpdated ? new Date(s.desiredUpdated) : null,
      draftSpec: s.draftSpec,
      actualSpec: actual?.actualSpec ?? null,
      actualLabels: actual?.labels ?? {},
      actualAnnotations: actual?.annotations ?? {},
    },
    ctx,
  );
  if (s.resourceState !== drift.resource_state) plan.transitions.push({ key, from: s.resourceState, to: drift.resource_state, reason });
  plan.upserts.push({
    fabric_id: fabricId,
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    api_version: s.apiVersion,
    actual_spec: actual?.actualSpec ?? null,
    actual_status: actual?.actualStatus ?? null,
    actual_uid: actual?.actualUid ?? null,
    actual_resource_version: actual?.actualResourceVersion ?? null,
    actual_updated: actual ? (actual.actualUpdated ?? now) : now,
    // With the cluster's object gone, the metadata on record is the one Git declares.
    labels: actual ? actual.labels : (s.syncMetadata?.desired?.labels ?? {}),
    annotations: actual ? actual.annotations : (s.syncMetadata?.desired?.annotations ?? {}),
    ...drift,
    last_state_change: now,
    state_change_reason: reason,
    last_updated: now,
  });
  return drift;
}
