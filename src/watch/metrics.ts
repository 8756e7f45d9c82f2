/**
 * Prometheus metrics of one watch (`hh-sync watch --metrics-port N`), on a Registry of its own — never prom-client's
 * global one, so two watches in one process (tests, a host service) do not collide.
 *
 *   hh_sync_objects{fabric,kind,drift_status}             ledger rows of the fabrics this replica holds (read from the
 *                                                         ledger at scrape time, so replicas never count a fabric twice)
 *   hh_sync_runs_total{fabric,type,status}                finished runs: desired syncs and watch windows
 *   hh_sync_run_failures_total{fabric,type}               failed desired syncs, failed watch writes, failed windows
 *   hh_sync_watch_event_lag_seconds{fabric,kind}          from the watcher handing a batch out to its commit
 *                                                         (+ at most the flush interval the watcher coalesced it)
 *   hh_sync_watch_events_total{fabric,kind,op}            objects upserted/deleted by watch batches
 *   hh_sync_watch_restarts_total{fabric,kind}             watch restarts (errors, stalls, 410s, early closes)
 *   hh_sync_fabric_held{fabric}                           1 while this replica holds the fabric
 *   hh_sync_ledger_schema_healthy                         1 = the ledger's schema passes the pre-flight check, 0 = it
 *                                                         does not (writes would fail: run `hh-sync doctor --fix`);
 *                                                         checked at scrape time, NaN when the check cannot run
 *   hh_sync_reconcile_duration_seconds{fabric,type}       duration of each finished run: desired syncs, watch windows
 *                                                         (Argo CD's argocd_app_reconcile, Flux's gotk_reconcile_duration)
 *   hh_sync_last_successful_sync_timestamp_seconds{fabric,type}
 *                                                         desired: end of the last `completed` desired run; watch: the
 *                                                         last time the watch was current (every kind listed, writes not
 *                                                         paused, the cluster answering)
 *   hh_sync_fabric_info{fabric,git,ref}                   1 per watched fabric (git without credentials; "" when none)
 *   hh_sync_cluster_connected{fabric}                     1 = the fabric's API server answered the last list/watch, 0 =
 *                                                         the watch could not start or its last attempt failed
 *   hh_sync_database_connected                            1 = `SELECT 1` answered at scrape time, 0 = it did not
 *   hh_sync_drift_objects{fabric,drift_status,severity}   ledger rows of the held fabrics by drift status and severity
 *   process_*, nodejs_*                                   prom-client's default process metrics (same registry)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WatchHealth } from './health.js';

export interface ObjectCount {
  fabric: string;
  kind: string;
  driftStatus: string;
  count: number;
}

export interface DriftCount {
  fabric: string;
  driftStatus: string;
  severity: string;
  count: number;
}

/** Scrape-time reads beside the object counts; a metric whose probe is absent is not exported. */
export interface WatchMetricsProbes {
  /** Drift counts of the held fabrics by status and severity (hh_sync_drift_objects). */
  countDrift?: () => Promise<DriftCount[]>;
  /** Resolves when the ledger database answers, rejects when it does not (hh_sync_database_connected). */
  databaseReachable?: () => Promise<void>;
  /** Node's default process metrics (process_*, nodejs_*). Default true. */
  processMetrics?: boolean;
}

/** The metric names WatchMetrics exports under the hh_sync_ prefix (deploy/ dashboards and alerts use only these). */
export const WATCH_METRIC_NAMES = [
  'hh_sync_objects',
  'hh_sync_runs_total',
  'hh_sync_run_failures_total',
  'hh_sync_watch_event_lag_seconds',
  'hh_sync_watch_events_total',
  'hh_sync_watch_restarts_total',
  'hh_sync_fabric_held',
  'hh_sync_ledger_schema_healthy',
  'hh_sync_reconcile_duration_seconds',
  'hh_sync_last_successful_sync_timestamp_seconds',
  'hh_sync_fabric_info',
  'hh_sync_cluster_connected',
  'hh_sync_database_connected',
  'hh_sync_drift_objects',
] as const;

export class WatchMetrics {
  readonly registry = new Registry();
  readonly runs: Counter<'fabric' | 'type' | 'status'>;
  readonly failures: Counter<'fabric' | 'type'>;
  readonly eventLag: Histogram<'fabric' | 'kind'>;
  readonly events: Counter<'fabric' | 'kind' | 'op'>;
  readonly restarts: Counter<'fabric' | 'kind'>;
  readonly held: Gauge<'fabric'>;
  readonly reconcileDuration: Histogram<'fabric' | 'type'>;
  readonly lastSuccess: Gauge<'fabric' | 'type'>;
  readonly info: Gauge<'fabric' | 'git' | 'ref'>;
  readonly clusterConnected: Gauge<'fabric'>;
  private server?: Server;

  /**
   * @param countObjects reads the per-kind, per-drift-status counts of the held fabrics from the ledger.
   * @param schemaHealthy runs the ledger's pre-flight schema check (no gauge without it: the check is disabled).
   * @param probes further scrape-time reads (drift counts, database reachability) and the process metrics switch.
   */
  constructor(
    countObjects: () => Promise<ObjectCount[]>,
    schemaHealthy?: () => Promise<boolean>,
    probes: WatchMetricsProbes = {},
  ) {
    const registers = [this.registry];
    if (probes.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.registerProbes(probes);
    if (schemaHealthy) {
      new Gauge({
        name: 'hh_sync_ledger_schema_healthy',
        help: "1 when the ledger's schema passes the pre-flight check (no NOT NULL column without a default, no pending migration), else 0",
        registers,
        async collect() {
          // A check that cannot run (database down) reports NaN: unknown, never a stale 1.
          const healthy = await schemaHealthy().catch(() => undefined);
          this.set(healthy === undefined ? NaN : Number(healthy));
        },
      });
    }
    new Gauge({
      name: 'hh_sync_objects',
      help: 'Ledger objects per kind and drift status, for the fabrics this replica holds',
      labelNames: ['fabric', 'kind', 'drift_status'] as const,
      registers,
      async collect() {
        const counts = await countObjects();
        this.reset();
        for (const c of counts) this.set({ fabric: c.fabric, kind: c.kind, drift_status: c.driftStatus }, c.count);
      },
    });
    this.runs = new Counter({
      name: 'hh_sync_runs_total',
      help: 'Finished sync runs (desired syncs, watch windows) by status',
      labelNames: ['fabric', 'type', 'status'] as const,
      registers,
    });
    this.failures = new Counter({
      name: 'hh_sync_run_failures_total',
      help: 'Failed desired syncs, failed watch writes and failed watch windows',
      labelNames: ['fabric', 'type'] as const,
      registers,
    });
    this.eventLag = new Histogram({
      name: 'hh_sync_watch_event_lag_seconds',
      help: 'Time from the watcher handing out a batch of events to its commit in the ledger',
      labelNames: ['fabric', 'kind'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.events = new Counter({
      name: 'hh_sync_watch_events_total',
      help: 'Objects upserted or deleted by watch batches',
      labelNames: ['fabric', 'kind', 'op'] as const,
      registers,
    });
    this.restarts = new Counter({
      name: 'hh_sync_watch_restarts_total',
      help: 'Watch restarts (errors, stalls, expired resourceVersions, early closes)',
      labelNames: ['fabric', 'kind'] as const,
      registers,
    });
    this.held = new Gauge({
      name: 'hh_sync_fabric_held',
      help: '1 while this replica holds the fabric',
      labelNames: ['fabric'] as const,
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'hh_sync_reconcile_duration_seconds',
      help: 'Duration of finished runs (desired syncs, watch windows) per fabric and type',
      labelNames: ['fabric', 'type'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'hh_sync_last_successful_sync_timestamp_seconds',
      help: 'Unix time of the last completed desired sync (type=desired) or of the last time the watch was current (type=watch)',
      labelNames: ['fabric', 'type'] as const,
      registers,
    });
    this.info = new Gauge({
      name: 'hh_sync_fabric_info',
      help: "A watched fabric's Git source (without credentials) and ref; always 1",
      labelNames: ['fabric', 'git', 'ref'] as const,
      registers,
    });
    this.clusterConnected = new Gauge({
      name: 'hh_sync_cluster_connected',
      help: "1 when the fabric's API server answered the watch's last list or watch, 0 when it did not",
      labelNames: ['fabric'] as const,
      registers,
    });
  }

  private registerProbes(probes: WatchMetricsProbes): void {
    const registers = [this.registry];
    const { countDrift, databaseReachable } = probes;
    if (countDrift) {
      new Gauge({
        name: 'hh_sync_drift_objects',
        help: 'Ledger objects of the held fabrics by drift status and severity',
        labelNames: ['fabric', 'drift_status', 'severity'] as const,
        registers,
        async collect() {
          const counts = await countDrift();
          this.reset();
          for (const c of counts)
            this.set({ fabric: c.fabric, drift_status: c.driftStatus, severity: c.severity }, c.count);
        },
      });
    }
    if (databaseReachable) {
      new Gauge({
        name: 'hh_sync_database_connected',
        help: 'Whether the ledger database answered SELECT 1 at scrape time (1) or not (0)',
        registers,
        async collect() {
          this.set(
            await databaseReachable().then(
              () => 1,
              () => 0,
            ),
          );
        },
      });
    }
  }

  /**
   * Serve GET /metrics on `host` (default all interfaces) — and GET /healthz and /readyz when `health` is given;
   * port 0 picks a free port. Resolves with the port.
   */
  async listen(port: number, host = '0.0.0.0', health?: WatchHealth): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && health && (path === '/healthz' || path === '/readyz')) {
        void health.respond(path, res);
        return;
      }
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
        const served = health ? 'GET /metrics, /healthz, /readyz' : 'GET /metrics';
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${served}\n`);
        return;
      }
      this.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body))
        .catch((err: unknown) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(err as Error).message}\n`),
        );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
