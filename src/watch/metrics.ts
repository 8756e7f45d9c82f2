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
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ObjectCount {
  fabric: string;
  kind: string;
  driftStatus: string;
  count: number;
}

export class WatchMetrics {
  readonly registry = new Registry();
  readonly runs: Counter<'fabric' | 'type' | 'status'>;
  readonly failures: Counter<'fabric' | 'type'>;
  readonly eventLag: Histogram<'fabric' | 'kind'>;
  readonly events: Counter<'fabric' | 'kind' | 'op'>;
  readonly restarts: Counter<'fabric' | 'kind'>;
  readonly held: Gauge<'fabric'>;
  private server?: Server;

  /**
   * @param countObjects reads the per-kind, per-drift-status counts of the held fabrics from the ledger.
   * @param schemaHealthy runs the ledger's pre-flight schema check (no gauge without it: the check is disabled).
   */
  constructor(countObjects: () => Promise<ObjectCount[]>, schemaHealthy?: () => Promise<boolean>) {
    const registers = [this.registry];
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
  }

  /** Serve GET /metrics on `host` (default all interfaces); port 0 picks a free port. Resolves with the port. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
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
