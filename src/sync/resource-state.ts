/**
 * The lifecycle of a ledger object follows from its drift status (one mapping, used by both sync directions):
 *
 * | drift status                       | resource_state | meaning                                           |
 * |------------------------------------|----------------|---------------------------------------------------|
 * | in_sync                            | synced         | declared in Git and running as declared            |
 * | spec_drift                         | drifted        | declared and running, but different                |
 * | creation_pending, deletion_pending | pending        | Git changed after the cluster was last read        |
 * | desired_only                       | committed      | declared in Git, not in the cluster                |
 * | actual_only                        | orphaned       | in the cluster, declared nowhere                   |
 * | (any, while the row holds a draft) | draft          | prepared in the ledger, not published to Git yet   |
 */
import type { DriftStatus } from '../drift/types.js';
import type { ResourceState } from '../entities/enums.js';

export type { ResourceState };

export function resourceStateFor(
  status: DriftStatus,
  sides: { desired: boolean; actual: boolean; draft: boolean },
): ResourceState {
  // A draft waits to be published (or discarded) whatever the two sides say: the state machine is
  // draft → committed → pending → synced.
  if (sides.draft) return 'draft';
  switch (status) {
    case 'in_sync':
      return 'synced';
    case 'spec_drift':
      return 'drifted';
    case 'creation_pending':
    case 'deletion_pending':
      return 'pending';
    case 'desired_only':
      return 'committed';
    case 'actual_only':
      return 'orphaned';
  }
}

/** A row holds a draft: an apply draft (with its spec) or a delete draft. */
export function hasDraft(s: { draftOperation: string | null; draftSpec: unknown }): boolean {
  return s.draftOperation !== null || s.draftSpec !== null;
}
