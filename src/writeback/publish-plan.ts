/**
 * Planning a publish — pure: the fabric's drafts and Git's state at the branch tip in, the file edits and the fate
 * of every draft out. Each draft is rebased on the tip (src/writeback/rebase-draft.ts): applied as made, merged
 * with Git's newer spec, already landed, or left out on a conflict (unless a strategy settles it). An object Git
 * declares is edited in its file; a new one goes to the managed file the fabric's template names.
 */
import type { DesiredConflict } from '../gitops/desired-state-reader.js';
import { kindInfo } from '../kube/catalog.js';
import { keyOf, type DesiredObservation, type ObjectError, type ResourceKey } from '../observations.js';
import type { StoredResource } from '../store/stored-resources.js';
import { effectiveDirection } from '../drafts/draft-plan.js';
import type { SyncDirection } from '../entities/enums.js';
import { managedFilePath, type FabricObjectDoc, type ManifestEdit } from './manifest-editor.js';
import { rebaseDraft, type ConflictStrategy, type DraftRebase } from './rebase-draft.js';
import type { ListKeys, MergeConflict } from './three-way-merge.js';

export type PublishOutcome = 'created' | 'updated' | 'deleted' | 'unchanged';

/** A draft that goes into the commit (or turned out to need nothing). */
export interface PlannedObject extends ResourceKey {
  row: StoredResource;
  operation: 'apply' | 'delete';
  outcome: PublishOutcome;
  /** The file the object is written to or removed from; null when nothing is written. */
  file: string | null;
  /** The spec Git will declare (null: removed). */
  spec: Record<string, unknown> | null;
  metadata: { labels: Record<string, string>; annotations: Record<string, string> } | null;
  apiVersion: string;
  rebase: DraftRebase;
  /** What Git declared at the tip (null: not declared there). */
  theirsSpec: Record<string, unknown> | null;
  /** The tip's file of the object and its hash, when declared there. */
  theirsFile: { path: string; hash: string } | null;
}

export interface LeftOutObject extends ResourceKey {
  reason: string;
  conflicts?: MergeConflict[];
}

export interface PublishPlan {
  objects: PlannedObject[];
  leftOut: LeftOutObject[];
  /** File → the edits to make in it, in draft order. */
  edits: Map<string, ManifestEdit[]>;
}

export interface PublishPlanInput {
  drafts: readonly StoredResource[];
  /** Git's fabric objects at the tip (first declaration of each), and those declared more than once. */
  tip: {
    observations: readonly DesiredObservation[];
    conflicts: readonly DesiredConflict[];
    /** Problems of the tip's files: an object last read from a file that now fails is not known to be gone. */
    errors?: readonly ObjectError[];
  };
  fabricDirection: SyncDirection;
  strategy: ConflictStrategy;
  managedFileTemplate: string;
  gitPath: string;
  listKeys: (kind: string) => ListKeys | undefined;
}

export function planPublish(input: PublishPlanInput): PublishPlan {
  const plan: PublishPlan = { objects: [], leftOut: [], edits: new Map() };
  const atTip = new Map(input.tip.observations.map((o) => [keyOf(o), o]));
  const declaredTwice = new Map(input.tip.conflicts.map((c) => [keyOf(c), c]));
  const brokenFiles = new Map<string, string>();
  for (const e of input.tip.errors ?? []) if (e.file && !brokenFiles.has(e.file)) brokenFiles.set(e.file, e.reason);
  for (const row of input.drafts) {
    const key = { kind: row.kind, namespace: row.namespace, name: row.name };
    const theirs = atTip.get(keyOf(key)) ?? null;
    const why =
      leaveOutReason(row, input, declaredTwice.get(keyOf(key))) ?? (theirs ? null : unreadableReason(row, brokenFiles));
    if (why) {
      plan.leftOut.push({ ...key, reason: why });
      continue;
    }
    const rebase = rebaseDraft(
      { operation: row.draftOperation ?? 'apply', spec: row.draftSpec, baseSpec: row.draftBaseSpec },
      theirs?.spec ?? null,
      { listKeys: input.listKeys(row.kind), strategy: input.strategy },
    );
    if (rebase.outcome === 'conflict' && rebase.target === null) {
      plan.leftOut.push({ ...key, reason: conflictReason(rebase.conflicts), conflicts: rebase.conflicts });
      continue;
    }
    planObject(plan, input, row, theirs, rebase);
  }
  return plan;
}

function leaveOutReason(
  row: StoredResource,
  input: PublishPlanInput,
  twice: DesiredConflict | undefined,
): string | null {
  if (effectiveDirection(row, input.fabricDirection) === 'git_to_ledger')
    return 'sync direction is git_to_ledger (Git is read only): the draft is kept, not published';
  if (twice) {
    const where = twice.locations.map((l) => `${l.file}:${l.line}`).join(', ');
    return `declared more than once in Git (${where}): which declaration to change cannot be told; fix Git first`;
  }
  if (row.draftOperation === 'apply' && !kindInfo(row.kind)) return `kind ${row.kind} is not a fabric kind`;
  return null;
}

/**
 * An object the tip does not show whose file has errors there may still be declared in it: taking it as removed
 * would carry out a delete draft that never happened, or write a second declaration of it elsewhere.
 */
function unreadableReason(row: StoredResource, brokenFiles: ReadonlyMap<string, string>): string | null {
  const file = row.desiredFilePath;
  const problem = file ? brokenFiles.get(file) : undefined;
  if (!file || problem === undefined) return null;
  return `its file ${file} cannot be read at the tip (${problem.split('\n')[0]}): whether Git still declares it cannot be told; fix the file first`;
}

function conflictReason(conflicts: readonly MergeConflict[]): string {
  const paths = conflicts.map((c) => (c.path === '' ? '(the whole object)' : c.path));
  const shown = paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, and ${paths.length - 3} more` : '');
  return `conflict with Git: ${shown} changed in Git and in the draft; re-apply the draft on Git's version, or publish with --strategy ours|theirs`;
}

function planObject(
  plan: PublishPlan,
  input: PublishPlanInput,
  row: StoredResource,
  theirs: DesiredObservation | null,
  rebase: DraftRebase,
): void {
  const key = { kind: row.kind, namespace: row.namespace, name: row.name };
  const target = rebase.target ?? { operation: 'none' as const };
  const operation = row.draftOperation ?? 'apply';
  const base = {
    ...key,
    row,
    operation,
    rebase,
    apiVersion: theirs?.apiVersion ?? row.apiVersion,
    theirsSpec: theirs?.spec ?? null,
    theirsFile: theirs ? { path: theirs.filePath, hash: theirs.fileHash } : null,
  };
  const metadata = {
    labels: row.draftMetadata?.labels ?? {},
    annotations: row.draftMetadata?.annotations ?? {},
  };
  if (target.operation === 'none') {
    // Git already says what the draft asked (or the strategy let Git's version stand): nothing to write.
    plan.objects.push({
      ...base,
      outcome: 'unchanged',
      file: theirs?.filePath ?? null,
      spec: theirs?.spec ?? null,
      metadata: null,
    });
    return;
  }
  if (target.operation === 'delete') {
    const file = theirs!.filePath;
    addEdit(plan, file, { op: 'delete', ref: key });
    plan.objects.push({ ...base, outcome: 'deleted', file, spec: null, metadata: null });
    return;
  }
  const info = kindInfo(row.kind)!;
  let file: string;
  try {
    file =
      theirs?.filePath ?? managedFilePath(input.managedFileTemplate, input.gitPath, { ...key, plural: info.plural });
  } catch (err) {
    // A template that would put the file outside the fabric's path (or nowhere sensible) costs only this object.
    plan.leftOut.push({ ...key, reason: (err as Error).message });
    return;
  }
  const object: FabricObjectDoc = {
    apiVersion: base.apiVersion,
    kind: row.kind,
    metadata: {
      name: row.name,
      ...(row.namespace !== 'default' ? { namespace: row.namespace } : {}),
      ...(Object.keys(metadata.labels).length ? { labels: metadata.labels } : {}),
      ...(Object.keys(metadata.annotations).length ? { annotations: metadata.annotations } : {}),
    },
    spec: target.spec,
  };
  addEdit(plan, file, { op: 'put', object });
  plan.objects.push({ ...base, outcome: theirs ? 'updated' : 'created', file, spec: target.spec, metadata });
}

/**
 * Take every object of `file` out of the plan (the editor refused the file): they are left out with `reason`,
 * so one file that cannot be edited costs only its own objects.
 */
export function leaveOutFile(plan: PublishPlan, file: string, reason: string): void {
  plan.edits.delete(file);
  const kept: PlannedObject[] = [];
  for (const o of plan.objects) {
    if (o.file === file && o.outcome !== 'unchanged')
      plan.leftOut.push({ kind: o.kind, namespace: o.namespace, name: o.name, reason });
    else kept.push(o);
  }
  plan.objects = kept;
}

function addEdit(plan: PublishPlan, file: string, edit: ManifestEdit): void {
  const list = plan.edits.get(file);
  if (list) list.push(edit);
  else plan.edits.set(file, [edit]);
}
