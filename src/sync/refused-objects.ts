/**
 * Objects the cluster has but the reader refused (a NUL or lone surrogate PostgreSQL cannot store, a schema
 * violation, an oversized object): "present but unreadable", never "gone". Their ledger rows keep the last version
 * that could be read, so each such row is marked (last_sync_error = why) and never swept as if deleted; the mark
 * is cleared by the next valid version the writer stores (ACTUAL_COLUMNS writes last_sync_error = null).
 */
import type { EntityManager } from '@mikro-orm/core';
import { escapeUnstorable } from '../json-safety.js';
import { keyOf, type ObjectError } from '../observations.js';
import { markRefusedRows } from '../store/resource-reads.js';

export interface RefusedObject {
  namespace: string;
  name: string;
  reason: string;
}

/**
 * The refusals of `kind` that name an object (a refusal without a namespace and name cannot point at a row),
 * by key; one per object (the last). A key that also has a valid change in the same write is left out: a watch
 * batch keeps each object's latest event only, so that change came after the refusal.
 */
export function refusedByKey(
  kind: string,
  errors: readonly ObjectError[],
  written: Iterable<{ namespace: string; name: string }>,
): Map<string, RefusedObject> {
  const out = new Map<string, RefusedObject>();
  if (errors.length === 0) return out; // the usual case: no pass over the written objects
  for (const e of errors) {
    if (e.kind !== kind || !e.namespace || !e.name) continue;
    out.set(keyOf({ kind, namespace: e.namespace, name: e.name }), {
      namespace: e.namespace,
      name: e.name,
      reason: e.reason,
    });
  }
  if (out.size) for (const w of written) out.delete(keyOf({ kind, namespace: w.namespace, name: w.name }));
  return out;
}

/** The text stored in last_sync_error of a refused object's row. */
export function refusalMark(reason: string): string {
  return escapeUnstorable(
    `the cluster's current version could not be read (${reason}); this row holds the last version read`,
  );
}

/**
 * Marks the existing rows of refused objects, in the caller's transaction: one small statement (refusals are few).
 * Rows that do not exist are not created: there is nothing readable to put in them. Returns the rows marked.
 */
export async function markRefusedObjects(
  em: EntityManager,
  fabricId: number,
  kind: string,
  refused: Map<string, RefusedObject>,
): Promise<number> {
  if (refused.size === 0) return 0;
  const marks = [...refused.values()].map((r) => ({
    namespace: r.namespace,
    name: r.name,
    mark: refusalMark(r.reason),
  }));
  return markRefusedRows(em, fabricId, kind, marks);
}
