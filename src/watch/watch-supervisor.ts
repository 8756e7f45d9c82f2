/**
 * startWatch(): the continuous mode behind `hh-sync watch <fabric…>`. One call per replica; run several replicas
 * (processes, hosts) against the same ledger for failover:
 *
 *   FabricLeases (which fabrics this replica holds) ──acquired──▶ LeasedFabricSync per held fabric
 *                                                  ──lost──────▶ abandon it at once (another replica takes over)
 *                                                  ──surplus───▶ stop it gracefully, then hand the lease over
 *
 * On a PostgreSQL server the leases are session advisory locks on a dedicated connection, renewed with a heartbeat
 * that expires (a frozen replica loses them); on the embedded PGlite
 * (one shared backend, one process) they are an in-process table — see lease-backend.ts.
 */
import { assertLedgerSchemaHealthy, checkLedgerSchema, LedgerSchemaUnhealthyError } from '../db/schema-preflight.js';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PgConnectionConfig } from '../db/pg-connection-config.js';
import type { EntityManager } from '@mikro-orm/core';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HedgehogFabric } from '../entities/index.js';
import type { WatchRestart } from '../kube/cluster-informer.js';
import type { FabricSyncService } from '../sync/fabric-sync-service.js';
import { silentLogger, type Logger } from '../sync/logger.js';
import type { SyncRunReport } from '../sync/run-recorder.js';
import { countDriftByStatusAndSeverity, countObjectsByKindAndDrift } from '../store/resource-reads.js';
import { ping } from '../store/database.js';
import { redactUrlCredentials } from '../kube/redact.js';
import { EventLoopWatchdog, WatchHealth, type EventLoopWatchdogOptions } from './health.js';
import { FabricLeases } from './fabric-lease.js';
import { LeasedFabricSync, type AppliedWrite, type LeasedFabricSyncOptions } from './leased-fabric-sync.js';
import {
  AdvisoryLeaseBackend,
  InProcessLeaseBackend,
  databaseIdentity,
  isEmbeddedPglite,
  leaseConnectionConfig,
  type LeaseBackend,
} from './lease-backend.js';
import { WatchMetrics, type DriftCount, type ObjectCount } from './metrics.js';
import { embeddedServedByOtherProcess } from '../db/embedded-postgres.js';

/** What the watch runs on: an opened ledger (`openLedger()`), or a host's own EntityManager + sync service. */
export interface WatchTarget {
  em: EntityManager;
  sync: FabricSyncService;
  /** True for the embedded PGlite; detected from `version()` when absent. */
  embedded?: boolean;
}

export interface WatchOptions extends LeasedFabricSyncOptions {
  /** Serve Prometheus metrics on this port (0 = any free port; see handle.metrics.port). Off when undefined. */
  metricsPort?: number;
  /** Address the metrics server binds. Default 0.0.0.0. */
  metricsHost?: string;
  /**
   * The event-loop watchdog behind GET /healthz on the metrics server (beat every 1 s; stalled after 10 s without a
   * beat). /readyz needs nothing: database, schema and lease checks.
   */
  healthz?: EventLoopWatchdogOptions;
  logger?: Logger;
  /** How often a replica tries the fabrics it does not hold. Default 1000 ms. */
  leasePollMs?: number;
  /** How often the leases are renewed (the lease connection proven alive). Default min(2000, leasePeriodMs / 3) ms. */
  leaseCheckMs?: number;
  /**
   * A lease not renewed for this long expires (on the database clock): a frozen replica's fabrics are taken over
   * after about this long, and it writes nothing when it wakes. Default 15 000 ms. (In-process leases never expire.)
   */
  leasePeriodMs?: number;
  /** Most fabrics this replica holds. Default: its fair share of the group. */
  maxFabrics?: number;
  /** Build the KubeConfig of a fabric; default the sync service's (kubeconfig path + context, or in-cluster). */
  kubeConfigFor?: (fabric: HedgehogFabric) => KubeConfig;
  /** Lease backend; default 'auto': in-process on the embedded PGlite, advisory locks on a server. */
  lease?: 'auto' | 'advisory' | 'in-process';
  /** Connection of the advisory lease; default the ORM's connection settings. */
  leaseConnection?: string | PgConnectionConfig;
  /**
   * Check the ledger's schema at start (refuse to start when unhealthy: LedgerSchemaUnhealthyError) and export it
   * as the `hh_sync_ledger_schema_healthy` gauge. Default true.
   */
  preflight?: boolean;
}

export type ReleaseReason = 'stop' | 'lost' | 'rebalance';

export interface WatchEvents {
  acquired: [{ fabric: string }];
  released: [{ fabric: string; reason: ReleaseReason }];
  ready: [{ fabric: string; kinds: string[]; skipped: { kind: string; reason: string }[] }];
  /** Kinds whose discovery failed at start answered a retry and are watched from now on. */
  discovered: [{ fabric: string; kinds: string[] }];
  applied: [{ fabric: string } & AppliedWrite];
  restart: [{ fabric: string } & WatchRestart];
  paused: [{ fabric: string; error: Error }];
  resumed: [{ fabric: string; pausedMs: number }];
  desired: [{ fabric: string; report: SyncRunReport }];
  /** A watch window's `sync_operation` row was closed. */
  run: [{ fabric: string; report: SyncRunReport }];
  /** The lease database could not be reached (retried every poll). */
  unavailable: [{ error: Error }];
  /** Emitted only when listened to. */
  error: [{ fabric?: string; error: Error }];
}

export interface WatchHandle extends EventEmitter<WatchEvents> {
  readonly fabrics: readonly string[];
  /** Names of the fabrics this replica holds now. */
  held(): string[];
  /** Names of the held fabrics whose kinds have all been listed and written. */
  ready(): string[];
  /** Run the desired-state sync of every held fabric with a Git source now (SIGHUP). */
  syncDesiredNow(): Promise<SyncRunReport[]>;
  /** Graceful: finish the batches in flight, record the runs, release the leases, close the metrics server. */
  stop(): Promise<void>;
  readonly lease: 'advisory' | 'in-process';
  readonly metrics?: { port: number; url: string; registry: WatchMetrics['registry'] };
}

/** What a supervisor needs to run the fabrics it is handed: their rows, the leases, metrics and a way to build each sync. */
interface SupervisorParts {
  fabrics: Map<number, HedgehogFabric>;
  leases: FabricLeases;
  metrics?: WatchMetrics;
  health?: WatchHealth;
  logger: Logger;
  /** Builds one fabric's sync; `stillHolds` is its fencing check. */
  createSync: (fabric: HedgehogFabric, stillHolds: (tem: EntityManager) => Promise<boolean>) => LeasedFabricSync;
}

/**
 * The handle startWatch returns: it follows the leases (acquired → start a LeasedFabricSync, lost → abandon it,
 * surplus → stop it and hand the lease over) and forwards each fabric's events under the fabric's name.
 */
class WatchSupervisor extends EventEmitter<WatchEvents> implements WatchHandle {
  readonly watches = new Map<number, LeasedFabricSync>();
  metrics?: WatchHandle['metrics'];
  private stopping?: Promise<void>;
  private stopRequested = false;
  /** Fabrics acquired before start() returned: started on the next turn, once the caller has subscribed. */
  private starting: number[] | null = [];

  constructor(
    readonly fabrics: readonly string[],
    readonly lease: 'advisory' | 'in-process',
    private readonly parts: SupervisorParts,
  ) {
    super();
  }

  held(): string[] {
    return this.parts.leases
      .heldIds()
      .map((id) => this.parts.fabrics.get(id)!.name)
      .sort();
  }

  ready(): string[] {
    return [...this.watches.values()]
      .filter((w) => w.ready)
      .map((w) => w.name)
      .sort();
  }

  async syncDesiredNow(): Promise<SyncRunReport[]> {
    const reports = await Promise.all([...this.watches.values()].map((w) => w.syncDesiredNow()));
    return reports.filter((r): r is SyncRunReport => r !== null);
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  reportError(error: Error, fabric?: string): void {
    if (this.listenerCount('error') > 0) this.emit('error', { fabric, error });
  }

  /** Take the first leases; the fabrics held by then start on the next turn of the event loop. */
  async start(): Promise<void> {
    this.followLeases();
    try {
      await this.parts.leases.start();
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw err;
    }
    const first = this.starting ?? [];
    this.starting = null;
    setImmediate(() => {
      for (const id of first) if (!this.stopRequested && this.parts.leases.holds(id)) this.startFabric(id);
    });
  }

  private followLeases(): void {
    const { leases } = this.parts;
    leases.on('acquired', (id) => {
      if (this.stopRequested) return;
      if (this.starting) this.starting.push(id);
      else this.startFabric(id);
    });
    leases.on('lost', (lostIds, reason) => {
      for (const id of lostIds) {
        const w = this.watches.get(id);
        if (!w) continue;
        void w.abandon(reason).then(() => this.finished(id, w, 'lost'));
      }
    });
    leases.on('surplus', (id) => {
      const w = this.watches.get(id);
      if (!w) {
        void leases.release(id);
        return;
      }
      void w
        .stop()
        .then(() => leases.release(id))
        .then(() => this.finished(id, w, 'rebalance'));
    });
    leases.on('unavailable', (error) => this.emit('unavailable', { error }));
  }

  private startFabric(id: number): void {
    const { leases, metrics } = this.parts;
    const fabric = this.parts.fabrics.get(id)!;
    const name = fabric.name;
    // Fencing per watch instance: after a lost lease is taken again, the abandoned instance's in-flight write fails.
    const stillHolds = async (tem: EntityManager) => this.watches.get(id) === w && (await leases.stillHolds(tem, id));
    const w: LeasedFabricSync = this.parts.createSync(fabric, stillHolds);
    this.watches.set(id, w);
    metrics?.held.set({ fabric: name }, 1);
    this.forwardEvents(w, name);
    w.on('lease-lost', () => {
      // The fencing check found the lease gone: the watch abandons itself; forget the lease and recheck it.
      void w.stop().then(() => this.finished(id, w, 'lost'));
      leases.forget(id);
    });
    this.emit('acquired', { fabric: name });
    w.start();
  }

  private forwardEvents(w: LeasedFabricSync, name: string): void {
    w.on('ready', (r) => this.emit('ready', { fabric: name, ...r }));
    w.on('discovered', (d) => this.emit('discovered', { fabric: name, ...d }));
    w.on('applied', (a) => this.emit('applied', { fabric: name, ...a }));
    w.on('restart', (r) => this.emit('restart', { fabric: name, ...r }));
    w.on('paused', (error) => this.emit('paused', { fabric: name, error }));
    w.on('resumed', (r) => this.emit('resumed', { fabric: name, ...r }));
    w.on('desired', (report) => this.emit('desired', { fabric: name, report }));
    w.on('run', (report) => this.emit('run', { fabric: name, report }));
    w.on('problem', (error) => this.reportError(error, name));
  }

  private finished(id: number, w: LeasedFabricSync, reason: ReleaseReason): void {
    if (this.watches.get(id) !== w) return;
    this.watches.delete(id);
    this.parts.metrics?.held.set({ fabric: w.name }, 0);
    // Whether its API server answers is the holder's to say: a replica that let go exports nothing stale.
    this.parts.metrics?.clusterConnected.remove({ fabric: w.name });
    this.emit('released', { fabric: w.name, reason });
  }

  private async shutdown(): Promise<void> {
    const { leases, metrics, logger } = this.parts;
    this.stopRequested = true;
    await leases.stop(); // no new acquisitions from here on
    await Promise.all(
      [...this.watches].map(async ([id, w]) => {
        await w.stop();
        await leases.release(id);
        this.finished(id, w, 'stop');
      }),
    );
    await leases.close();
    await metrics?.close();
    this.parts.health?.watchdog.stop();
    logger.info({ fabrics: this.fabrics }, 'watch stopped');
  }
}

/** Start watching `fabricNames` (resolved now: an unknown name throws FabricNotFoundError). */
export async function startWatch(
  target: WatchTarget,
  fabricNames: readonly string[],
  options: WatchOptions = {},
): Promise<WatchHandle> {
  const log = options.logger ?? silentLogger;
  const { em, sync } = target;
  const names = [...new Set(fabricNames)];
  if (names.length === 0) throw new Error('startWatch: name at least one fabric to watch');
  const fabrics = await resolveFabrics(sync, names);
  const preflight = options.preflight !== false;
  if (preflight) await assertLedgerSchemaHealthy(em.fork());

  const mode = await chooseLease(target, options.lease ?? 'auto');
  const leases = createLeases(em, mode, [...fabrics.keys()], options, log);
  let supervisor: WatchSupervisor | undefined; // the metrics count what it holds once it exists
  const heldIds = (): number[] => [...(supervisor?.watches.keys() ?? [])];
  const metrics = options.metricsPort !== undefined ? createMetrics(em, fabrics, heldIds, preflight) : undefined;
  const health = metrics ? createHealth(em, leases, preflight, options) : undefined;
  const kubeConfigFor = options.kubeConfigFor ?? ((f: HedgehogFabric) => sync.kubeConfigFor(f));
  const createSync = (fabric: HedgehogFabric, stillHolds: (tem: EntityManager) => Promise<boolean>) =>
    new LeasedFabricSync(
      { sync, em, fabric, kubeConfigFor, schemas: sync.schemas, stillHolds, metrics, logger: log },
      options,
    );
  const handle = (supervisor = new WatchSupervisor(names, mode, {
    fabrics,
    leases,
    metrics,
    health,
    logger: log,
    createSync,
  }));

  if (metrics) handle.metrics = await serveMetrics(metrics, health, options, log);
  await handle.start();
  log.info({ fabrics: names, lease: mode, held: handle.held() }, 'watch started');
  return handle;
}

async function resolveFabrics(sync: FabricSyncService, names: readonly string[]): Promise<Map<number, HedgehogFabric>> {
  const fabrics = new Map<number, HedgehogFabric>();
  for (const name of names) {
    const f = await sync.resolveFabric(name);
    fabrics.set(f.id, f);
  }
  return fabrics;
}

/** The leases of one replica group: replicas watching the same fabric list share its fabrics. */
function createLeases(
  em: EntityManager,
  mode: 'advisory' | 'in-process',
  fabricIds: number[],
  options: WatchOptions,
  log: Logger,
): FabricLeases {
  const ids = [...fabricIds].sort((a, b) => a - b);
  const group = `hh-sync-watch:${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 12)}`;
  const backend: LeaseBackend =
    mode === 'in-process'
      ? new InProcessLeaseBackend(databaseIdentity(em), group, options.maxFabrics)
      : new AdvisoryLeaseBackend(leaseClientConfig(em, options.leaseConnection), {
          group,
          cap: options.maxFabrics,
          queryTimeoutMs: Math.max(2000, options.leaseCheckMs ?? 2000),
          leasePeriodMs: options.leasePeriodMs,
        });
  return new FabricLeases(backend, ids, {
    pollMs: options.leasePollMs,
    checkMs: options.leaseCheckMs,
    maxFabrics: options.maxFabrics,
    clock: options.clock,
    logger: log,
  });
}

function createMetrics(
  em: EntityManager,
  fabrics: Map<number, HedgehogFabric>,
  heldIds: () => number[],
  preflight: boolean,
): WatchMetrics {
  const metrics = new WatchMetrics(
    () => countObjects(em, heldIds(), fabrics),
    preflight ? async () => (await checkLedgerSchema(em.fork())).healthy : undefined,
    {
      countDrift: () => countDrift(em, heldIds(), fabrics),
      databaseReachable: () => ping(em.fork()),
    },
  );
  for (const f of fabrics.values()) {
    // Every fabric of the list has a series, 0 until held: "held by no replica" is then max(...) == 0, not absent.
    metrics.held.set({ fabric: f.name }, 0);
    metrics.info.set(
      { fabric: f.name, git: f.gitRepository ? redactUrlCredentials(f.gitRepository) : '', ref: f.gitRef ?? '' },
      1,
    );
  }
  return metrics;
}

function createHealth(em: EntityManager, leases: FabricLeases, preflight: boolean, options: WatchOptions): WatchHealth {
  const watchdog = new EventLoopWatchdog({ clock: options.clock, ...options.healthz });
  return new WatchHealth(watchdog, {
    database: () => ping(em.fork()),
    schemaHealthy: preflight
      ? async () => {
          const check = await checkLedgerSchema(em.fork());
          return check.healthy
            ? { healthy: true }
            : { healthy: false, reason: new LedgerSchemaUnhealthyError(check).message.split('\n')[0] };
        }
      : undefined,
    leaseStateKnown: () => leases.stateKnown(),
  });
}

async function serveMetrics(
  metrics: WatchMetrics,
  health: WatchHealth | undefined,
  options: WatchOptions,
  log: Logger,
): Promise<WatchHandle['metrics']> {
  const port = await metrics.listen(options.metricsPort!, options.metricsHost, health);
  health?.watchdog.start(); // stopped by the supervisor's shutdown
  const host = !options.metricsHost || options.metricsHost === '0.0.0.0' ? '127.0.0.1' : options.metricsHost;
  log.info({ port }, 'metrics served');
  return { port, url: `http://${host}:${port}/metrics`, registry: metrics.registry };
}

async function chooseLease(
  target: WatchTarget,
  wanted: 'auto' | 'advisory' | 'in-process',
): Promise<'advisory' | 'in-process'> {
  const mode =
    wanted !== 'auto' ? wanted : (target.embedded ?? (await isEmbeddedPglite(target.em))) ? 'in-process' : 'advisory';
  if (mode === 'in-process') {
    // In-process leases are this process's: a watch in another process sharing the embedded database (its
    // server) would hold the same fabrics at the same time.
    const { host, port } = leaseConnectionConfig(target.em);
    const holder = embeddedServedByOtherProcess(host, port);
    if (holder !== undefined) {
      throw new Error(
        `the embedded ledger is served by another hh-sync process (${holder}); only that process may watch it (embedded leases do not span processes): stop it first, or use PostgreSQL (--database-url) for several watch replicas`,
      );
    }
  }
  return mode;
}

function leaseClientConfig(em: EntityManager, explicit: string | PgConnectionConfig | undefined): PgConnectionConfig {
  if (typeof explicit === 'string') return { connectionString: explicit };
  return explicit ?? leaseConnectionConfig(em);
}

async function countObjects(
  em: EntityManager,
  heldIds: number[],
  fabrics: Map<number, HedgehogFabric>,
): Promise<ObjectCount[]> {
  if (heldIds.length === 0) return [];
  const rows = await countObjectsByKindAndDrift(em.fork(), heldIds);
  return rows.map((r) => ({
    fabric: fabrics.get(r.fabric_id)?.name ?? String(r.fabric_id),
    kind: r.kind,
    driftStatus: r.drift_status,
    count: r.n,
  }));
}

async function countDrift(
  em: EntityManager,
  heldIds: number[],
  fabrics: Map<number, HedgehogFabric>,
): Promise<DriftCount[]> {
  if (heldIds.length === 0) return [];
  const rows = await countDriftByStatusAndSeverity(em.fork(), heldIds);
  return rows.map((r) => ({
    fabric: fabrics.get(r.fabric_id)?.name ?? String(r.fabric_id),
    driftStatus: r.drift_status,
    severity: r.drift_severity,
    count: r.n,
  }));
}
