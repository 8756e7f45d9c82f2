/**
 * `openLedger(options)`: the one call a Node service or script needs. It opens the database (a URL, or
 * the embedded PGlite), runs pending migrations, and hands back the sync service, fabric management,
 * the drift report, the schema doctor and `close()`.
 *
 * Hosts with their own MikroORM setup skip this and use the exported entities, migrations and
 * `new FabricSyncService(em)` directly (see the README).
 *
 * The database half (and the fabric registry, drift report, doctor) is src/ledger-reader.ts, which the CLI's
 * read-only commands open alone; this module adds the sync service, drafts and publishing.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { KubeConfig } from '@kubernetes/client-node';
import path from 'node:path';
import type { HedgehogFabric } from './entities/index.js';
import { FabricSyncService, type FabricRef, type FabricSyncServiceOptions } from './sync/fabric-sync-service.js';
import { Drafts } from './drafts/drafts.js';
import type { FabricDiffOptions, FabricDiffReport } from './sync/fabric-diff.js';
import { Publisher, type PublishOptions, type PublishReport } from './writeback/publish.js';
import { openLedgerDatabase, readerOnOrm, type LedgerDatabaseOptions, type LedgerReader } from './ledger-reader.js';

export interface LedgerOptions extends LedgerDatabaseOptions {
  /** Build a KubeConfig for a fabric yourself (tests, custom credential stores). */
  kubeConfigFor?: (fabric: HedgehogFabric) => KubeConfig;
  /** Further options of the sync service (reader, Git reader, lock timeout, …). */
  sync?: Omit<FabricSyncServiceOptions, 'logger' | 'kubeConfigFor'>;
}

export interface Ledger extends LedgerReader {
  sync: FabricSyncService;
  /** Changes prepared in the ledger (apply, delete, discard, list, get), published to Git by `publish`. */
  drafts: Drafts;
  /**
   * Publish the fabric's drafts to its Git repository as one commit (pushed without force, retried when the remote
   * moved). Drafts in conflict with Git are left out unless `strategy` says otherwise.
   */
  publish(fabric: FabricRef, options: PublishOptions): Promise<PublishReport>;
  /**
   * Compare a local directory or a ref of the fabric's repository with the cluster's actual state (the ledger's, or
   * the cluster now with `live`), through the drift engine and the fabric's ignore rules. Writes nothing.
   */
  diff(fabric: FabricRef, options?: FabricDiffOptions): Promise<FabricDiffReport>;
}

export async function openLedger(options: LedgerOptions = {}): Promise<Ledger> {
  const { orm, place } = await openLedgerDatabase(options);
  return ledgerOnOrm(orm, options, place);
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
    ...readerOnOrm(orm, place),
    sync,
    drafts: new Drafts(em, sync, { lockTimeoutMs: options.sync?.lockTimeoutMs, preflight: options.sync?.preflight }),
    publish: (fabric, o) => publisher.publish(fabric, o),
    driftReport: (fabric, filter) => sync.driftReport(fabric, filter),
    diff: (fabric, o) => sync.diff(fabric, o),
  };
}
