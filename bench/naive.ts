/**
 * The NAIVE path, as the old `sync_actual_state` wrote: for every object, look its row up
 * (`em.findOne`), create it when absent, assign the fields and `em.flush()` — one lookup and one
 * write round trip per resource, in one transaction. The rows are the very rows the sync wrote
 * (drift already computed, outside the clock), so the naive path is timed on its writing alone.
 *
 * The identity map is cleared after every flush, so each flush handles its one resource, like a
 * `get` + `save` per object (MikroORM's flush would otherwise walk every entity loaded so far, and
 * the naive path would look quadratic). Timed on a sample and extrapolated linearly.
 */
import { HedgehogFabric, HedgehogResource } from '../src/entities/index.js';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FloorRow } from './floor.js';

/** snake_case column → entity property, for the columns the actual side writes. */
const PROPERTY: Record<string, string> = {
  api_version: 'apiVersion',
  actual_spec: 'actualSpec',
  actual_status: 'actualStatus',
  actual_uid: 'actualUid',
  actual_resource_version: 'actualResourceVersion',
  actual_updated: 'actualUpdated',
  labels: 'labels',
  annotations: 'annotations',
  drift_status: 'driftStatus',
  drift_score: 'driftScore',
  drift_severity: 'driftSeverity',
  drift_details: 'driftDetails',
  last_drift_check: 'lastDriftCheck',
  resource_state: 'resourceState',
  last_state_change: 'lastStateChange',
  state_change_reason: 'stateChangeReason',
  last_updated: 'lastUpdated',
};

/** Every `total / sample`-th row, so the sample has every kind in its proportion. */
export function sampleRows<T>(rows: readonly T[], sample: number): T[] {
  if (rows.length <= sample) return [...rows];
  const out: T[] = [];
  for (let i = 0; i < sample; i++) out.push(rows[Math.floor((i * rows.length) / sample)]!);
  return out;
}

/** Milliseconds the naive path takes for `rows`, written into the fabric `fabricId` (which has no rows). */
export async function timeNaive(orm: MikroORM, fabricId: number, rows: readonly FloorRow[]): Promise<number> {
  const em = orm.em.fork();
  const t = performance.now();
  await em.transactional(async (tem) => {
    for (const row of rows) {
      const fabric = tem.getReference(HedgehogFabric, fabricId);
      const key = { fabric, kind: row.kind as string, namespace: row.namespace as string, name: row.name as string };
      let r = await tem.findOne(HedgehogResource, key);
      if (!r) {
        r = tem.create(HedgehogResource, key);
      }
      for (const [column, property] of Object.entries(PROPERTY))
        (r as unknown as Record<string, unknown>)[property] = row[column];
      await tem.flush();
      tem.clear();
    }
  });
  return performance.now() - t;
}
