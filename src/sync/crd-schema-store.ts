/**
 * The fabric_crd_schema table: the CRDs an actual sync read from a fabric's cluster, kept so a desired
 * sync in any later process can validate Git documents against them. All its SQL is here.
 */
import type { EntityManager } from '@mikro-orm/core';
import { findUnstorableString } from '../json-safety.js';
import { query, queryBound } from './sql.js';

export interface StoredCrds {
  /** CRD objects rebuilt from the rows (apiVersion, kind, metadata.name/resourceVersion, spec). */
  objects: object[];
  /** When the oldest of them was read; null when none is stored. */
  readAt: Date | null;
}

interface CrdRow {
  kind: string;
  crd_name: string;
  resource_version: string | null;
  spec: Record<string, unknown>;
}

function toRow(obj: object): CrdRow | null {
  const o = obj as { metadata?: { name?: unknown; resourceVersion?: unknown }; spec?: { names?: { kind?: unknown } } };
  const name = o.metadata?.name;
  const kind = o.spec?.names?.kind;
  if (typeof name !== 'string' || typeof kind !== 'string' || !o.spec) return null;
  // A schema PostgreSQL cannot store is not kept (it could not have come from a real API server anyway).
  if (findUnstorableString(o.spec)) return null;
  const rv = o.metadata?.resourceVersion;
  return { kind, crd_name: name, resource_version: typeof rv === 'string' && rv ? rv : null, spec: o.spec as Record<string, unknown> };
}

/**
 * Replace the fabric's stored CRDs with `crdObjects` (a complete read of the cluster's fabric CRDs).
 * An empty read changes nothing: it says the cluster could not be asked, not that the CRDs are gone.
 */
export async function saveCrdSchemas(em: EntityManager, fabricId: number, crdObjects: readonly object[]): Promise<number> {
  const rows = crdObjects.map(toRow).filter((r): r is CrdRow => r !== null);
  if (rows.length === 0) return 0;
  await em.transactional(async (tem) => {
    await queryBound(
      tem,
      `DELETE FROM fabric_crd_schema WHERE fabric_id = ? AND crd_name NOT IN (SELECT jsonb_array_elements_text(?::jsonb))`,
      [fabricId, JSON.stringify(rows.map((r) => r.crd_name))],
    );
    await queryBound(
      tem,
      `INSERT INTO fabric_crd_schema (fabric_id, kind, crd_name, resource_version, spec, read_at)
       SELECT ?, x.kind, x.crd_name, x.resource_version, x.spec, now()
         FROM jsonb_to_recordset(?::jsonb) AS x(kind text, crd_name text, resource_version text, spec jsonb)
       ON CONFLICT (fabric_id, crd_name) DO UPDATE
         SET kind = excluded.kind, resource_version = excluded.resource_version, spec = excluded.spec, read_at = excluded.read_at
         -- A CRD at the same resourceVersion is the same CRD: its large spec is not rewritten on every run.
         WHERE fabric_crd_schema.resource_version IS DISTINCT FROM excluded.resource_version OR excluded.resource_version IS NULL`,
      [fabricId, JSON.stringify(rows)],
    );
  });
  return rows.length;
}

/** The fabric's stored CRDs, as CRD objects crdSchemasFromObjects can read. */
export async function loadCrdSchemas(em: EntityManager, fabricId: number): Promise<StoredCrds> {
  const rows = await query<CrdRow & { read_at: Date }>(
    em,
    `SELECT kind, crd_name, resource_version, spec, read_at FROM fabric_crd_schema WHERE fabric_id = ? ORDER BY crd_name`,
    [fabricId],
  );
  const objects = rows.map((r) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: r.crd_name, ...(r.resource_version ? { resourceVersion: r.resource_version } : {}) },
    spec: r.spec,
  }));
  const times = rows.map((r) => new Date(r.read_at).getTime());
  return { objects, readAt: times.length ? new Date(Math.min(...times)) : null };
}

/**
 * Why the fabric's latest actual sync could not read the cluster's CRDs (its run's details.schemaProblem), or
 * null when it could (or none ran): a desired run without schemas then says why, not "run an actual sync".
 */
export async function lastCrdReadProblem(em: EntityManager, fabricId: number): Promise<string | null> {
  const [row] = await query<{ problem: string | null }>(
    em,
    `SELECT details->>'schemaProblem' AS problem FROM sync_operation
      WHERE fabric_id = ? AND type = 'actual' AND status <> 'in_progress' ORDER BY started_at DESC, id DESC LIMIT 1`,
    [fabricId],
  );
  return row?.problem ?? null;
}
