/**
 * The part of a `hedgehog_resource` row that the sync planners read, loaded set-wise (one query per kind
 * or per fabric), with camelCase aliases so the planners work on plain objects.
 */
import type { EntityManager } from '@mikro-orm/core';
import { keyOf } from '../observations.js';
import { IDS_PER_STATEMENT, intArray, query } from './sql.js';
import { SUMMARY_GROUP_COUNTS_SQL, SUMMARY_GROUP_KEYS_SQL, type SummaryGroup } from './fabrics.js';
import type { DraftOperation, DriftStatus, ResourceState, ResourceSyncDirection } from '../entities/enums.js';

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
  draftOperation: DraftOperation | null;
  /** `{ labels, annotations }` of the draft. */
  draftMetadata: { labels?: Record<string, string>; annotations?: Record<string, string> } | null;
  draftUpdated: Date | null;
  draftUpdatedBy: string | null;
  draftBaseSpec: Record<string, unknown> | null;
  draftBaseCommit: string | null;
  draftBaseFileHash: string | null;
  syncDirection: ResourceSyncDirection;
  driftStatus: DriftStatus | null;
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
  /** jsonb: NOT NULL still admits a JSON null. */
  externalModifications: Record<string, unknown>[] | null;
}

const COLUMNS = `id, kind, namespace, name, api_version AS "apiVersion", desired_spec AS "desiredSpec",
  previous_desired_spec AS "previousDesiredSpec", desired_updated AS "desiredUpdated", desired_commit AS "desiredCommit",
  desired_file_path AS "desiredFilePath", file_hash AS "fileHash", draft_spec AS "draftSpec", actual_spec AS "actualSpec",
  actual_status AS "actualStatus", actual_uid AS "actualUid", actual_resource_version AS "actualResourceVersion",
  actual_updated AS "actualUpdated",
  labels, annotations, sync_metadata AS "syncMetadata", resource_state AS "resourceState", conflict_status AS "conflictStatus",
  conflict_details AS "conflictDetails", draft_operation AS "draftOperation", draft_metadata AS "draftMetadata",
  draft_updated AS "draftUpdated", draft_updated_by AS "draftUpdatedBy", draft_base_spec AS "draftBaseSpec",
  draft_base_commit AS "draftBaseCommit", draft_base_file_hash AS "draftBaseFileHash", sync_direction AS "syncDirection",
  drift_status AS "driftStatus", external_modifications AS "externalModifications"`;

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

/** Drift creation_pending / deletion_pending (false for a row never evaluated), of the row `table` names. */
const isPendingSql = (table = '') =>
  `coalesce(${table}drift_status IN ('creation_pending', 'deletion_pending'), false)`;

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
 * kinds, and one round trip per kind costs more than the rows of a small kind. Each kind comes as JSON arrays
 * built by the server, its keys made there too: a re-sync of 100,000 objects parses a few texts per kind natively
 * instead of 100,000 rows through the driver's row parser, each with a key built here.
 */
export async function loadActualIndexes(
  em: EntityManager,
  fabricId: number,
  kind?: string,
): Promise<Map<string, Map<string, ActualIndexEntry>>> {
  const out = new Map<string, Map<string, ActualIndexEntry>>();
  for (const [k, texts] of (await loadActualIndexTexts(em, fabricId, kind)).texts) out.set(k, parseActualIndex(texts));
  return out;
}

/** A fabric's actual index as the server sent it (loadActualIndexTexts). */
export interface ActualIndexTexts {
  /** Each kind's index as JSON texts (one per drift status and severity of its rows), for parseActualIndex. */
  texts: Map<string, string[]>;
  /**
   * The same rows counted for the fabric's summary, by the same scan (src/store/fabrics.ts): a run that then writes
   * no row has its summary without a second scan of every row.
   */
  summaryGroups: SummaryGroup[];
}

/**
 * loadActualIndexes as the server sent it: each kind's index as JSON text, parsed by parseActualIndex when the
 * kind's turn comes. A run over a large fabric then holds one kind's index as objects at a time, not every kind's
 * (the text is about a third of the objects' size).
 */
export async function loadActualIndexTexts(
  em: EntityManager,
  fabricId: number,
  kind?: string,
): Promise<ActualIndexTexts> {
  const rows = await query<SummaryGroup & { entries: string }>(em, aggregatedIndexSql(kind !== undefined), [
    fabricId,
    ...(kind !== undefined ? [kind] : []),
  ]);
  const texts = new Map<string, string[]>();
  const summaryGroups: SummaryGroup[] = [];
  for (const { entries, ...group } of rows) {
    const kindTexts = texts.get(group.kind);
    if (kindTexts) kindTexts.push(entries);
    else texts.set(group.kind, [entries]);
    summaryGroups.push(group);
  }
  return { texts, summaryGroups };
}

/** One kind's index from its texts (loadActualIndexTexts). */
export function parseActualIndex(texts: readonly string[]): Map<string, ActualIndexEntry> {
  const index = new Map<string, ActualIndexEntry>();
  for (const text of texts) {
    for (const [key, id, uid, rv, pending] of JSON.parse(text) as AggregatedEntry[]) {
      index.set(key, { id, uid, resourceVersion: rv, hasActual: uid !== null, pending });
    }
  }
  return index;
}

/** One index entry as the server aggregates it: key (kind/namespace/name, as keyOf), id, uid, resourceVersion, pending. */
type AggregatedEntry = [string, number, string | null, string | null, boolean];

// Cast to text: the text is parsed here, whatever the driver does with json values. Grouped as the summary groups
// its rows (SUMMARY_GROUP_KEYS_SQL), so the one scan also counts them (SUMMARY_GROUP_COUNTS_SQL).
const aggregatedIndexSql = (oneKind: boolean) =>
  `SELECT ${SUMMARY_GROUP_KEYS_SQL}, ${SUMMARY_GROUP_COUNTS_SQL},
          json_agg(json_build_array(kind || '/' || namespace || '/' || name, id, actual_uid,
                                    actual_resource_version, ${isPendingSql()}))::text AS entries
     FROM hedgehog_resource WHERE fabric_id = ?${oneKind ? ' AND kind = ?' : ''}
    GROUP BY ${SUMMARY_GROUP_KEYS_SQL}`;

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
    `SELECT r.id, r.kind, r.namespace, r.name, r.actual_uid AS uid, r.actual_resource_version AS rv, ${isPendingSql('r.')} AS pending
       FROM hedgehog_resource r
       JOIN jsonb_to_recordset(?::jsonb) AS k(namespace text, name text) ON k.namespace = r.namespace AND k.name = r.name
      WHERE r.fabric_id = ? AND r.kind = ?`,
    [JSON.stringify(keys.map((k) => ({ namespace: k.namespace, name: k.name }))), fabricId, kind],
  );
  for (const r of rows) out.set(keyOf(r), toEntry(r));
  return out;
}

/** The rows of just these keys (a draft names a handful of objects; a fabric may hold thousands). */
export async function loadStoredResourcesForKeys(
  em: EntityManager,
  fabricId: number,
  keys: readonly { kind: string; namespace: string; name: string }[],
): Promise<Map<string, StoredResource>> {
  if (keys.length === 0) return new Map();
  const rows = await query<StoredResource>(
    em,
    `SELECT ${COLUMNS} FROM hedgehog_resource r
       JOIN jsonb_to_recordset(?::jsonb) AS k(kind text, namespace text, name text) USING (kind, namespace, name)
      WHERE r.fabric_id = ?`,
    [JSON.stringify(keys.map((k) => ({ kind: k.kind, namespace: k.namespace, name: k.name }))), fabricId],
  );
  return new Map(rows.map((r) => [keyOf(r), r]));
}

/**
 * The rows that hold a draft, or whose draft met a conflict with Git, in identity order: what `drafts list` shows
 * and what `publish` publishes.
 */
export async function loadDraftedResources(em: EntityManager, fabricId: number): Promise<StoredResource[]> {
  return query<StoredResource>(
    em,
    `SELECT ${COLUMNS} FROM hedgehog_resource
      WHERE fabric_id = ? AND (draft_operation IS NOT NULL OR draft_spec IS NOT NULL)
      ORDER BY kind, namespace, name`,
    [fabricId],
  );
}
