/**
 * The fabric_crd_schema table: the CRDs an actual sync read from a fabric's cluster, kept so a desired
 * sync in any later process can validate Git documents against them. Its SQL is in src/store.
 */
import type { EntityManager } from '@mikro-orm/core';
import { findUnstorableString } from '../json-safety.js';
import {
  replaceCrdSchemas,
  selectCrdSchemas,
  selectCrdSchemaVersions,
  type CrdSchemaRow as CrdRow,
} from '../store/crd-schemas.js';

export interface StoredCrds {
  /** CRD objects rebuilt from the rows (apiVersion, kind, metadata.name/resourceVersion, spec). */
  objects: object[];
  /** When the oldest of them was read; null when none is stored. */
  readAt: Date | null;
}

function toRow(obj: object): CrdRow | null {
  const o = obj as { metadata?: { name?: unknown; resourceVersion?: unknown }; spec?: { names?: { kind?: unknown } } };
  const name = o.metadata?.name;
  const kind = o.spec?.names?.kind;
  if (typeof name !== 'string' || typeof kind !== 'string' || !o.spec) return null;
  // A schema PostgreSQL cannot store is not kept (it could not have come from a real API server anyway).
  if (findUnstorableString(o.spec)) return null;
  const rv = o.metadata?.resourceVersion;
  return { kind, crd_name: name, resource_version: typeof rv === 'string' && rv ? rv : null, spec: o.spec };
}

/**
 * Replace the fabric's stored CRDs with `crdObjects` (a complete read of the cluster's fabric CRDs). Returns the
 * number of CRDs written: 0 when the ledger already holds exactly these CRDs at these resourceVersions (one small
 * query instead of sending every spec again; the API server changes a CRD's resourceVersion with every change).
 * An empty read changes nothing: it says the cluster could not be asked, not that the CRDs are gone.
 */
export async function saveCrdSchemas(
  em: EntityManager,
  fabricId: number,
  crdObjects: readonly object[],
): Promise<number> {
  const rows = crdObjects.map(toRow).filter((r): r is CrdRow => r !== null);
  if (rows.length === 0) return 0;
  if (sameVersions(rows, await selectCrdSchemaVersions(em, fabricId))) return 0;
  await replaceCrdSchemas(em, fabricId, rows);
  return rows.length;
}

/** True when `stored` holds exactly the CRDs of `rows`, each at the same (known) resourceVersion. */
function sameVersions(
  rows: readonly CrdRow[],
  stored: readonly { crd_name: string; resource_version: string | null }[],
): boolean {
  if (rows.length !== stored.length) return false;
  const storedVersion = new Map(stored.map((s) => [s.crd_name, s.resource_version]));
  return rows.every((r) => r.resource_version !== null && storedVersion.get(r.crd_name) === r.resource_version);
}

/** The fabric's stored CRDs, as CRD objects crdSchemasFromObjects can read. */
export async function loadCrdSchemas(em: EntityManager, fabricId: number): Promise<StoredCrds> {
  const rows = await selectCrdSchemas(em, fabricId);
  const objects = rows.map((r) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: r.crd_name, ...(r.resource_version ? { resourceVersion: r.resource_version } : {}) },
    spec: r.spec,
  }));
  const times = rows.map((r) => new Date(r.read_at).getTime());
  return { objects, readAt: times.length ? new Date(Math.min(...times)) : null };
}
