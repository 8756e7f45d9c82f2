/**
 * CRD schemas of a fabric, for two jobs: validating Git documents, and telling server defaults apart from
 * drift. They come from the fabric's CRD directory when it has one, else from the cluster's
 * apiextensions.k8s.io/v1 CRDs (read during an actual sync and remembered for this process).
 */
import type { HedgehogFabric } from '../entities/index.js';
import { FABRIC_KINDS } from '../kube/catalog.js';
import { loadCrdSchemasFromDir, crdSchemasFromObjects, type CrdSchemas } from '../crds/crd-schemas.js';
import { schemaDefaultsFor, type SchemaDefaults } from '../crds/schema-defaults.js';
import { createCrdValidator } from '../crds/crd-validator.js';

export class FabricSchemas {
  private readonly fromDir = new Map<string, Promise<CrdSchemas>>();
  private readonly fromCluster = new Map<number, CrdSchemas>();

  private async schemasFor(fabric: HedgehogFabric, readClusterCrds?: () => Promise<object[]>): Promise<CrdSchemas | null> {
    if (fabric.crdDirectory) {
      let p = this.fromDir.get(fabric.crdDirectory);
      if (!p) {
        p = loadCrdSchemasFromDir(fabric.crdDirectory);
        this.fromDir.set(fabric.crdDirectory, p);
        p.catch(() => this.fromDir.delete(fabric.crdDirectory!));
      }
      return p;
    }
    if (readClusterCrds) {
      const objs = await readClusterCrds().catch(() => []);
      if (objs.length) this.fromCluster.set(fabric.id, crdSchemasFromObjects(objs));
    }
    return this.fromCluster.get(fabric.id) ?? null;
  }

  /** Schema defaults per kind name (null where no schema is known). */
  async defaultsFor(fabric: HedgehogFabric, readClusterCrds?: () => Promise<object[]>): Promise<Map<string, SchemaDefaults | null>> {
    const schemas = await this.schemasFor(fabric, readClusterCrds);
    return new Map(FABRIC_KINDS.map((k) => [k.kind, schemaDefaultsFor(schemas, k.apiVersion, k.kind)]));
  }

  /** A validator for Git documents, or undefined when no schema is known. */
  async validatorFor(fabric: HedgehogFabric): Promise<((obj: Record<string, unknown>) => string[]) | undefined> {
    const schemas = await this.schemasFor(fabric);
    return schemas && schemas.size ? createCrdValidator(schemas) : undefined;
  }
}
