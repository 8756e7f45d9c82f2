/**
 * Planning the desired side of a fabric — a pure function, no database.
 *
 * A row is untouched when its file hash, path, canonical spec, metadata and conflict state are all unchanged.
 * An object gone from the repository gets its desired state cleared — unless the file that declared it
 * failed to parse in this run: then the object may still be there, and clearing it would lose good data.
 */
import { canonicalJson } from '../drift/normalize.js';
import { keyOf, type DesiredObservation } from '../observations.js';
import { EVALUATED_COLUMNS, evaluateDrift, type DriftContext } from './drift-evaluation.js';
import type { DesiredMetadata, StoredResource } from '../store/stored-resources.js';
import { emptyPlan, type WritePlan } from './write-plan.js';
import { deletionDraft } from './transitions.js';
import type { ExternalModification } from '../writeback/external-modifications.js';
import type { ListKeys } from '../writeback/three-way-merge.js';
import { DRAFT_STATE_COLUMNS, externalModificationsAfter, meetDraft, type DraftMeeting } from './desired-draft.js';

export interface Conflict {
  kind: string;
  namespace: string;
  name: string;
  locations: { file: string; line: number }[];
}

export interface DesiredPlanInput {
  fabricId: number;
  commit: string | null;
  observations: readonly DesiredObservation[];
  conflicts: readonly Conflict[];
  /** Files that had errors in this run: objects last declared there are kept, not cleared. */
  filesWithErrors: ReadonlySet<string>;
  stored: Map<string, StoredResource>;
  /**
   * Files whose content differs from what the ledger last read or wrote, with the newest commit that changed each
   * (a commit the ledger did not make): an external modification of every object they declare.
   */
  externalEdits?: ReadonlyMap<string, Omit<ExternalModification, 'path' | 'changedPaths'>>;
  /** List keys of a kind's spec, for merging drafts with Git's newer spec. */
  listKeys?: (kind: string) => ListKeys | undefined;
}

export const DESIRED_COLUMNS = [
  'fabric_id',
  'kind',
  'namespace',
  'name',
  'api_version',
  'desired_spec',
  'previous_desired_spec',
  'desired_commit',
  'desired_file_path',
  'managed_file_path',
  'file_hash',
  'last_file_sync',
  'desired_updated',
  'last_synced_commit',
  'sync_metadata',
  'labels',
  'annotations',
  'conflict_status',
  'conflict_details',
  'external_modifications',
  ...DRAFT_STATE_COLUMNS,
  ...EVALUATED_COLUMNS,
] as const;

export interface DesiredPlan extends WritePlan {
  unchanged: number;
  /** Keys kept although absent, because their file failed to parse. */
  keptFromBrokenFiles: string[];
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

export function planDesiredWrites(input: DesiredPlanInput, ctx: DriftContext): DesiredPlan {
  const plan: DesiredPlan = { ...emptyPlan(), unchanged: 0, keptFromBrokenFiles: [] };
  const conflictByKey = new Map(input.conflicts.map((c) => [keyOf(c), c]));
  const seen = new Set<string>();

  for (const o of input.observations) {
    const key = keyOf(o);
    seen.add(key);
    planDeclared(plan, input, key, o, conflictByKey.get(key), ctx);
  }
  for (const [key, s] of input.stored) {
    if (seen.has(key) || s.desiredSpec === null) continue;
    planUndeclared(plan, input, key, s, ctx);
  }
  return plan;
}

/** How a declared object compares with its stored row. */
interface DeclaredComparison {
  conflictStatus: string;
  conflictDetails: Record<string, unknown>;
  specSame: boolean;
  metaSame: boolean;
  /** Nothing to write: content, file, path, draft and conflict state all as stored. */
  unchanged: boolean;
}

function compareDeclared(
  o: DesiredObservation,
  s: StoredResource | undefined,
  conflict: Conflict | undefined,
  draft: DraftMeeting,
  externalChanged: boolean,
): DeclaredComparison {
  const conflictStatus =
    conflict || draft.conflictOpen
      ? 'detected'
      : (s && s.conflictStatus === 'detected') || (draft.changed && draft.draftConflict)
        ? 'resolved'
        : (s?.conflictStatus ?? 'none');
  const conflictDetails = {
    ...(conflict ? { locations: conflict.locations } : {}),
    ...(draft.draftConflict ? { draft: draft.draftConflict } : {}),
  };
  const specSame = !!s && s.desiredSpec !== null && sameJson(s.desiredSpec, o.spec);
  const metaSame =
    !!s &&
    sameJson(s.syncMetadata?.desired?.labels ?? {}, o.labels) &&
    sameJson(s.syncMetadata?.desired?.annotations ?? {}, o.annotations);
  const unchanged =
    !!s &&
    specSame &&
    metaSame &&
    !draft.changed &&
    !externalChanged &&
    s.fileHash === o.fileHash &&
    s.desiredFilePath === o.filePath &&
    s.conflictStatus === conflictStatus &&
    (!conflict || sameJson(s.conflictDetails?.locations, conflict.locations));
  return { conflictStatus, conflictDetails, specSame, metaSame, unchanged };
}

/** An object the repository declares: created, updated (content, file or conflict changed) or unchanged. */
function planDeclared(
  plan: DesiredPlan,
  input: DesiredPlanInput,
  key: string,
  o: DesiredObservation,
  conflict: Conflict | undefined,
  ctx: DriftContext,
): void {
  const now = ctx.now;
  const s = input.stored.get(key);
  const listKeys = input.listKeys?.(o.kind);
  const draft = meetDraft(s, { spec: o.spec, fileHash: o.fileHash }, input.commit, now, listKeys);
  const external = externalModificationsAfter(s, o, input.externalEdits, listKeys);
  const { conflictStatus, conflictDetails, specSame, metaSame, unchanged } = compareDeclared(
    o,
    s,
    conflict,
    draft,
    external.changed,
  );
  if (unchanged) {
    plan.unchanged++;
    return;
  }
  const desiredMeta: DesiredMetadata = { labels: o.labels, annotations: o.annotations, line: o.line };
  const contentChanged = !specSame || !metaSame;
  const desiredUpdated = contentChanged ? now : s?.desiredUpdated ? new Date(s.desiredUpdated) : now;
  const previousDesiredSpec = contentChanged && s?.desiredSpec ? s.desiredSpec : (s?.previousDesiredSpec ?? null);
  const drift = evaluateDrift(
    {
      kind: o.kind,
      name: o.name,
      desiredSpec: o.spec,
      desiredMeta,
      previousDesiredSpec,
      desiredUpdated,
      hasDraft: draft.hasDraft,
      actualSpec: s?.actualSpec ?? null,
      actualLabels: s?.labels ?? {},
      actualAnnotations: s?.annotations ?? {},
    },
    ctx,
  );
  const reason = !s
    ? `declared in ${o.filePath}`
    : draft.rebase?.outcome === 'landed'
      ? `draft landed in Git (${o.filePath})`
      : contentChanged
        ? `changed in ${o.filePath}`
        : draft.changed
          ? `draft met Git's change in ${o.filePath}`
          : `moved to ${o.filePath}`;
  if (s) plan.updated++;
  else plan.created++;
  plan.changes.push({
    kind: o.kind,
    namespace: o.namespace,
    name: o.name,
    change: s ? 'updated' : 'created',
    driftStatus: drift.drift_status,
    state: drift.resource_state,
  });
  if (!s || s.resourceState !== drift.resource_state)
    plan.transitions.push({ key, from: s?.resourceState ?? null, to: drift.resource_state, reason });
  const hasActual = !!s?.actualSpec;
  plan.upserts.push({
    fabric_id: input.fabricId,
    kind: o.kind,
    namespace: o.namespace,
    name: o.name,
    api_version: o.apiVersion,
    desired_spec: o.spec,
    previous_desired_spec: previousDesiredSpec,
    desired_commit: contentChanged || !s ? input.commit : (s.desiredCommit ?? input.commit),
    desired_file_path: o.filePath,
    managed_file_path: o.filePath,
    file_hash: o.fileHash,
    last_file_sync: now,
    desired_updated: desiredUpdated,
    last_synced_commit: input.commit,
    sync_metadata: { ...(s?.syncMetadata ?? {}), desired: desiredMeta },
    // The cluster's metadata wins on record while the object exists there; Git's otherwise.
    labels: hasActual ? s.labels : o.labels,
    annotations: hasActual ? s.annotations : o.annotations,
    conflict_status: conflictStatus,
    conflict_details: conflictDetails,
    external_modifications: external.list,
    ...draft.columns,
    ...drift,
    last_state_change: now,
    state_change_reason: reason,
    last_updated: now,
    first_seen: now, // kept by the writer when already set
  });
}

/**
 * A stored object the repository no longer declares: kept when its file failed to parse, deleted when nothing
 * else tracks it (not in the cluster, no draft), otherwise its desired state is cleared.
 */
function planUndeclared(
  plan: DesiredPlan,
  input: DesiredPlanInput,
  key: string,
  s: StoredResource,
  ctx: DriftContext,
): void {
  const now = ctx.now;
  if (s.desiredFilePath && input.filesWithErrors.has(s.desiredFilePath)) {
    plan.keptFromBrokenFiles.push(key);
    return;
  }
  plan.cleared++;
  // A delete draft Git has now carried out is done; an apply draft made from the removed spec is in conflict.
  const draft = meetDraft(s, null, input.commit, now, input.listKeys?.(s.kind));
  if (s.actualSpec === null && !draft.hasDraft) {
    plan.deletes.push(s.id); // declared nowhere and not in the cluster: nothing is left to track but its history
    plan.transitions.push(deletionDraft(s, `removed from the repository (was ${s.desiredFilePath ?? 'declared'})`));
    plan.changes.push({ kind: s.kind, namespace: s.namespace, name: s.name, change: 'deleted' });
    return;
  }
  const drift = evaluateDrift(
    {
      kind: s.kind,
      name: s.name,
      desiredSpec: null,
      desiredMeta: undefined,
      previousDesiredSpec: s.desiredSpec,
      desiredUpdated: now,
      hasDraft: draft.hasDraft,
      actualSpec: s.actualSpec,
      actualLabels: s.labels,
      actualAnnotations: s.annotations,
    },
    ctx,
  );
  const reason = `removed from the repository (was ${s.desiredFilePath ?? 'declared'})`;
  plan.changes.push({
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    change: 'cleared',
    driftStatus: drift.drift_status,
    state: drift.resource_state,
  });
  if (s.resourceState !== drift.resource_state)
    plan.transitions.push({ key, from: s.resourceState, to: drift.resource_state, reason });
  const restMeta = { ...s.syncMetadata };
  delete restMeta.desired; // Git no longer declares it
  plan.upserts.push({
    fabric_id: input.fabricId,
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    api_version: s.apiVersion,
    desired_spec: null,
    previous_desired_spec: s.desiredSpec,
    desired_commit: null,
    desired_file_path: null,
    managed_file_path: null,
    file_hash: null,
    last_file_sync: now,
    desired_updated: now,
    last_synced_commit: input.commit,
    sync_metadata: restMeta,
    labels: s.labels,
    annotations: s.annotations,
    conflict_status: draft.conflictOpen ? 'detected' : s.conflictStatus === 'detected' ? 'resolved' : s.conflictStatus,
    conflict_details: draft.draftConflict ? { draft: draft.draftConflict } : {},
    external_modifications: s.externalModifications ?? [],
    ...draft.columns,
    ...drift,
    last_state_change: now,
    state_change_reason: reason,
    last_updated: now,
    first_seen: now, // kept by the writer when already set
  });
}
