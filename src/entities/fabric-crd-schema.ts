import { Entity, ManyToOne, PrimaryKey, Property, Unique, type Opt, type Rel } from '@mikro-orm/core';
import { HedgehogFabric } from './hedgehog-fabric.js';

/**
 * The CRD schemas a fabric's cluster served, as an actual sync last read them: one row per
 * CustomResourceDefinition of a fabric group. They outlive the process that read them, so every
 * later desired sync (another process, another day) validates Git documents against them.
 * Written and read by src/sync/crd-schema-store.ts (set-based SQL), never through the unit of work.
 */
@Entity({ tableName: 'fabric_crd_schema' })
@Unique({ name: 'fabric_crd_schema_fabric_crd_name_unique', properties: ['fabric', 'crdName'] })
export class FabricCrdSchema {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne({ entity: () => HedgehogFabric, deleteRule: 'cascade', updateRule: 'cascade' })
  fabric!: Rel<HedgehogFabric>;

  /** The kind the CRD defines (spec.names.kind). */
  @Property({ type: 'text' })
  kind!: string;

  /** The CRD's metadata.name, e.g. switches.wiring.githedgehog.com. */
  @Property({ type: 'text' })
  crdName!: string;

  /** The CRD object's resourceVersion when it was read; null when the cluster gave none. */
  @Property({ type: 'text', nullable: true })
  resourceVersion: string | null = null;

  /** The CRD's spec (group, names, versions with their openAPIV3Schema): what validation is built from. */
  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  spec: Opt<Record<string, unknown>> = {};

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' })
  readAt: Opt<Date> = new Date();
}
