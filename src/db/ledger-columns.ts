/**
 * The ledger's columns as the entities declare them, flattened from MikroORM
 * metadata. One view shared by the schema doctor, the schema document generator
 * and the tests, so they can never disagree about what "our default" is.
 */
import { MikroORM, ReferenceKind, type EntityMetadata, type MetadataStorage } from '@mikro-orm/postgresql';
import { ALL_ENTITIES, IDENTITY_COLUMNS } from '../entities/index.js';
import { createCoreOrmConfig } from './orm-core-config.js';

export interface LedgerColumn {
  entity: string;
  table: string;
  column: string;
  property: string;
  /** SQL type as the entity declares it (e.g. text, jsonb, timestamptz, int). */
  columnType: string;
  nullable: boolean;
  /** The database default as SQL (e.g. `'default'`, `0`, `'{}'`, `now()`), or null for none. */
  defaultSql: string | null;
  primary: boolean;
  /** Required without a default: the row's identity (see IDENTITY_COLUMNS). */
  identity: boolean;
  /** Allowed values of an enum-like column. */
  enumItems: string[] | null;
  /** Foreign key target table, if any. */
  references: string | null;
}

/** Flattens the metadata of our entities into columns, in declaration order. */
export function ledgerColumns(metadata: MetadataStorage): LedgerColumn[] {
  const out: LedgerColumn[] = [];
  for (const entity of ALL_ENTITIES) {
    const meta: EntityMetadata = metadata.get(entity.name);
    for (const prop of meta.props) {
      // Typed as always present, but collection properties (1:m, m:n) have no field names at runtime.
      const fieldNames = prop.fieldNames as string[] | undefined;
      if (!fieldNames?.length || prop.persist === false) continue;
      if (
        prop.kind !== ReferenceKind.SCALAR &&
        prop.kind !== ReferenceKind.MANY_TO_ONE &&
        prop.kind !== ReferenceKind.ONE_TO_ONE
      )
        continue;
      if (prop.kind === ReferenceKind.ONE_TO_ONE && !prop.owner) continue;
      const column = fieldNames[0]!;
      out.push({
        entity: meta.className,
        table: meta.tableName,
        column,
        property: prop.name,
        columnType: prop.columnTypes[0]!,
        nullable: Boolean(prop.nullable),
        defaultSql: prop.defaultRaw ?? null,
        primary: Boolean(prop.primary),
        identity: (IDENTITY_COLUMNS[meta.tableName] ?? []).includes(column),
        enumItems: prop.enum && Array.isArray(prop.items) ? prop.items.map(String) : null,
        references:
          prop.kind === ReferenceKind.MANY_TO_ONE || prop.kind === ReferenceKind.ONE_TO_ONE
            ? (prop.targetMeta?.tableName ?? null)
            : null,
      });
    }
  }
  return out;
}

/** Our table names, in dependency order. */
export function ledgerTables(metadata: MetadataStorage): string[] {
  return ALL_ENTITIES.map((e) => metadata.get(e.name).tableName);
}

/** Discovers entity metadata without connecting to any database. */
export async function loadLedgerMetadata(): Promise<MetadataStorage> {
  const orm = await MikroORM.init(createCoreOrmConfig('postgres://metadata-only@127.0.0.1/ledger', { connect: false }));
  try {
    return orm.getMetadata();
  } finally {
    await orm.close(true);
  }
}
