/**
 * What the ledger records after a publish, in one transaction under the fabric lock: each published object's new
 * desired state (spec, commit, file, file hash), its draft cleared and its state `committed`; conflicts of the
 * drafts left out; the new hash of every other object's file the commit rewrote, so the next desired sync does not
 * mistake the ledger's own commit for an external edit. A draft changed while the publish ran keeps its new
 * version, rebased on what was published.
 */
import type { EntityManager } from '@mikro-orm/core';
import { canonicalJson } from '../drift/normalize.js';
import type { HedgehogFabric } from '../entities/index.js';
import { keyOf } from '../observations.js';
import { updateFileHashes } from '../store/file-hashes.js';
import { lastActualSync } from '../store/fabrics.js';
import { loadStoredResourcesForKeys, type StoredResource } from '../store/stored-resources.js';
import { driftContextFor } from '../sync/actual-kind-writer.js';
import { evaluateDrift, type DriftContext } from '../sync/drift-evaluation.js';
import { DESIRED_COLUMNS } from '../sync/desired-plan.js';
import { draftConflictOf } from '../sync/desired-draft.js';
import type { CrdSchemas } from '../crds/crd-schemas.js';
import { defaultsOf } from '../sync/fabric-schemas.js';
import { lockFabricForTransaction } from '../sync/fabric-lock.js';
import type { FabricSyncService } from '../sync/fabric-sync-service.js';
import { applyWritePlan } from '../sync/resource-writer.js';
import { deletionDraft } from '../sync/transitions.js';
import { emptyPlan, type WritePlan } from '../sync/write-plan.js';
import type { Row } from '../store/sql.js';
import { appendExternalModification, type ExternalModification } from './external-modifications.js';
import type { PlannedObject, PublishPlan } from './publish-plan.js';
import { changedPaths as diffPaths } from './three-way-merge.js';

/**
 * What a desired sync writes, but the cluster's metadata and `last_synced_commit`: a publish sets Git's new
 * declaration, the draft's columns, conflicts, external edits and drift, never what only a Git read can say.
 */
const NOT_SET_BY_PUBLISH: ReadonlySet<string> = new Set(['last_synced_commit', 'labels', 'annotations']);
export const PUBLISH_COLUMNS = DESIRED_COLUMNS.filter((c) => !NOT_SET_BY_PUBLISH.has(c));

/** The columns of a draft left out: its conflict, nothing else. */
const CONFLICT_COLUMNS = [
  'fabric_id',
  'kind',
  'namespace',
  'name',
  'conflict_status',
  'conflict_details',
  'last_updated',
] as const;

export interface PublishRecord {
  plan: PublishPlan;
  /** The commit Git now declares (the new one, or the tip when nothing needed a commit). */
  commit: string;
  /** The tip the plan was made against. */
  tip: string;
  /** sha256 of each file after the commit (null: removed). */
  fileHashes: Map<string, string | null>;
  /** The commit reached the fabric's own branch: record the desired state and clear the drafts. */
  recordDesired: boolean;
  /** Files changed at the tip since the ledger last read them, with the commit that did it. */
  external: Map<string, Omit<ExternalModification, 'changedPaths' | 'path'>>;
  actor: string | null;
  runId: number;
  lockTimeoutMs: number;
  /** The CRD schemas the publish planned with (their defaults shape the drift evaluation). */
  schemas: CrdSchemas | null;
}

export async function recordPublished(
  em: EntityManager,
  sync: FabricSyncService,
  fabric: HedgehogFabric,
  r: PublishRecord,
): Promise<void> {
  const schemaDefaults = defaultsOf(r.schemas);
  const changes = await em.fork().transactional(async (tem) => {
    await lockFabricForTransaction(tem, fabric.id, fabric.name, r.lockTimeoutMs);
    const now = new Date();
    const ctx = driftContextFor(fabric, schemaDefaults, await lastActualSync(tem, fabric.id), now);
    const keys = [...r.plan.objects, ...r.plan.leftOut];
    const fresh = await loadStoredResourcesForKeys(tem, fabric.id, keys);
    const conflicts = conflictPlan(r, fresh, fabric.id, now);
    await applyWritePlan(tem, conflicts, CONFLICT_COLUMNS, 'publish', now, undefined, r.runId);
    if (!r.recordDesired) return [];
    const plan = emptyPlan();
    for (const o of r.plan.objects) {
      const s = fresh.get(keyOf(o));
      if (s) publishedRow(plan, o, s, r, ctx, fabric.id);
    }
    await applyWritePlan(tem, plan, PUBLISH_COLUMNS, 'publish', now, undefined, r.runId);
    const rewritten = [...r.fileHashes].filter(([file]) => r.plan.edits.has(file));
    await updateFileHashes(
      tem,
      fabric.id,
      rewritten.map(([path, hash]) => ({ path, hash })),
      now,
    );
    return plan.changes;
  });
  sync.emitChanges(fabric, changes); // committed: a rolled-back record tells no change
}

function conflictPlan(r: PublishRecord, fresh: Map<string, StoredResource>, fabricId: number, now: Date): WritePlan {
  const plan = emptyPlan();
  for (const l of r.plan.leftOut) {
    if (!l.conflicts || !fresh.has(keyOf(l))) continue;
    plan.upserts.push({
      fabric_id: fabricId,
      kind: l.kind,
      namespace: l.namespace,
      name: l.name,
      conflict_status: 'detected',
      conflict_details: { draft: { commit: r.tip, paths: l.conflicts, at: now.toISOString() } },
      last_updated: now,
    });
  }
  return plan;
}

/** One published object's row: Git's new declaration, its draft cleared (or rebased, if it changed meanwhile). */
function publishedRow(
  plan: WritePlan,
  o: PlannedObject,
  s: StoredResource,
  r: PublishRecord,
  ctx: DriftContext,
  fabricId: number,
): void {
  // Raw rows carry timestamps as the driver gives them (a string or a Date): compare instants.
  const draftChanged = timeOf(s.draftUpdated) !== timeOf(o.row.draftUpdated);
  // What Git declares now: the commit's spec, or — for a draft that needed no write (landed, or `theirs` won) —
  // the tip's, which may differ from the ledger's last reading (Git removed or changed the object meanwhile).
  const written = o.outcome !== 'unchanged' || !sameSpec(o.spec, s.desiredSpec);
  const spec = o.spec;
  const file = spec === null ? null : (o.file ?? s.desiredFilePath);
  const hash = file ? (r.fileHashes.get(file) ?? s.fileHash) : null;
  if (spec === null && s.actualSpec === null && !draftChanged) {
    plan.deletes.push(s.id);
    plan.transitions.push(deletionDraft(s, `removed from Git by publish ${r.commit.slice(0, 12)}`));
    plan.changes.push({ kind: s.kind, namespace: s.namespace, name: s.name, change: 'deleted' });
    return;
  }
  // Labels and annotations the publish wrote are the draft's; an object it did not write keeps what was read.
  const meta =
    o.outcome !== 'unchanged'
      ? { labels: o.metadata?.labels ?? {}, annotations: o.metadata?.annotations ?? {} }
      : s.syncMetadata?.desired;
  const drift = evaluateDrift(
    {
      kind: s.kind,
      name: s.name,
      desiredSpec: spec,
      desiredMeta: meta,
      previousDesiredSpec: written ? s.desiredSpec : s.previousDesiredSpec,
      desiredUpdated: written ? ctx.now : s.desiredUpdated,
      hasDraft: draftChanged,
      actualSpec: s.actualSpec,
      actualLabels: s.labels,
      actualAnnotations: s.annotations,
    },
    ctx,
  );
  // The state machine's next step after a publish is `committed` (Git declares it; the cluster has yet to show it).
  const state = draftChanged ? 'draft' : spec === null ? drift.resource_state : 'committed';
  const reason = `published in ${r.commit.slice(0, 12)}${r.actor ? ` by ${r.actor}` : ''}`;
  const row: Row = {
    fabric_id: fabricId,
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    api_version: o.apiVersion,
    desired_spec: spec,
    previous_desired_spec: written ? s.desiredSpec : s.previousDesiredSpec,
    desired_commit: written ? r.commit : s.desiredCommit,
    desired_file_path: file,
    managed_file_path: file,
    file_hash: hash,
    last_file_sync: ctx.now,
    desired_updated: written ? ctx.now : s.desiredUpdated,
    sync_metadata: spec === null ? withoutDesired(s) : { ...(s.syncMetadata ?? {}), desired: meta },
    ...draftColumns(s, draftChanged, spec, r.commit, hash),
    ...conflictColumns(o, s, r),
    external_modifications: externalModifications(o, s, r),
    ...drift,
    resource_state: state,
    last_state_change: ctx.now,
    state_change_reason: reason,
    last_updated: ctx.now,
    first_seen: ctx.now,
  };
  plan.upserts.push(row);
  if (s.resourceState !== state) plan.transitions.push({ key: keyOf(s), from: s.resourceState, to: state, reason });
  plan.updated++;
  plan.changes.push({
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    change: 'updated',
    driftStatus: drift.drift_status,
    state,
  });
}

function withoutDesired(s: StoredResource): Record<string, unknown> {
  const rest = { ...(s.syncMetadata ?? {}) };
  delete rest.desired;
  return rest;
}

function draftColumns(
  s: StoredResource,
  keep: boolean,
  spec: Record<string, unknown> | null,
  commit: string,
  hash: string | null,
): Row {
  if (keep)
    return {
      draft_operation: s.draftOperation,
      draft_spec: s.draftSpec,
      draft_metadata: s.draftMetadata,
      draft_updated: s.draftUpdated,
      draft_updated_by: s.draftUpdatedBy,
      draft_base_spec: spec,
      draft_base_commit: commit,
      draft_base_file_hash: hash,
    };
  return {
    draft_operation: null,
    draft_spec: null,
    draft_metadata: null,
    draft_updated: s.draftUpdated,
    draft_updated_by: null,
    draft_base_spec: null,
    draft_base_commit: null,
    draft_base_file_hash: null,
  };
}

function conflictColumns(o: PlannedObject, s: StoredResource, r: PublishRecord): Row {
  const at = new Date().toISOString();
  if (o.rebase.outcome === 'conflict')
    return {
      conflict_status: 'resolved',
      conflict_details: { draft: { commit: r.tip, paths: o.rebase.conflicts, strategy: o.rebase.strategy, at } },
    };
  if (o.rebase.outcome === 'merged')
    return {
      conflict_status: 'resolved',
      conflict_details: { draft: { commit: r.tip, merged: o.rebase.mergedPaths, at } },
    };
  const wasDraftConflict = draftConflictOf(s) !== null;
  return wasDraftConflict
    ? { conflict_status: 'resolved', conflict_details: s.conflictDetails }
    : { conflict_status: s.conflictStatus, conflict_details: s.conflictDetails ?? {} };
}

function externalModifications(o: PlannedObject, s: StoredResource, r: PublishRecord): Record<string, unknown>[] {
  const list = s.externalModifications ?? [];
  const file = s.desiredFilePath;
  const info = file ? r.external.get(file) : undefined;
  if (!file || !info) return list;
  const changedPaths = o.theirsSpec === null ? [] : diffPaths(s.desiredSpec ?? {}, o.theirsSpec);
  return appendExternalModification(list, { ...info, path: file, changedPaths });
}

const sameSpec = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

function timeOf(v: Date | string | null): number | null {
  return v === null ? null : new Date(v).getTime();
}
