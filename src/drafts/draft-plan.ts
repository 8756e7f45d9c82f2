/**
 * Planning draft changes — pure: stored rows and parsed objects in, a WritePlan out (the same writer as the syncs).
 *
 * A draft records its base (the desired spec, commit and file hash it was made from) when it is first made; later
 * edits of the same draft keep that base, so a three-way merge with a newer Git spec always starts from what the
 * author saw. The row's state is `draft` while it holds one (a transition row says so); discarding returns the row
 * to the state its two sides give.
 */
import { canonicalJson } from '../drift/normalize.js';
import type { DraftOperation, SyncDirection } from '../entities/enums.js';
import { keyOf, type DesiredObservation, type ObjectError, type ResourceKey } from '../observations.js';
import type { StoredResource } from '../store/stored-resources.js';
import { hasDraft, resourceStateFor } from '../sync/resource-state.js';
import { deletionDraft } from '../sync/transitions.js';
import { DRAFT_STATE_COLUMNS, draftConflictOf } from '../sync/desired-draft.js';
import { emptyPlan, type WritePlan } from '../sync/write-plan.js';

/** The columns a draft write sets (identity first); nothing of either side is touched. */
export const DRAFT_COLUMNS = [
  'fabric_id',
  'kind',
  'namespace',
  'name',
  'api_version',
  ...DRAFT_STATE_COLUMNS,
  'conflict_status',
  'conflict_details',
  'resource_state',
  'last_state_change',
  'state_change_reason',
  'last_updated',
] as const;

export type DraftOutcome = 'created' | 'updated' | 'unchanged' | 'discarded';

export interface DraftChange extends ResourceKey {
  outcome: DraftOutcome;
  operation: DraftOperation | null;
}

export interface DraftPlan extends WritePlan {
  results: DraftChange[];
  refused: ObjectError[];
}

export interface DraftPlanContext {
  fabricId: number;
  fabricName: string;
  fabricDirection: SyncDirection;
  actor: string | null;
  now: Date;
}

/** The direction that applies to a row: its own override, else the fabric's. */
export function effectiveDirection(s: Pick<StoredResource, 'syncDirection'> | undefined, fabric: SyncDirection) {
  return s && s.syncDirection !== 'inherit' ? s.syncDirection : fabric;
}

function readOnlyProblem(key: ResourceKey, s: StoredResource | undefined, ctx: DraftPlanContext): ObjectError | null {
  if (effectiveDirection(s, ctx.fabricDirection) !== 'git_to_ledger') return null;
  const whose = s && s.syncDirection !== 'inherit' ? 'this object' : `fabric "${ctx.fabricName}"`;
  return {
    ...key,
    reason: `${whose} is git_to_ledger (Git is read only): drafts are refused; change it with \`hh-sync fabric set ${ctx.fabricName} --sync-direction bidirectional\``,
  };
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** The draft's base: kept from an existing draft, else what Git declares now. */
function baseOf(s: StoredResource | undefined) {
  if (s && hasDraft(s)) return { spec: s.draftBaseSpec, commit: s.draftBaseCommit, fileHash: s.draftBaseFileHash };
  return { spec: s?.desiredSpec ?? null, commit: s?.desiredCommit ?? null, fileHash: s?.fileHash ?? null };
}

interface DraftWrite {
  operation: DraftOperation;
  apiVersion: string;
  spec: Record<string, unknown> | null;
  metadata: { labels: Record<string, string>; annotations: Record<string, string> } | null;
  reason: string;
}

/** One row's draft columns, and its transition to `draft` when it was not one. */
function pushDraftRow(
  plan: DraftPlan,
  key: ResourceKey,
  s: StoredResource | undefined,
  w: DraftWrite,
  ctx: DraftPlanContext,
): void {
  const base = baseOf(s);
  plan.upserts.push({
    fabric_id: ctx.fabricId,
    kind: key.kind,
    namespace: key.namespace,
    name: key.name,
    api_version: s?.apiVersion ?? w.apiVersion,
    draft_operation: w.operation,
    draft_spec: w.spec,
    draft_metadata: w.metadata,
    draft_updated: ctx.now,
    draft_updated_by: ctx.actor,
    draft_base_spec: base.spec,
    draft_base_commit: base.commit,
    draft_base_file_hash: base.fileHash,
    // A new draft (or a new version of one) is made against the base it names: an old merge conflict no longer holds.
    conflict_status: 'none',
    conflict_details: {},
    resource_state: 'draft',
    last_state_change: ctx.now,
    state_change_reason: w.reason,
    last_updated: ctx.now,
  });
  if (!s || s.resourceState !== 'draft')
    plan.transitions.push({ key: keyOf(key), from: s?.resourceState ?? null, to: 'draft', reason: w.reason });
  if (s) plan.updated++;
  else plan.created++;
  plan.results.push({ ...key, outcome: s && hasDraft(s) ? 'updated' : 'created', operation: w.operation });
}

const by = (ctx: DraftPlanContext) => (ctx.actor ? ` by ${ctx.actor}` : '');

/** Apply drafts: each object becomes (or replaces) its row's draft, unless it is what Git already declares. */
export function planDraftApply(
  objects: readonly DesiredObservation[],
  stored: Map<string, StoredResource>,
  ctx: DraftPlanContext,
): DraftPlan {
  const plan: DraftPlan = { ...emptyPlan(), results: [], refused: [] };
  for (const o of objects) {
    const key = { kind: o.kind, namespace: o.namespace, name: o.name };
    const s = stored.get(keyOf(key));
    const problem = readOnlyProblem(key, s, ctx);
    if (problem) {
      plan.refused.push({ ...problem, file: o.filePath, line: o.line });
      continue;
    }
    const metadata = { labels: o.labels, annotations: o.annotations };
    const asDrafted = s && s.draftOperation === 'apply' && same(s.draftSpec, o.spec) && same(s.draftMetadata, metadata);
    const asDeclared =
      s &&
      !hasDraft(s) &&
      s.desiredSpec !== null &&
      same(s.desiredSpec, o.spec) &&
      same(s.syncMetadata?.desired?.labels ?? {}, o.labels) &&
      same(s.syncMetadata?.desired?.annotations ?? {}, o.annotations);
    if (asDrafted || asDeclared) {
      plan.results.push({ ...key, outcome: 'unchanged', operation: s.draftOperation });
      continue;
    }
    const reason = `${s?.desiredSpec ? 'change' : 'new object'} drafted${by(ctx)}`;
    pushDraftRow(plan, key, s, { operation: 'apply', apiVersion: o.apiVersion, spec: o.spec, metadata, reason }, ctx);
  }
  return plan;
}

/**
 * Delete drafts: remove the object from Git at the next publish. An object Git does not declare has nothing to
 * remove: its apply draft (if any) is discarded instead, and anything else is refused.
 */
export function planDraftDelete(
  keys: readonly ResourceKey[],
  stored: Map<string, StoredResource>,
  ctx: DraftPlanContext,
): DraftPlan {
  const plan: DraftPlan = { ...emptyPlan(), results: [], refused: [] };
  for (const key of keys) {
    const s = stored.get(keyOf(key));
    const problem = readOnlyProblem(key, s, ctx);
    if (problem) {
      plan.refused.push(problem);
      continue;
    }
    if (!s || (s.desiredSpec === null && !hasDraft(s))) {
      plan.refused.push({ ...key, reason: 'Git does not declare this object: there is nothing to delete' });
      continue;
    }
    if (s.desiredSpec === null) {
      discardRow(plan, s, ctx, `new object's draft withdrawn${by(ctx)}`);
      continue;
    }
    if (s.draftOperation === 'delete') {
      plan.results.push({ ...key, outcome: 'unchanged', operation: 'delete' });
      continue;
    }
    const reason = `deletion drafted${by(ctx)}`;
    pushDraftRow(
      plan,
      key,
      s,
      { operation: 'delete', apiVersion: s.apiVersion, spec: null, metadata: null, reason },
      ctx,
    );
  }
  return plan;
}

/** Discard drafts: each named row (or every row holding one) loses its draft and returns to its sides' state. */
export function planDraftDiscard(rows: readonly StoredResource[], ctx: DraftPlanContext): DraftPlan {
  const plan: DraftPlan = { ...emptyPlan(), results: [], refused: [] };
  for (const s of rows) {
    if (!hasDraft(s)) {
      plan.refused.push({ kind: s.kind, namespace: s.namespace, name: s.name, reason: 'holds no draft' });
      continue;
    }
    discardRow(plan, s, ctx, `draft discarded${by(ctx)}`);
  }
  return plan;
}

function discardRow(plan: DraftPlan, s: StoredResource, ctx: DraftPlanContext, reason: string): void {
  const key = { kind: s.kind, namespace: s.namespace, name: s.name };
  plan.results.push({ ...key, outcome: 'discarded', operation: s.draftOperation });
  plan.cleared++;
  if (s.desiredSpec === null && s.actualSpec === null) {
    // A row that only ever held this draft: nothing is left to track but its history.
    plan.deletes.push(s.id);
    plan.transitions.push(deletionDraft(s, reason));
    return;
  }
  const state = s.driftStatus
    ? resourceStateFor(s.driftStatus, { desired: s.desiredSpec !== null, actual: s.actualSpec !== null, draft: false })
    : s.desiredSpec !== null
      ? 'committed'
      : 'orphaned';
  plan.upserts.push({
    fabric_id: ctx.fabricId,
    ...key,
    api_version: s.apiVersion,
    draft_operation: null,
    draft_spec: null,
    draft_metadata: null,
    draft_updated: s.draftUpdated, // when the ledger last held a draft; the transition says who discarded it
    draft_updated_by: null,
    draft_base_spec: null,
    draft_base_commit: null,
    draft_base_file_hash: null,
    conflict_status: s.conflictStatus === 'detected' && draftConflictOf(s) !== null ? 'resolved' : s.conflictStatus,
    conflict_details: s.conflictStatus === 'detected' && draftConflictOf(s) !== null ? {} : (s.conflictDetails ?? {}),
    resource_state: state,
    last_state_change: ctx.now,
    state_change_reason: reason,
    last_updated: ctx.now,
  });
  if (s.resourceState !== state) plan.transitions.push({ key: keyOf(key), from: s.resourceState, to: state, reason });
}
