/**
 * A draft meets a newer Git spec — pure. Whether at a desired sync (Git moved under a pending draft) or before a
 * publish (the branch tip moved since the draft was made), the question is the same: does the draft still apply as
 * made, has Git already caught up with it, can the two be merged, or do they conflict? The three-way merge works on
 * the spec at JSON-pointer level (src/writeback/three-way-merge.ts); a whole-object conflict (deleted on one side,
 * changed on the other) is reported at the pointer ''.
 */
import { canonicalJson } from '../drift/normalize.js';
import type { DraftOperation } from '../entities/enums.js';
import { changedPaths, resolveWith, threeWayMerge, type ListKeys, type MergeConflict } from './three-way-merge.js';

type Spec = Record<string, unknown>;

export interface DraftSide {
  operation: DraftOperation;
  /** The drafted spec (null for a delete draft). */
  spec: Spec | null;
  /** What Git declared when the draft was made (null: not declared). */
  baseSpec: Spec | null;
}

export type ConflictStrategy = 'fail' | 'ours' | 'theirs';

/** What publishing the draft now means, once strategy and merge are applied. */
export type DraftTarget = { operation: 'apply'; spec: Spec } | { operation: 'delete' } | { operation: 'none' };

export type DraftRebase =
  /** Git still declares the base: the draft applies as made. */
  | { outcome: 'as-based'; target: DraftTarget }
  /** Git already declares what the draft asks: nothing left to publish. */
  | { outcome: 'landed'; target: { operation: 'none' } }
  /** Git changed other paths than the draft: merged, the draft rebased on Git's spec. */
  | { outcome: 'merged'; target: DraftTarget; mergedPaths: string[] }
  /** Git and the draft changed the same paths differently; `target` is set only when a strategy settled it. */
  | { outcome: 'conflict'; conflicts: MergeConflict[]; target: DraftTarget | null; strategy: ConflictStrategy };

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** The draft against Git's current spec (`theirs`, null when Git no longer declares the object). */
export function rebaseDraft(
  draft: DraftSide,
  theirs: Spec | null,
  opts: { listKeys?: ListKeys; strategy?: ConflictStrategy } = {},
): DraftRebase {
  const strategy = opts.strategy ?? 'fail';
  if (draft.operation === 'delete') return rebaseDelete(draft, theirs, strategy);
  const ours = draft.spec ?? {};
  if (theirs !== null && same(theirs, ours)) return { outcome: 'landed', target: { operation: 'none' } };
  if (same(theirs, draft.baseSpec)) return { outcome: 'as-based', target: { operation: 'apply', spec: ours } };
  if (theirs === null) {
    // Removed from Git after the draft was made from it: keep it (ours) or let the removal stand (theirs).
    const conflicts = [{ path: '', base: draft.baseSpec, ours }];
    const target: DraftTarget | null =
      strategy === 'ours' ? { operation: 'apply', spec: ours } : strategy === 'theirs' ? { operation: 'none' } : null;
    return { outcome: 'conflict', conflicts, target, strategy };
  }
  const merge = threeWayMerge(draft.baseSpec ?? undefined, ours, theirs, { listKeys: opts.listKeys });
  if (merge.clean) {
    const mergedPaths = changedPaths(draft.baseSpec ?? {}, theirs, { listKeys: opts.listKeys });
    return { outcome: 'merged', target: { operation: 'apply', spec: merge.merged }, mergedPaths };
  }
  const target: DraftTarget | null =
    strategy === 'fail' ? null : { operation: 'apply', spec: resolveWith(merge, strategy) };
  return { outcome: 'conflict', conflicts: merge.conflicts, target, strategy };
}

function rebaseDelete(draft: DraftSide, theirs: Spec | null, strategy: ConflictStrategy): DraftRebase {
  if (theirs === null) return { outcome: 'landed', target: { operation: 'none' } };
  if (same(theirs, draft.baseSpec)) return { outcome: 'as-based', target: { operation: 'delete' } };
  // Changed in Git after its deletion was drafted: delete anyway (ours) or keep Git's version (theirs).
  const conflicts = [{ path: '', base: draft.baseSpec, theirs }];
  const target: DraftTarget | null =
    strategy === 'ours' ? { operation: 'delete' } : strategy === 'theirs' ? { operation: 'none' } : null;
  return { outcome: 'conflict', conflicts, target, strategy };
}
