/**
 * A desired sync meets the ledger's drafts and its own last reading of each file — pure.
 * - A file whose hash differs from the one the ledger last read or wrote changed in a commit the ledger did not
 *   make: an external modification of the object, appended to its `external_modifications`.
 * - A pending draft is rebased on Git's newer spec: kept as made, cleared when Git now declares what it asks
 *   (landed: a merged pull request, or the same edit made by hand), merged (the draft rebased, conflict `resolved`),
 *   or in conflict (`detected`, each path with base, ours and theirs).
 */
import { canonicalJson } from '../drift/normalize.js';
import { isRecord } from '../common/values.js';
import type { DesiredObservation } from '../observations.js';
import type { StoredResource } from '../store/stored-resources.js';
import type { Row } from '../store/sql.js';
import { appendExternalModification, type ExternalModification } from '../writeback/external-modifications.js';
import { rebaseDraft, type DraftRebase } from '../writeback/rebase-draft.js';
import { changedPaths, type ListKeys } from '../writeback/three-way-merge.js';
import { hasDraft } from './resource-state.js';

export interface DraftMeeting {
  /** The row's eight draft columns after the meeting. */
  columns: Row;
  hasDraft: boolean;
  /** `conflict_details.draft` to record (null: none), and whether it is an open conflict. */
  draftConflict: Record<string, unknown> | null;
  conflictOpen: boolean;
  /** Something about the draft or its conflict changed: the row must be written. */
  changed: boolean;
  rebase: DraftRebase | null;
}

/** A row's draft columns: what drafts write, what publish clears, what a desired sync rebases. One list. */
export const DRAFT_STATE_COLUMNS = [
  'draft_operation',
  'draft_spec',
  'draft_metadata',
  'draft_updated',
  'draft_updated_by',
  'draft_base_spec',
  'draft_base_commit',
  'draft_base_file_hash',
] as const;

/** The conflict a row records is its draft's with Git (`conflict_details.draft`), not a duplicate declaration. */
export function draftConflictOf(
  s: Pick<StoredResource, 'conflictDetails'> | undefined,
): Record<string, unknown> | null {
  const details = s?.conflictDetails;
  return details && isRecord(details.draft) ? details.draft : null;
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

export function draftColumnsOf(s: StoredResource | undefined): Row {
  return {
    draft_operation: s?.draftOperation ?? null,
    draft_spec: s?.draftSpec ?? null,
    draft_metadata: s?.draftMetadata ?? null,
    draft_updated: s?.draftUpdated ?? null,
    draft_updated_by: s?.draftUpdatedBy ?? null,
    draft_base_spec: s?.draftBaseSpec ?? null,
    draft_base_commit: s?.draftBaseCommit ?? null,
    draft_base_file_hash: s?.draftBaseFileHash ?? null,
  };
}

function clearedDraft(s: StoredResource): Row {
  return { ...draftColumnsOf(undefined), draft_updated: s.draftUpdated };
}

/** The draft of `s` against Git's spec (`theirs`, null when Git no longer declares the object). */
export function meetDraft(
  s: StoredResource | undefined,
  theirs: { spec: Record<string, unknown>; fileHash: string } | null,
  commit: string | null,
  now: Date,
  listKeys: ListKeys | undefined,
): DraftMeeting {
  const recorded = draftConflictOf(s);
  const open = s?.conflictStatus === 'detected' && recorded !== null && Array.isArray(recorded.paths);
  const keep: DraftMeeting = {
    columns: draftColumnsOf(s),
    hasDraft: !!s && hasDraft(s),
    draftConflict: recorded,
    conflictOpen: open,
    changed: false,
    rebase: null,
  };
  if (!s || !hasDraft(s)) return keep;
  const rebase = rebaseDraft(
    { operation: s.draftOperation ?? 'apply', spec: s.draftSpec, baseSpec: s.draftBaseSpec },
    theirs?.spec ?? null,
    { listKeys },
  );
  const at = now.toISOString();
  switch (rebase.outcome) {
    case 'as-based':
      return { ...keep, rebase };
    case 'landed':
      return {
        columns: clearedDraft(s),
        hasDraft: false,
        draftConflict: recorded && { ...recorded, landed: commit, at },
        conflictOpen: false,
        changed: true,
        rebase,
      };
    case 'merged':
      return {
        columns: {
          ...draftColumnsOf(s),
          draft_spec: (rebase.target as { spec: Record<string, unknown> }).spec,
          draft_base_spec: theirs!.spec,
          draft_base_commit: commit,
          draft_base_file_hash: theirs!.fileHash,
        },
        hasDraft: true,
        draftConflict: { commit, merged: rebase.mergedPaths, at },
        conflictOpen: false,
        changed: true,
        rebase,
      };
    case 'conflict': {
      const sameConflict = open && same(recorded.paths, rebase.conflicts);
      return {
        ...keep,
        draftConflict: sameConflict ? recorded : { commit, paths: rebase.conflicts, at },
        conflictOpen: true,
        changed: !sameConflict,
        rebase,
      };
    }
  }
}

/** The object's external modifications after this read: one more entry when its file changed outside the ledger. */
export function externalModificationsAfter(
  s: StoredResource | undefined,
  o: DesiredObservation,
  edits: ReadonlyMap<string, Omit<ExternalModification, 'path' | 'changedPaths'>> | undefined,
  listKeys: ListKeys | undefined,
): { list: Record<string, unknown>[]; changed: boolean } {
  const list = s?.externalModifications ?? [];
  const info = edits?.get(o.filePath);
  if (!s || !info || s.fileHash === null || s.fileHash === o.fileHash || s.desiredFilePath !== o.filePath)
    return { list, changed: false };
  const paths = changedPaths(s.desiredSpec ?? {}, o.spec, { listKeys });
  return { list: appendExternalModification(list, { ...info, path: o.filePath, changedPaths: paths }), changed: true };
}
