/**
 * The FLOOR: the fastest simple way to put the same rows into `hedgehog_resource` — one hand-written
 * `pg` statement per 5,000 rows, plain INSERT into a fabric that has no rows yet (no conflict
 * handling, no lookups, no drift, no history), rows serialized inside the clock as the sync must.
 * Several shapes of that statement are timed and the fastest counts, so the floor is not a straw man:
 *
 * - `jsonb_to_recordset`: the rows as one JSON array parameter, expanded by the server;
 * - `unnest`: one array parameter per column (JSON columns as text[] cast per element).
 *
 * A multi-row `VALUES ($1, …)` list cannot carry 5,000 rows of 21 columns (105,000 parameters; the
 * protocol allows 65,535), so it is not a candidate at this batch size.
 *
 * The sync also writes one `state_transition` row per new resource (its history, with two foreign
 * keys). `HISTORY_FLOOR` writes the resource rows AND those history rows, still one statement per
 * 5,000 rows (a data-modifying CTE): the like-for-like baseline, reported beside the floor.
 * The transaction's COMMIT is outside the clock, as it is for the sync's write phase.
 */
import pg from 'pg';

export const FLOOR_BATCH = 5_000;

/** The columns the actual-side sync writes (ACTUAL_COLUMNS), with their SQL types, written out by hand. */
const COLUMNS: readonly [string, string][] = [
  ['fabric_id', 'int'],
  ['kind', 'text'],
  ['namespace', 'text'],
  ['name', 'text'],
  ['api_version', 'text'],
  ['actual_spec', 'jsonb'],
  ['actual_status', 'jsonb'],
  ['actual_uid', 'text'],
  ['actual_resource_version', 'text'],
  ['actual_updated', 'timestamptz'],
  ['labels', 'jsonb'],
  ['annotations', 'jsonb'],
  ['drift_status', 'text'],
  ['drift_score', 'double precision'],
  ['drift_severity', 'text'],
  ['drift_details', 'jsonb'],
  ['last_drift_check', 'timestamptz'],
  ['resource_state', 'text'],
  ['last_state_change', 'timestamptz'],
  ['state_change_reason', 'text'],
  ['last_updated', 'timestamptz'],
];
const NAMES = COLUMNS.map(([c]) => c);
const COLS = NAMES.join(', ');

export type FloorRow = Record<string, unknown>;

export interface FloorVariant {
  name: string;
  write(client: pg.Client, rows: readonly FloorRow[]): Promise<void>;
}

const jsonbToRecordset: FloorVariant = {
  name: 'jsonb_to_recordset',
  async write(client, rows) {
    const sql =
      `INSERT INTO hedgehog_resource (${COLS}) SELECT ${COLS} ` +
      `FROM jsonb_to_recordset($1::jsonb) AS x(${COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`;
    for (let i = 0; i < rows.length; i += FLOOR_BATCH) {
      await client.query(sql, [JSON.stringify(rows.slice(i, i + FLOOR_BATCH))]);
    }
  },
};

const unnestArrays: FloorVariant = {
  name: 'unnest',
  async write(client, rows) {
    const params = COLUMNS.map(([, t], i) => `$${i + 1}::${t === 'jsonb' ? 'text' : t}[]`).join(', ');
    const select = COLUMNS.map(([c, t]) => (t === 'jsonb' ? `${c}::jsonb` : c)).join(', ');
    const sql = `INSERT INTO hedgehog_resource (${COLS}) SELECT ${select} FROM unnest(${params}) AS x(${COLS})`;
    for (let i = 0; i < rows.length; i += FLOOR_BATCH) {
      const batch = rows.slice(i, i + FLOOR_BATCH);
      const arrays = COLUMNS.map(([c, t]) =>
        batch.map((r) => {
          const v = r[c];
          if (v === null || v === undefined) return null;
          return t === 'jsonb' ? JSON.stringify(v) : v;
        }),
      );
      await client.query(sql, arrays);
    }
  },
};

export const FLOOR_VARIANTS: readonly FloorVariant[] = [jsonbToRecordset, unnestArrays];

/** The resource rows plus one history row each (null → its state), as the first sync writes them. */
export const HISTORY_FLOOR: FloorVariant = {
  name: 'jsonb_to_recordset + history',
  async write(client, rows) {
    const sql =
      `WITH r AS (INSERT INTO hedgehog_resource (${COLS}) SELECT ${COLS} ` +
      `FROM jsonb_to_recordset($1::jsonb) AS x(${COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')}) ` +
      `RETURNING id, fabric_id, resource_state, state_change_reason, last_state_change) ` +
      `INSERT INTO state_transition (resource_id, fabric_id, from_state, to_state, "trigger", reason, "timestamp") ` +
      `SELECT id, fabric_id, NULL, resource_state, 'sync_actual', state_change_reason, last_state_change FROM r`;
    for (let i = 0; i < rows.length; i += FLOOR_BATCH) {
      await client.query(sql, [JSON.stringify(rows.slice(i, i + FLOOR_BATCH))]);
    }
  },
};

/**
 * Time one variant writing `rows` (their fabric_id replaced by `fabricId`, a fabric without rows).
 * Returns milliseconds from the first statement to the last one's answer. The rows are prepared
 * before the clock starts, timestamps already ISO strings (Date#toJSON is JSON.stringify's slow path),
 * so the floor serializes them as cheaply as it can.
 */
export async function timeFloor(
  url: string,
  variant: FloorVariant,
  rows: readonly FloorRow[],
  fabricId: number,
): Promise<number> {
  const own = rows.map((r) => {
    const o: FloorRow = { ...r, fabric_id: fabricId };
    for (const k in o) if (o[k] instanceof Date) o[k] = o[k].toISOString();
    return o;
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const t = performance.now();
    await variant.write(client, own);
    const ms = performance.now() - t;
    await client.query('COMMIT');
    return ms;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

/** The column list, for the bench's check that the floor writes what the sync writes. */
export const FLOOR_COLUMNS: readonly string[] = NAMES;
