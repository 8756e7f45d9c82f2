/** The fabric_crd_schema table's statements (src/sync/crd-schema-store.ts decides what is stored). */
import type { EntityManager } from '@mikro-orm/core';
import { query } from './sql.js';

export interface CrdSchemaRow {
  kind: string;
  crd_name: string;
  resource_version: string | null;
  spec: Record<string, unknown>;
}

/** Replace the fabric's stored CRDs with `rows`, in one transaction; a CRD at the same resourceVersion is not rewritten. */
export async function replaceCrdSchemas(
  em: EntityManager,
  fabricId: number,
  rows: readonly CrdSchemaRow[],
): Promise<void> {
  await em.transactional(async (tem) => {
    await query(
      tem,
      `DELETE FROM fabric_crd_schema WHERE fabric_id = ? AND crd_name NOT IN (SELECT jsonb_array_elements_text(?::jsonb))`,
      [fabricId, JSON.stringify(rows.map((r) => r.crd_name))],
    );
    await query(
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
}

/** The fabric's stored CRDs, by name. */
export function selectCrdSchemas(em: EntityManager, fabricId: number): Promise<(CrdSchemaRow & { read_at: Date })[]> {
  return query<CrdSchemaRow & { read_at: Date }>(
    em,
    `SELECT kind, crd_name, resource_version, spec, read_at FROM fabric_crd_schema WHERE fabric_id = ? ORDER BY crd_name`,
    [fabricId],
  );
}

/** The fabric's stored CRDs' names and resourceVersions (no specs): what a new read is compared with. */
export function selectCrdSchemaVersions(
  em: EntityManager,
  fabricId: number,
): Promise<{ crd_name: string; resource_version: string | null }[]> {
  return query<{ crd_name: string; resource_version: string | null }>(
    em,
    `SELECT crd_name, resource_version FROM fabric_crd_schema WHERE fabric_id = ?`,
    [fabricId],
  );
}
