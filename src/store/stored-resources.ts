/**
 * The part of a `hedgehog_resource` row that the sync planners read, loaded set-wise (one query per kind
 * or per fabric), with camelCase aliases so the planners work on plain objects.
 */
import type { EntityManager } from '@mikro-orm/core';
import { keyOf } from '../observations.js';
import { IDS_PER_STATEMENT, intArray, query } from './sql.js';
import type { ResourceState } from '../sync/resource-state.js';

export interface DesiredMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  line?: number;
}

export interface StoredResource {
  id: number;
  kind: string;
  namespace: string;
  name: string;
  apiVersion: string;
  desiredSpec: Record<string, unknown> | null;
  previousDesiredSpec: Record<string, unknown> | null;
  desiredUpdated: Date | null;
  desiredCommit: string | null;
  desiredFilePath: string | null;
  fileHash: string | null;
  draftSpec: Record<string, unknown> | null;
  actualSpec: Record<string, unknown> | null;
  actualStatus: Record<string, unknown> | null;
  actualUid: string | null;
  actualResourceVersion: string | null;
  actualUpdated: Date | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** jsonb: NOT NULL still admits a JSON null. */
  syncMetadata: ({ desired?: DesiredMetadata } & Record<string, unknown>) | null;
  resourceState: ResourceState;
  conflictStatus: string;
  /** jsonb: NOT NULL still admits a JSON null. */
  conflictDetails: Record<string, unknown> | null;
}

const COLUMNS = `id, kind, namespace, name, api_version AS "apiVersion", desired_spec AS "desiredSpec",
  previous_desired_spec AS "previousDesiredSpec", desired_updated AS "desiredUpdated", desired_commit AS "desiredCommit",
  desired_file_path AS "desiredFilePath", file_hash AS "fileHash", draft_spec AS "draftSpec", actual_spec AS "actualSpec",
  actual_status AS "actualStatus", actual_uid AS "actualUid", actual_resource_version AS "actualResourceVersion",
  actual_updated AS "actualUpdated",
  labels, annotations, sync_metadata AS "syncMetadata", resource_state AS "resourceState", conflict_status AS "conflictStatus",
  conflict_details AS "conflictDetails"`;

/** Every row of a fabric (optionally one kind), keyed by kind/namespace/name. */
export async function loadStoredResources(
  em: EntityManager,
  fabricId: number,
  kind?: string,
): Promise<Map<string, StoredResource>> {
  const rows = await query<StoredResource>(
    em,
    `SELECT ${COLUMNS} FROM hedgehog_resource WHERE fabric_id = ?${kind ? ' AND kind = ?' : ''}`,
    kind ? [fabricId, kind] : [fabricId],
  );
  return new Map(rows.map((r) => [keyOf(r), r]));
}

/** Rows by id: the second, narrow phase of the actual sync loads details only for rows that changed. */
export async function loadStoredResourcesByIds(
  em: EntityManager,
  ids: readonly number[],
): Promise<Map<string, StoredResource>> {
  const out = new Map<string, StoredResource>();
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    const rows = await query<StoredResource>(em, `SELECT ${COLUMNS} FROM hedgehog_resource WHERE id = ANY(?::int[])`, [
      intArray(ids.slice(i, i + IDS_PER_STATEMENT)),
    ]);
    for (const r of rows) out.set(keyOf(r), r);
  }
  return out;
}

/** The cheap index the actual sync compares against: identity, uid and resourceVersion only. */
export interface ActualIndexEntry {
  id: number;
  uid: string | null;
  resourceVersion: string | null;
  hasActual: boolean;
  /** Drift is creation_pending / deletion_pending: a complete cluster read settles it either way. */
  pending: boolean;
}

const PENDING_SQL = `drift_status IN ('creation_pending', 'deletion_pending') AS pending`;

interface IndexRow {
  id: number;
  kind: string;
  namespace: string;
  name: string;
  uid: string | null;
  rv: string | null;
  pending: boolean;
}

const toEntry = (r: IndexRow): ActualIndexEntry => ({
  id: r.id,
  uid: r.uid,
  resourceVersion: r.rv,
  hasActual: r.uid !== null,
  pending: r.pending,
});

export async function loadActualIndex(
  em: EntityManager,
  fabricId: number,
  kind: string,
): Promise<Map<string, ActualIndexEntry>> {
  return (await loadActualIndexes(em, fabricId, kind)).get(kind) ?? new Map();
}

/**
 * The index of every kind of a fabric (or of one kind), in one query, by kind: a full sync reads all
 * kinds, and one round trip per kind costs more than the rows of a small kind.
 */
export async function loadActualIndexes(
  em: EntityManager,
  fabricId: number,
  kind?: string,
): Promise<Map<string, Map<string, ActualIndexEntry>>> {
  const rows = await query<IndexRow>(
    em,
    `SELECT id, kind, namespace, name, actual_uid AS uid, actual_resource_version AS rv, ${PENDING_SQL}
       FROM hedgehog_resource WHERE fabric_id = ?${kind ? ' AND kind = ?' : ''}`,
    kind ? [fabricId, kind] : [fabricId],
  );
  const out = new Map<string, Map<string, ActualIndexEntry>>();
  for (const r of rows) {
    let index = out.get(r.kind);
    if (!index) out.set(r.kind, (index = new Map<string, ActualIndexEntry>()));
    index.set(keyOf(r), toEntry(r));
  }
  return out;
}

/** The same index, for just the given keys of one kind (watch batches touch a handful of objects). */
export async function loadActualIndexForKeys(
  em: EntityManager,
  fabricId: number,
  kind: string,
  keys: readonly { namespace: string; name: string }[],
): Promise<Map<string, ActualIndexEntry>> {
  const out = new Map<string, ActualIndexEntry>();
  if (keys.length === 0) return out;
  const rows = await query<IndexRow>(
    em,
    `SELECT r.id, r.kind, r.namespace, r.name, r.actual_uid AS uid, r.actual_resource_version AS rv, r.${PENDING_SQL}
       FROM hedgehog_resource r
       JOIN jsonb_to_recordset(?::jsonb) AS k(namespace text, name text) ON k.namespace = r.namespace AND k.name = r.name
      WHERE r.fabric_id = ? AND r.kind = ?`,
    [JSON.stringify(keys.map((k) => ({ namespace: k.namespace, name: k.name }))), fabricId, kind],
  );
  for (const r of rows) out.set(keyOf(r), toEntry(r));
  return out;
}
