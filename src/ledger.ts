/**
 * `openLedger(options)`: the one call a Node service or script needs. It opens the database (a URL, or
 * the embedded PGlite), runs pending migrations, and hands back the sync service, fabric management,
 * the drift report, the schema doctor and `close()`.
 *
 * Hosts with their own MikroORM setup skip this and use the exported entities, migrations and
 * `new FabricSyncService(em)` directly (see the README).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/core';
import type { KubeConfig } from '@kubernetes/client-node';
import path from 'node:path';
import { openDatabase } from './db/open-database.js';
import { redactDatabaseUrl } from './db/database-url.js';
import { runSchemaDoctor, type DoctorReport, type SchemaDoctorOptions } from './db/schema-doctor.js';
import type { HedgehogFabric } from './entities/index.js';
import { FabricRegistry } from './fabrics/fabric-registry.js';
import { FabricSyncService, type FabricRef, type FabricSyncServiceOptions } from './sync/fabric-sync-service.js';
import type { DriftReport, DriftReportFilter } from './sync/drift-report.js';
import type { Logger } from './sync/logger.js';
import { Drafts } from './drafts/drafts.js';
import { Publisher, type PublishOptions, type PublishReport } from './writeback/publish.js';

export interface LedgerOptions {
  /** PostgreSQL URL; default HH_SYNC_DATABASE_URL, then DATABASE_URL, then the embedded database. */
  databaseUrl?: string;
  /** Embedded database directory (default `.hh-sync/pgdata` under the working directory; `'memory'` for none). */
  dataDir?: string;
  /** Use the embedded database even when a URL is in the environment. */
  embedded?: boolean;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /** Create the database the URL names if it does not exist (default false: a missing database is an error). */
  createDatabase?: boolean;
  /** Bound of one database connection attempt in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Client-side bound of one statement in ms (default 300 000): a database gone silent mid-run fails the run. */
  statementTimeoutMs?: number;
  /** A pino-compatible logger (pino itself fits). Silent by default. */
  logger?: Logger;
  /** Build a KubeConfig for a fabric yourself (tests, custom credential stores). */
  kubeConfigFor?: (fabric: HedgehogFabric) => KubeConfig;
  /** Further options of the sync service (reader, Git reader, lock timeout, …). */
  sync?: Omit<FabricSyncServiceOptions, 'logger' | 'kubeConfigFor'>;
}

export interface Ledger {
  orm: MikroORM;
  em: EntityManager;
  sync: FabricSyncService;
  fabrics: FabricRegistry;
  /** Changes prepared in the ledger (apply, delete, discard, list, get), published to Git by `publish`. */
  drafts: Drafts;
  /**
   * Publish the fabric's drafts to its Git repository as one commit (pushed without force, retried when the remote
   * moved). Drafts in conflict with Git are left out unless `strategy` says otherwise.
   */
  publish(fabric: FabricRef, options: PublishOptions): Promise<PublishReport>;
  /** Counts per drift status and severity, and the drifted objects with their differences. */
  driftReport(fabric: FabricRef, filter?: DriftReportFilter): Promise<DriftReport>;
  /** The schema doctor on this ledger's database. */
  doctor(options?: SchemaDoctorOptions): Promise<DoctorReport>;
  /** Where the ledger lives, safe to show (password redacted). */
  location: string;
  embedded: boolean;
  close(): Promise<void>;
}

export async function openLedger(options: LedgerOptions = {}): Promise<Ledger> {
  const db = await openDatabase({
    url: options.databaseUrl,
    dataDir: options.dataDir,
    embedded: options.embedded,
    migrate: options.migrate,
    createDatabase: options.createDatabase,
    connectTimeoutMs: options.connectTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs,
    logger: options.logger ? (m: string) => options.logger!.debug(m) : undefined,
  });
  return ledgerOnOrm(db.orm, options, {
    location: db.embedded ? `embedded PGlite (${options.dataDir ?? '.hh-sync/pgdata'})` : redactDatabaseUrl(db.url),
    embedded: db.embedded,
    close: () => db.close(),
  });
}

/**
 * The facade over an ORM that is already open and migrated (openLedger's second half). Not exported from
 * the package: hosts with their own ORM use the service directly; the CLI's in-process tests use this to
 * give every command of a test file one open database.
 */
export function ledgerOnOrm(
  orm: MikroORM,
  options: Pick<LedgerOptions, 'logger' | 'kubeConfigFor' | 'sync'>,
  place: Pick<Ledger, 'location' | 'embedded' | 'close'>,
): Ledger {
  const em = orm.em;
  const sync = new FabricSyncService(em, {
    ...options.sync,
    logger: options.logger,
    kubeConfigFor: options.kubeConfigFor,
  });
  const publisher = new Publisher(sync, {
    cacheBase: options.sync?.gitCacheDir ? path.dirname(path.resolve(options.sync.gitCacheDir)) : undefined,
    gitTimeoutMs: options.sync?.desired?.gitTimeoutMs,
    lockTimeoutMs: options.sync?.lockTimeoutMs,
  });
  return {
    orm,
    em,
    sync,
    fabrics: new FabricRegistry(em),
    drafts: new Drafts(em, sync, { lockTimeoutMs: options.sync?.lockTimeoutMs, preflight: options.sync?.preflight }),
    publish: (fabric, o) => publisher.publish(fabric, o),
    driftReport: (fabric, filter) => sync.driftReport(fabric, filter),
    doctor: (o) => runSchemaDoctor(orm, o),
    ...place,
  };
}
