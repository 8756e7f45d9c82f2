/**
 * CRD schemas of a fabric, for two jobs: validating Git documents, and telling server defaults apart from
 * drift. They come from the fabric's CRD directory when it has one, else from the cluster's
 * apiextensions.k8s.io/v1 CRDs: read during an actual sync, and kept in the ledger (fabric_crd_schema)
 * so a desired sync in any later process validates against them too.
 */
import type { HedgehogFabric } from '../entities/index.js';
import { FABRIC_KINDS } from '../kube/catalog.js';
import {
  loadCrdSchemasFromDir,
  crdSchemaKey,
  crdSchemasFromObjects,
  type CrdProblem,
  type CrdSchemas,
} from '../crds/crd-schemas.js';
import type { ObjectError } from '../observations.js';
import { schemaDefaultsFor, type SchemaDefaults } from '../crds/schema-defaults.js';
import { createCrdValidator, type CrdValidator } from '../crds/crd-validator.js';
import { silentLogger, type Logger } from './logger.js';

/**
 * Where a run's schemas came from: the fabric's CRD directory (`--crds`), the cluster just now, the
 * copy stored by an earlier actual sync, or nowhere (documents then go unchecked, and the run says so).
 */
export type SchemaSource = 'crds-dir' | 'cluster' | 'stored' | 'none';

/** Where cluster CRDs are kept between processes (src/sync/crd-schema-store.ts over the ledger). */
export interface CrdSchemaPersistence {
  save(fabricId: number, crdObjects: readonly object[]): Promise<unknown>;
  load(fabricId: number): Promise<readonly object[]>;
}

export interface FabricSchemaSet {
  schemas: CrdSchemas | null;
  source: SchemaSource;
  /** Cluster CRDs that could not be used (read now): each costs only itself; its kind goes without a schema. */
  problems?: readonly CrdProblem[];
  /**
   * Why the cluster's CRDs could not be read just now (403, 5xx after retries, …), one line. The schemas are
   * then those stored by an earlier read (never deleted because a read failed), or none.
   */
  readFailure?: string;
}

/**
 * What this process last made of a fabric's cluster CRDs, and which CRDs (name and resourceVersion) it made it from.
 * A later read of the same CRDs at the same resourceVersions is the same set — the API server changes a CRD's
 * resourceVersion on every change —, so it is not parsed again.
 */
interface ClusterCrdRead {
  versions: string;
  schemas: CrdSchemas;
  problems: readonly CrdProblem[];
}

/**
 * The name@resourceVersion of every CRD read, sorted: equal strings mean the same CRDs, unchanged. Null when one has
 * no resourceVersion (a server that sets none): such a read is never taken for an earlier one.
 */
export function crdVersionsOf(crdObjects: readonly object[]): string | null {
  const keys: string[] = [];
  for (const obj of crdObjects) {
    const m = (obj as { metadata?: { name?: unknown; resourceVersion?: unknown } }).metadata;
    if (typeof m?.name !== 'string' || typeof m.resourceVersion !== 'string' || !m.resourceVersion) return null;
    keys.push(`${m.name}@${m.resourceVersion}`);
  }
  return keys.sort().join('\n');
}

export class FabricSchemas {
  private readonly fromDir = new Map<string, Promise<CrdSchemas>>();
  /** Read from the cluster by this process: the fallback when nothing is stored (no persistence, or it failed). */
  private readonly fromCluster = new Map<number, CrdSchemas>();
  /**
   * Per fabric (never shared: two fabrics are two clusters, whose resourceVersions say nothing about each other),
   * the last cluster read this process parsed.
   */
  private readonly lastClusterRead = new Map<number, ClusterCrdRead>();

  constructor(
    private readonly store?: CrdSchemaPersistence,
    private readonly log: Logger = silentLogger,
  ) {}

  /** The fabric's schemas and their source; with `readClusterCrds`, the cluster is read (and the result stored). */
  async schemaSetFor(fabric: HedgehogFabric, readClusterCrds?: () => Promise<object[]>): Promise<FabricSchemaSet> {
    if (fabric.crdDirectory) return { schemas: await this.fromDirectory(fabric.crdDirectory), source: 'crds-dir' };
    let readFailure: string | undefined;
    if (readClusterCrds) {
      let objs: object[] = [];
      try {
        objs = await readClusterCrds();
      } catch (err) {
        readFailure = oneLine(err);
        this.log.warn({ fabric: fabric.name, err: readFailure }, 'could not read the CRDs from the cluster');
      }
      if (objs.length) return this.fromClusterRead(fabric, objs);
    }
    const failure = readFailure === undefined ? {} : { readFailure };
    const stored = await this.loadStored(fabric);
    if (stored?.size) return { schemas: stored, source: 'stored', ...failure };
    const remembered = this.fromCluster.get(fabric.id);
    if (remembered?.size) return { schemas: remembered, source: 'cluster', ...failure };
    return { schemas: null, source: 'none', ...failure };
  }

  /**
   * The schemas of a complete read of the cluster's fabric CRDs, stored for later desired syncs (the store writes
   * nothing when the ledger already holds these CRDs at these resourceVersions). The same CRDs at the same
   * resourceVersions as this fabric's last read in this process are not parsed again.
   */
  private async fromClusterRead(fabric: HedgehogFabric, objs: readonly object[]): Promise<FabricSchemaSet> {
    const versions = crdVersionsOf(objs);
    const last = this.lastClusterRead.get(fabric.id);
    let read: ClusterCrdRead;
    if (versions !== null && last?.versions === versions) read = last;
    else {
      // One malformed CRD must not cost the others (nor the run): it is reported, its kind goes without a schema.
      const problems: CrdProblem[] = [];
      const schemas = crdSchemasFromObjects(objs, { onProblem: (p) => problems.push(p) });
      for (const p of problems)
        this.log.warn({ fabric: fabric.name, crd: p.source, err: p.reason }, 'unusable CRD read from the cluster');
      read = { versions: versions ?? '', schemas, problems };
      if (versions !== null) this.lastClusterRead.set(fabric.id, read);
      else this.lastClusterRead.delete(fabric.id);
    }
    this.fromCluster.set(fabric.id, read.schemas);
    await this.store?.save(fabric.id, objs).catch((err: unknown) => {
      this.log.warn(
        { fabric: fabric.name, err: (err as Error).message },
        'could not store the CRD schemas read from the cluster',
      );
    });
    return { schemas: read.schemas, source: 'cluster', ...(read.problems.length ? { problems: read.problems } : {}) };
  }

  private fromDirectory(dir: string): Promise<CrdSchemas> {
    let p = this.fromDir.get(dir);
    if (!p) {
      p = loadCrdSchemasFromDir(dir);
      this.fromDir.set(dir, p);
      p.catch(() => this.fromDir.delete(dir));
    }
    return p;
  }

  private async loadStored(fabric: HedgehogFabric): Promise<CrdSchemas | null> {
    if (!this.store) return null;
    try {
      const objs = await this.store.load(fabric.id);
      // They were usable when stored; one that no longer is (a newer loader) is skipped, not fatal.
      return objs.length ? crdSchemasFromObjects(objs, { onProblem: () => undefined }) : null;
    } catch (err) {
      this.log.warn({ fabric: fabric.name, err: (err as Error).message }, 'could not read the stored CRD schemas');
      return null;
    }
  }

  /** Schema defaults per kind name (null where no schema is known). */
  async defaultsFor(
    fabric: HedgehogFabric,
    readClusterCrds?: () => Promise<object[]>,
  ): Promise<Map<string, SchemaDefaults | null>> {
    return defaultsOf((await this.schemaSetFor(fabric, readClusterCrds)).schemas);
  }

  /** A validator for Git documents, or undefined when no schema is known. */
  async validatorFor(fabric: HedgehogFabric): Promise<((obj: Record<string, unknown>) => string[]) | undefined> {
    return validatorOf((await this.schemaSetFor(fabric)).schemas);
  }
}

/** The run's error entry for an unusable cluster CRD: which CRD, what is wrong, and which fabric kind goes without a schema. */
export function crdProblemError(p: CrdProblem): ObjectError {
  const kind = FABRIC_KINDS.find((k) => `${k.plural}.${k.group}` === p.source);
  return {
    kind: 'CustomResourceDefinition',
    name: p.source,
    reason: `${p.reason}; ${kind ? `kind ${kind.kind} is` : 'its kind is'} read without schema defaults or validation`,
  };
}

export function defaultsOf(schemas: CrdSchemas | null): Map<string, SchemaDefaults | null> {
  return new Map(FABRIC_KINDS.map((k) => [k.kind, schemaDefaultsFor(schemas, k.apiVersion, k.kind)]));
}

export function validatorOf(schemas: CrdSchemas | null): CrdValidator | undefined {
  return schemas && schemas.size ? createCrdValidator(schemas) : undefined;
}

/** The run's error entry for a cluster CRD read that failed: why, and what the run used instead. */
export function crdReadFailureError(set: FabricSchemaSet): ObjectError {
  const instead =
    set.source === 'none'
      ? 'no CRD schemas are known, so drift is computed without schema defaults and Git documents go unchecked'
      : 'the CRD schemas read by an earlier actual sync are used (they may be out of date)';
  return {
    kind: 'CustomResourceDefinition',
    reason: `could not read the fabric's CRDs from the cluster: ${set.readFailure}; ${instead}`,
  };
}

/** Which fabric kinds of a desired read were checked against a CRD schema, and which had none (kind names, sorted). */
export interface SchemaCoverage {
  checked: string[];
  unchecked: string[];
}

/**
 * Wraps the validator of a desired read so it also notes, per kind, whether its documents had a usable schema
 * (one ajv could compile): a source that lacks some kinds must never be reported as having checked them.
 */
export function trackSchemaCoverage(
  schemas: CrdSchemas | null,
  validator: CrdValidator | undefined,
): { validate: (obj: Record<string, unknown>) => string[]; coverage(): SchemaCoverage } {
  const keysByKind = new Map<string, Set<string>>();
  const validate = (obj: Record<string, unknown>): string[] => {
    if (typeof obj.apiVersion === 'string' && typeof obj.kind === 'string') {
      const keys = keysByKind.get(obj.kind) ?? new Set<string>();
      keys.add(crdSchemaKey(obj.apiVersion, obj.kind));
      keysByKind.set(obj.kind, keys);
    }
    return validator ? validator(obj) : [];
  };
  const coverage = (): SchemaCoverage => {
    const uncompiled = new Set((validator?.schemaProblems ?? []).map((p) => p.slice(0, p.indexOf(': '))));
    const usable = (key: string) => !!validator && !!schemas?.has(key) && !uncompiled.has(key);
    const out: SchemaCoverage = { checked: [], unchecked: [] };
    for (const [kind, keys] of [...keysByKind].sort(([a], [b]) => a.localeCompare(b))) {
      ([...keys].every(usable) ? out.checked : out.unchecked).push(kind);
    }
    return out;
  };
  return { validate, coverage };
}

/** An error as one short line (client errors can carry multi-line bodies). */
function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n')[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
