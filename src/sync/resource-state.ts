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
 * | (only a draft, no other side)      | draft          | edited in a GUI, not committed yet                 |
 */
import type { DriftStatus } from '../drift/types.js';
import type { ResourceState } from '../entities/enums.js';

export type { ResourceState };

export function resourceStateFor(
  status: DriftStatus,
  sides: { desired: boolean; actual: boolean; draft: boolean },
): ResourceState {
  if (!sides.desired && !sides.actual && sides.draft) return 'draft';
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
