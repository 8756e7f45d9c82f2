/**
 * The FLOOR of a whole first actual sync (issue 12, goal 3): what the simplest hand-written program does to
 * put a cluster's fabric objects into the ledger, measured start to end like the sync run it is compared with.
 *
 * - list every fabric kind with plain `fetch` against the same fake API process, paged as the sync pages
 *   (`limit` = the reader's page size, `continue` until none), one kind after the other;
 * - keep, per object, the columns the sync writes that vary per object (kind, namespace, name, apiVersion,
 *   spec, status, uid, resourceVersion, labels, annotations); the run's constants (fabric, timestamps, drift
 *   status, state) are bound once per statement, as a person writing it by hand would;
 * - write with one `INSERT … SELECT … FROM jsonb_to_recordset($1) ON CONFLICT … DO UPDATE` per 5,000 rows, in
 *   one transaction (BEGIN … COMMIT inside the clock: the sync's run commits inside its clock too).
 *
 * No discovery, no CRD read, no validation, no drift, no history, no run record, no lock: everything the sync
 * does beyond this is what the ratio measures. The `pg` client connects before the clock starts (the sync's
 * pool is connected too).
 */
import pg from 'pg';
import { FABRIC_KINDS } from '../src/kube/catalog.js';

export const SYNC_FLOOR_BATCH = 5_000;
/** The cluster reader's default page size (ClusterReaderOptions.pageSize). */
export const SYNC_FLOOR_PAGE_SIZE = 500;

type KubeItem = {
  apiVersion?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  status?: unknown;
};
type KubeList = { items: KubeItem[]; metadata?: { continue?: string } };

const VARYING =
  'kind text, namespace text, name text, api_version text, actual_spec jsonb, actual_status jsonb, ' +
  'actual_uid text, actual_resource_version text, labels jsonb, annotations jsonb';

// $1 rows, $2 fabric id, $3 the run's timestamp.
const UPSERT =
  `INSERT INTO hedgehog_resource (fabric_id, kind, namespace, name, api_version, actual_spec, actual_status, ` +
  `actual_uid, actual_resource_version, actual_updated, labels, annotations, drift_status, drift_score, ` +
  `drift_severity, drift_details, last_drift_check, resource_state, last_state_change, state_change_reason, ` +
  `last_updated, first_seen) ` +
  `SELECT $2::int, x.kind, x.namespace, x.name, x.api_version, x.actual_spec, x.actual_status, x.actual_uid, ` +
  `x.actual_resource_version, $3::timestamptz, x.labels, x.annotations, 'actual_only', 1, 'medium', '{}'::jsonb, ` +
  `$3::timestamptz, 'orphaned', $3::timestamptz, 'in the cluster, not in Git', $3::timestamptz, $3::timestamptz ` +
  `FROM jsonb_to_recordset($1::jsonb) AS x(${VARYING}) ` +
  `ON CONFLICT (fabric_id, kind, namespace, name) DO UPDATE SET api_version = excluded.api_version, ` +
  `actual_spec = excluded.actual_spec, actual_status = excluded.actual_status, actual_uid = excluded.actual_uid, ` +
  `actual_resource_version = excluded.actual_resource_version, actual_updated = excluded.actual_updated, ` +
  `labels = excluded.labels, annotations = excluded.annotations, last_updated = excluded.last_updated`;

/** One kind's objects, every page, with plain fetch. */
async function listKind(
  apiUrl: string,
  kind: (typeof FABRIC_KINDS)[number],
  pageSize: number,
  into: object[],
): Promise<void> {
  let cont: string | undefined;
  do {
    const q = new URLSearchParams({ limit: String(pageSize) });
    if (cont) q.set('continue', cont);
    const res = await fetch(`${apiUrl}/apis/${kind.group}/${kind.version}/${kind.plural}?${q.toString()}`);
    if (!res.ok) throw new Error(`floor: list ${kind.plural}: HTTP ${res.status}`);
    const body = (await res.json()) as KubeList;
    for (const o of body.items) {
      const m = o.metadata ?? {};
      into.push({
        kind: kind.kind,
        namespace: m.namespace ?? '',
        name: m.name,
        api_version: o.apiVersion ?? kind.apiVersion,
        actual_spec: o.spec ?? {},
        actual_status: o.status ?? null,
        actual_uid: m.uid ?? null,
        actual_resource_version: m.resourceVersion ?? null,
        labels: m.labels ?? {},
        annotations: m.annotations ?? {},
      });
    }
    cont = body.metadata?.continue || undefined;
  } while (cont);
}

export interface SyncFloorRun {
  /** Start to end: first list request to COMMIT. */
  totalMs: number;
  listMs: number;
  writeMs: number;
  rows: number;
}

/**
 * One floor run into `fabricId` (a fabric without rows), reading `apiUrl`. The rows are written as soon as
 * 5,000 are buffered (and the rest at the end), so the floor never holds more than a batch it could write.
 */
export async function timeFirstSyncFloor(
  databaseUrl: string,
  apiUrl: string,
  fabricId: number,
  pageSize = SYNC_FLOOR_PAGE_SIZE,
): Promise<SyncFloorRun> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let listMs = 0;
  let writeMs = 0;
  let rows = 0;
  try {
    const t0 = performance.now();
    const now = new Date().toISOString();
    await client.query('BEGIN');
    let buffer: object[] = [];
    /** Write full batches of 5,000 (every row with `all`), keeping the rest for the next kinds. */
    const flush = async (all: boolean) => {
      const t = performance.now();
      while (buffer.length >= SYNC_FLOOR_BATCH || (all && buffer.length > 0)) {
        const batch = buffer.slice(0, SYNC_FLOOR_BATCH);
        buffer = buffer.slice(batch.length);
        await client.query(UPSERT, [JSON.stringify(batch), fabricId, now]);
        rows += batch.length;
      }
      writeMs += performance.now() - t;
    };
    for (const kind of FABRIC_KINDS) {
      const t = performance.now();
      await listKind(apiUrl, kind, pageSize, buffer);
      listMs += performance.now() - t;
      await flush(false);
    }
    await flush(true);
    const t = performance.now();
    await client.query('COMMIT');
    writeMs += performance.now() - t;
    return { totalMs: performance.now() - t0, listMs, writeMs, rows };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
