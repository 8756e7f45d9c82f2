/**
 * LeasedFabricSync: continuous sync of ONE fabric while this replica holds its lease.
 *
 *   ClusterInformer ('relist' | 'batch') → serial write queue → applyWatchWrite (one transaction each) → ledger
 *                                                              → run window (sync_operation rows), metrics, events
 *   timer / syncDesiredNow() → FabricSyncService.syncDesiredState (when the fabric has a Git source)
 *
 * - Start: discover the kinds the cluster serves, load schema defaults (CRD directory or the cluster's CRDs), then
 *   the watcher lists every kind (each list replaces and sweeps that kind) and keeps watching. Discovery and
 *   credential failures are retried with backoff for as long as the fabric is held.
 * - Write queue: one write at a time, in the order the watcher handed them out. A relist supersedes everything
 *   queued before it for its kind (the watcher flushes older events first), so those entries are dropped unwritten.
 * - Database failure: the queue pauses and DROPS what it holds (and what arrives while paused) instead of buffering
 *   without bound; the database is probed with backoff; on recovery every kind is relisted (watcher.resync()), and
 *   each relist's sweep converges the ledger on the cluster — deletions during the outage included. Nothing is lost
 *   because a complete list replaces whatever events were dropped.
 * - Fencing: every write checks, inside its transaction, that the lease is still held; when it is not, the watch
 *   is abandoned ('lease-lost') and writes nothing more.
 * - stop(): stop the watcher (pending events are handed out), write what is queued (bounded by stopTimeoutMs), close
 *   the run window. abandon(): stop at once and drop everything (the lease is gone; another replica takes over).
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import type { EntityManager } from '@mikro-orm/core';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HedgehogFabric } from '../entities/index.js';
import { listOrEmpty } from '../common/values.js';
import { FABRIC_KINDS, type KindInfo } from '../kube/catalog.js';
import { ClusterReader, type DiscoveryResult } from '../kube/cluster-reader.js';
import { describeKubeError } from '../kube/kube-errors.js';
import {
  ClusterInformer,
  type ClusterInformerOptions,
  type WatchEventBatch,
  type WatchRestart,
} from '../kube/cluster-informer.js';
import type { KindListResult } from '../kube/cluster-reader.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../kube/backoff.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import type { SchemaDefaults } from '../drift/types.js';
import type { FabricSyncService } from '../sync/fabric-sync-service.js';
import type { FabricSchemas } from '../sync/fabric-schemas.js';
import type { Logger } from '../sync/logger.js';
import type { RunCounts, SyncRunReport } from '../sync/run-recorder.js';
import { ping } from '../store/database.js';
import type { WatchMetrics } from './metrics.js';
import { WatchRunWindow } from './watch-run-window.js';
import { recordRunOutcome } from './run-outcome.js';
import { isDatabaseOutage } from './write-failure.js';
import { checkLedgerSchema, LedgerSchemaUnhealthyError } from '../db/schema-preflight.js';
import { errorText } from '../sync/error-text.js';
import {
  LeaseLostError,
  applyWatchWrite,
  kindOf,
  refreshWatchSummary,
  type WatchWrite,
  type WatchWriteResult,
} from './watch-writer.js';

export interface LeasedFabricSyncOptions {
  /** Longest time a watch event waits before it is handed out (watcher batching). Default 250 ms. */
  flushIntervalMs?: number;
  /** Hand a batch out as soon as this many events are pending. Default 500. */
  maxBatch?: number;
  /** Restart a watch silent for this long. Default 60 s. */
  stallTimeoutMs?: number;
  /** Further ClusterInformer options (backoff, resyncIntervalMs, list options, …). */
  watcher?: Omit<ClusterInformerOptions, 'namespaces' | 'flushIntervalMs' | 'maxBatch' | 'stallTimeoutMs'>;
  /** Length of one `sync_operation` window row. Default 60 s. */
  runWindowMs?: number;
  /** Batches refresh the fabric's cached summaries at most this often (relists always do). Default 5 s. */
  summaryIntervalMs?: number;
  /** Backoff of database probes after a failed write and of discovery retries. Default { baseMs: 500, maxMs: 30 000 }. */
  retry?: BackoffPolicy;
  /**
   * Backoff of the discovery retries of kinds whose discovery failed (403, 5xx, …) while the others are watched.
   * Default `retry`.
   */
  discoveryRetry?: BackoffPolicy;
  /** Desired-state sync period; default the fabric's syncIntervalSeconds. */
  desiredIntervalMs?: number;
  /** Periodic desired sync (fabrics with a Git source and syncEnabled). Default true. */
  desiredSync?: boolean;
  /** How long stop() waits for queued writes. Default 15 s. */
  stopTimeoutMs?: number;
  /** How long a write waits for another run's transaction lock on the fabric. Default 30 s. */
  lockTimeoutMs?: number;
  /**
   * Time source of the restart and probe backoff, the periodic Git sync, housekeeping, the stop deadline, and (unless
   * `watcher.clock` is given) the watcher and its lists; startWatch also runs the lease polls on it. Default real time.
   */
  clock?: Clock;
}

export interface LeasedFabricSyncDeps {
  sync: FabricSyncService;
  em: EntityManager;
  fabric: HedgehogFabric;
  kubeConfigFor: (fabric: HedgehogFabric) => KubeConfig;
  schemas: FabricSchemas;
  /** Fencing inside each write transaction. */
  stillHolds: (em: EntityManager) => Promise<boolean>;
  metrics?: WatchMetrics;
  logger: Logger;
}

export interface AppliedWrite {
  kind: string;
  source: 'relist' | 'batch';
  counts: RunCounts;
  /** Objects upserted + deleted (batch) or listed (relist). */
  objects: number;
  /** From the watcher handing the write out to its commit. */
  lagMs: number;
}

export interface LeasedFabricSyncEvents {
  /** Every kind has been listed and written since the watch started. */
  ready: [{ kinds: string[]; skipped: { kind: string; reason: string }[] }];
  /** Kinds whose discovery failed at start answered a later retry: they are listed and watched from now on. */
  discovered: [{ kinds: string[] }];
  applied: [AppliedWrite];
  restart: [WatchRestart];
  /** Writes failed; the queue is paused until the database answers again. */
  paused: [Error];
  /** The database answers again; every kind is being relisted. */
  resumed: [{ pausedMs: number }];
  desired: [SyncRunReport];
  run: [SyncRunReport];
  'lease-lost': [Error];
  /** Something went wrong that the watch handles itself (logged; forwarded as 'error' by the supervisor). */
  problem: [Error];
}

type QueueItem = { type: 'write'; write: WatchWrite; handedOutAt: number } | { type: 'housekeeping' };

const DEFAULT_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

export class LeasedFabricSync extends EventEmitter<LeasedFabricSyncEvents> {
  private fabric: HedgehogFabric;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly retry: BackoffPolicy;
  private readonly clock: Clock;
  private readonly window: WatchRunWindow;
  private watcher?: ClusterInformer;
  private schemaDefaults = new Map<string, SchemaDefaults | null>();
  private boot?: Promise<void>;
  private discoveryRetry?: Promise<void>;

  private queue: QueueItem[] = [];
  private draining?: Promise<void>;
  private paused = false;
  /** Paused because the database refused a write (it answers), not because it is unreachable. */
  private refused = false;
  private pausedAt = 0;
  private consecutiveFailures = 0;
  private recovery?: Promise<void>;
  private stopped = false;
  private abandoned = false;
  private stopping?: Promise<SyncRunReport | null>;

  /** `${kind}/${namespace|*}` scopes expected, and those listed and written since the last (re)start or outage. */
  private expectedScopes = new Set<string>();
  private readonly listedScopes = new Set<string>();
  private isReady = false;
  private served: KindInfo[] = [];
  private skipped: { kind: string; reason: string }[] = [];
  private lastSummaryAt = 0;
  private summaryStale = false;
  private housekeepingTimer?: TimerHandle;
  /** The API server answered the last list/watch attempt (hh_sync_cluster_connected). */
  private clusterAnswers = false;

  private desiredTimer?: TimerHandle;
  private desiredRun?: Promise<SyncRunReport | null>;
  private desiredAgain = false;

  constructor(
    private readonly deps: LeasedFabricSyncDeps,
    private readonly opts: LeasedFabricSyncOptions = {},
  ) {
    super();
    this.fabric = deps.fabric;
    this.log = deps.logger;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.clock = opts.clock ?? systemClock;
    // Discovery, CRD reads and backoff sleeps all listen on this one signal, several at a time.
    setMaxListeners(64, this.abort.signal);
    this.window = new WatchRunWindow(deps.em, deps.fabric, opts.runWindowMs ?? 60_000, {
      opened: (run) => deps.sync.emit('run:start', { fabric: this.fabric.name, type: 'watch', id: run.id }),
      closed: (report) => {
        recordRunOutcome(report, deps.metrics, this.log);
        deps.sync.emit('run:end', report);
        this.emit('run', report);
      },
    });
  }

  get name(): string {
    return this.fabric.name;
  }

  get ready(): boolean {
    return this.isReady;
  }

  /** Begin watching in the background (retries on its own until stop()/abandon()). */
  /** Watch events received from the API server so far (before coalescing and writing); tests wait on it. */
  get eventsReceived(): number {
    return this.watcher?.stats().events ?? 0;
  }

  /**
   * Read through a method, not the field: shutdown() sets the flag while the loops await, and the compiler would
   * carry an earlier check's narrowing past those awaits.
   */
  private isStopped(): boolean {
    return this.stopped;
  }

  /** Another desired run asked for while this one ran (a method for the same reason as isStopped). */
  private desiredRunAgain(): boolean {
    return this.desiredAgain && !this.isStopped();
  }

  start(): void {
    if (this.boot) return;
    this.boot = this.run().catch((err: unknown) => {
      if (!this.isStopped()) this.problem(err as Error);
    });
    const tick = Math.max(50, Math.min(this.opts.summaryIntervalMs ?? 5000, this.window.intervalMs) / 2);
    this.housekeepingTimer = this.clock.setInterval(() => this.enqueue({ type: 'housekeeping' }), tick);
  }

  /** Graceful: hand out pending events, write what is queued, close the run window. */
  stop(): Promise<SyncRunReport | null> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** The lease is gone: stop at once, write nothing more. */
  async abandon(reason: string): Promise<void> {
    if (this.abandoned) return;
    this.abandoned = true;
    this.queue.length = 0;
    this.log.warn({ fabric: this.name, reason }, 'watch abandoned: lease lost');
    await this.stop();
  }

  /** Run the desired-state sync now (SIGHUP); coalesced with one already running. */
  syncDesiredNow(): Promise<SyncRunReport | null> {
    if (this.isStopped()) return Promise.resolve(null);
    if (this.desiredRun) {
      this.desiredAgain = true;
      return this.desiredRun;
    }
    return this.runDesired(true);
  }

  // ---------------------------------------------------------------------------------------------- startup

  private async run(): Promise<void> {
    await this.window.closeOrphans().then(
      (n) => n && this.log.info({ fabric: this.name, runs: n }, 'closed watch runs left open by a replica that died'),
      (err: unknown) =>
        this.log.warn({ fabric: this.name, err: (err as Error).message }, 'could not close orphaned watch runs'),
    );
    for (let attempt = 0; !this.isStopped(); attempt++) {
      try {
        await this.startWatcher();
        break;
      } catch (err) {
        if (this.isStopped()) return;
        this.setClusterConnected(false);
        const delayMs = backoffDelay(attempt, this.retry);
        this.problem(
          new Error(
            `fabric "${this.name}": watch could not start (${describeKubeError(err)}); retrying in ${delayMs} ms`,
          ),
        );
        try {
          await sleep(delayMs, this.abort.signal, this.clock);
        } catch {
          return;
        }
      }
    }
    if (this.isStopped()) return;
    this.scheduleDesired(true);
  }

  private async startWatcher(): Promise<void> {
    const kc = this.deps.kubeConfigFor(this.fabric);
    const fabricNamespaces = listOrEmpty(this.fabric.namespaces);
    const namespaces = fabricNamespaces.length ? [...fabricNamespaces] : undefined;
    const reader = new ClusterReader(kc, {
      ...this.opts.watcher?.list,
      namespaces,
      signal: this.abort.signal,
      clock: this.opts.watcher?.clock ?? this.clock,
    });
    const discovery = await reader.discover(FABRIC_KINDS);
    this.schemaDefaults = await this.deps.schemas.defaultsFor(this.fabric, () => reader.readCrds());
    this.served = discovery.served;
    this.skipped = discovery.skipped;
    this.expectedScopes = new Set(
      discovery.served.flatMap((k) => (namespaces ?? ['*']).map((ns) => `${k.kind}/${ns}`)),
    );
    if (this.isStopped()) return;
    const watcher = new ClusterInformer(kc, discovery.served, {
      ...this.opts.watcher,
      clock: this.opts.watcher?.clock ?? this.clock,
      namespaces,
      flushIntervalMs: this.opts.flushIntervalMs,
      maxBatch: this.opts.maxBatch,
      stallTimeoutMs: this.opts.stallTimeoutMs,
    });
    watcher.on('relist', (list: KindListResult) =>
      this.enqueue({ type: 'write', write: { source: 'relist', list }, handedOutAt: this.clock.now() }),
    );
    watcher.on('batch', (batch: WatchEventBatch) =>
      this.enqueue({ type: 'write', write: { source: 'batch', batch }, handedOutAt: this.clock.now() }),
    );
    watcher.on('restart', (r: WatchRestart) => {
      // attempt > 0: the previous attempt to list or watch failed, so the API server is not answering.
      if (r.attempt > 0) this.setClusterConnected(false);
      this.window.noteRestart();
      this.deps.metrics?.restarts.inc({ fabric: this.name, kind: r.kind.kind });
      this.log.debug(
        { fabric: this.name, kind: r.kind.kind, namespace: r.namespace, reason: r.reason, delayMs: r.delayMs },
        'watch restart',
      );
      this.emit('restart', r);
    });
    watcher.on('error', (err: Error) => this.problem(err));
    this.watcher = watcher;
    try {
      await watcher.start(); // rejects (and stops itself) when the credentials are refused
    } catch (err) {
      this.watcher = undefined;
      throw err;
    }
    // Discovery that failed for every kind (no answer, 5xx, 403 everywhere) is a cluster the watch cannot read.
    this.setClusterConnected(discovery.served.length > 0 || discovery.failed.length === 0);
    if (this.expectedScopes.size === 0) this.markReady();
    // The cluster may well serve the kinds whose discovery failed: ask again until it answers, then watch them.
    if (discovery.failed.length) this.discoveryRetry = this.retryDiscovery(reader, discovery.failed);
  }

  /**
   * Discovery of the kinds in `failed`, again and again with backoff (a 403 fixed by RBAC, a 503 that passes) until
   * the cluster answers for each: a served kind is listed and watched from then on; one the cluster does not serve
   * (404) joins the skipped kinds for good. Ends with stop().
   */
  private async retryDiscovery(reader: ClusterReader, failed: readonly { kind: string }[]): Promise<void> {
    const failedNames = new Set(failed.map((f) => f.kind));
    let pending = FABRIC_KINDS.filter((k) => failedNames.has(k.kind));
    const backoff = this.opts.discoveryRetry ?? this.retry;
    for (let attempt = 0; pending.length && !this.isStopped(); attempt++) {
      try {
        await sleep(backoffDelay(attempt, backoff), this.abort.signal, this.clock);
      } catch {
        return; // stopped
      }
      let d: DiscoveryResult;
      try {
        d = await reader.discover(pending);
      } catch (err) {
        if (this.isStopped()) return;
        this.problem(
          new Error(
            `fabric "${this.name}": discovery retry of ${pending.map((k) => k.kind).join(', ')} failed (${describeKubeError(err)})`,
          ),
        );
        continue;
      }
      if (this.isStopped()) return;
      // Every kind asked about gets this answer's verdict (served, not served, or still failed with today's reason).
      const asked = new Set(pending.map((k) => k.kind));
      this.skipped = [...this.skipped.filter((s) => !asked.has(s.kind)), ...d.skipped];
      if (d.served.length) this.watchMore(d.served);
      const stillFailed = new Set(d.failed.map((f) => f.kind));
      pending = pending.filter((k) => stillFailed.has(k.kind));
    }
  }

  /** Start listing and watching kinds discovered after the start. */
  private watchMore(kinds: readonly KindInfo[]): void {
    const fabricNamespaces = listOrEmpty(this.fabric.namespaces);
    const namespaces = fabricNamespaces.length ? [...fabricNamespaces] : ['*'];
    this.served = [...this.served, ...kinds];
    for (const k of kinds) for (const ns of namespaces) this.expectedScopes.add(`${k.kind}/${ns}`);
    this.log.info(
      { fabric: this.name, kinds: kinds.map((k) => k.kind) },
      'discovery answered: watching these kinds from now on',
    );
    this.watcher?.addKinds(kinds);
    this.emit('discovered', { kinds: kinds.map((k) => k.kind) });
  }

  // ---------------------------------------------------------------------------------------------- write queue

  private enqueue(item: QueueItem): void {
    if (this.abandoned) return;
    if (this.paused) return; // dropped: the relist after recovery replaces it
    if (item.type === 'housekeeping') {
      if (this.queue.some((q) => q.type === 'housekeeping')) return;
    } else if (item.write.source === 'relist') {
      const kind = item.write.list.kind.kind;
      const ns = item.write.list.namespaces;
      // What is queued before a complete list is older than it (the watcher hands pending events out before each
      // list): drop it unwritten. A list of one namespace supersedes only the earlier list of that namespace —
      // batches mix the kind's namespaces.
      const superseded = (q: QueueItem) =>
        q.type === 'write' &&
        kindOf(q.write).kind === kind &&
        (ns === null || (q.write.source === 'relist' && sameScope(q.write.list.namespaces, ns)));
      this.queue = this.queue.filter((q) => !superseded(q));
    }
    this.queue.push(item);
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.paused || this.abandoned) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length && !this.paused && !this.abandoned) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.paused && !this.abandoned) {
      const item = this.queue.shift()!;
      try {
        if (item.type === 'write') {
          await this.write(item.write, item.handedOutAt);
          // Writing works again once every kind is listed and written since the failure: housekeeping, and the
          // relist of a kind with no objects, succeed while every write of an object is refused.
          if (this.listedScopes.size >= this.expectedScopes.size) this.consecutiveFailures = 0;
        } else await this.housekeeping();
      } catch (err) {
        if (err instanceof LeaseLostError) {
          this.emit('lease-lost', err);
          void this.abandon(err.message);
          return;
        }
        if (isDatabaseOutage(err)) this.enterOutage(err as Error);
        else this.enterRefusal(err as Error);
      }
    }
  }

  private writeOptions(refreshSummary: boolean, runId: number) {
    return {
      runId,
      stillHolds: this.deps.stillHolds,
      schemaDefaults: this.schemaDefaults,
      refreshSummary,
      current: this.expectedScopes.size > 0 && this.listedScopes.size >= this.expectedScopes.size,
      lockTimeoutMs: this.opts.lockTimeoutMs ?? 30_000,
    };
  }

  private async write(write: WatchWrite, handedOutAt: number): Promise<void> {
    const kind = kindOf(write).kind;
    const summaryDue =
      write.source === 'relist' || this.clock.now() - this.lastSummaryAt >= (this.opts.summaryIntervalMs ?? 5000);
    if (write.source === 'relist') this.listedScopes.add(scopeKey(write.list));
    let written: WatchWriteResult;
    try {
      const runId = await this.window.openRunId();
      written = await applyWatchWrite(
        this.deps.sync.actualKindWriter,
        this.deps.em,
        this.fabric,
        write,
        this.writeOptions(summaryDue, runId),
      );
    } catch (err) {
      if (write.source === 'relist') this.listedScopes.delete(scopeKey(write.list));
      throw err;
    }
    const { counts, changes } = written;
    this.deps.sync.emitChanges(this.fabric, changes); // committed
    if (summaryDue) this.lastSummaryAt = this.clock.now();
    else this.summaryStale = true;
    const lagMs = this.clock.now() - handedOutAt;
    const m = this.deps.metrics;
    const objects =
      write.source === 'relist'
        ? write.list.observations.length
        : write.batch.upserts.length + write.batch.deletes.length;
    if (write.source === 'batch') {
      m?.eventLag.observe({ fabric: this.name, kind }, lagMs / 1000);
      if (write.batch.upserts.length)
        m?.events.inc({ fabric: this.name, kind, op: 'upsert' }, write.batch.upserts.length);
      if (write.batch.deletes.length)
        m?.events.inc({ fabric: this.name, kind, op: 'delete' }, write.batch.deletes.length);
    }
    this.setClusterConnected(true); // what was written came from the API server just now
    // Announced as soon as it is committed; the bookkeeping below is another round trip.
    this.emit('applied', { kind, source: write.source, counts, objects, lagMs });
    if (!this.isReady && this.listedScopes.size >= this.expectedScopes.size) this.markReady();
    await this.window.record({
      kind,
      source: write.source,
      counts,
      errors: write.source === 'relist' ? write.list.errors : write.batch.errors,
      events: write.source === 'batch' ? objects : 0,
      lagMs,
    });
    if (this.window.due) await this.window.close();
  }

  private async housekeeping(): Promise<void> {
    this.noteCurrent();
    if (this.summaryStale && this.clock.now() - this.lastSummaryAt >= (this.opts.summaryIntervalMs ?? 5000)) {
      await refreshWatchSummary(this.deps.em, this.fabric, {
        stillHolds: this.deps.stillHolds,
        lockTimeoutMs: this.opts.lockTimeoutMs ?? 30_000,
      });
      this.summaryStale = false;
      this.lastSummaryAt = this.clock.now();
    }
    if (this.window.due) await this.window.close();
  }

  private setClusterConnected(up: boolean): void {
    this.clusterAnswers = up;
    this.deps.metrics?.clusterConnected.set({ fabric: this.name }, up ? 1 : 0);
    if (up) this.noteCurrent();
  }

  /** The ledger is current with the cluster now (every kind listed, writes flowing, the cluster answering): say when. */
  private noteCurrent(): void {
    if (this.isReady && !this.paused && this.clusterAnswers && !this.isStopped())
      this.deps.metrics?.lastSuccess.set({ fabric: this.name, type: 'watch' }, this.clock.now() / 1000);
  }

  private markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.noteCurrent();
    const kinds = this.served.map((k) => k.kind);
    this.log.info({ fabric: this.name, kinds: kinds.length }, 'watch ready: every kind listed and written');
    this.emit('ready', { kinds, skipped: this.skipped });
  }

  // ---------------------------------------------------------------------------------------------- outage

  private enterOutage(err: Error): void {
    this.consecutiveFailures++;
    this.deps.metrics?.failures.inc({ fabric: this.name, type: 'watch' });
    if (this.paused) return;
    this.paused = true;
    this.pausedAt = this.clock.now();
    this.queue.length = 0;
    this.listedScopes.clear();
    this.window.noteOutage({ from: new Date().toISOString(), to: null, error: errorText(err) });
    // One line; the whole message (it may hold the statement's SQL) only at debug level.
    this.log.warn(
      { fabric: this.name, err: errorText(err) },
      'ledger write failed; pausing writes until the database answers',
    );
    this.log.debug({ fabric: this.name, err: err.message }, 'ledger write failure in full');
    this.emit('paused', err);
    this.recovery = this.recover();
  }

  /**
   * A write the database refused while answering (a constraint violation, a column our INSERTs cannot fill, a data
   * error): not an outage, so no "answers again" relist loop. The window's run is closed as failed with one line
   * (the pre-flight's verdict when the schema is at fault), writes pause, and every kind is relisted after a
   * backoff that grows while writes keep being refused; each refusal logs one warn line, without SQL.
   */
  private enterRefusal(err: Error): void {
    this.consecutiveFailures++;
    this.deps.metrics?.failures.inc({ fabric: this.name, type: 'watch' });
    if (this.paused) return;
    this.paused = true;
    this.refused = true;
    this.pausedAt = this.clock.now();
    this.queue.length = 0;
    this.listedScopes.clear();
    const retryInMs = backoffDelay(this.consecutiveFailures - 1, this.retry);
    this.emit('paused', err);
    this.recovery = (async () => {
      const line = await this.refusalLine(err);
      this.log.warn(
        { fabric: this.name, err: line, retryInMs },
        'ledger write refused by the database (not an outage); relisting after a backoff',
      );
      this.log.debug({ fabric: this.name, err: err.message }, 'ledger write refusal in full');
      await this.window
        .close(line)
        .catch((closeErr: unknown) =>
          this.log.debug({ fabric: this.name, err: errorText(closeErr) }, 'could not close the run window'),
        );
      try {
        await sleep(retryInMs, this.abort.signal, this.clock);
      } catch {
        return; // stopped
      }
      if (this.isStopped() || this.abandoned) return;
      this.paused = false;
      this.refused = false;
      this.log.debug(
        { fabric: this.name, pausedMs: this.clock.now() - this.pausedAt },
        'relisting every kind after a refused write',
      );
      this.emit('resumed', { pausedMs: this.clock.now() - this.pausedAt });
      this.watcher?.resync();
      this.kick();
    })();
  }

  /** One line for a refused write: the pre-flight's verdict when the ledger's schema is at fault, else the database's message. */
  private async refusalLine(err: Error): Promise<string> {
    const preflight = await checkLedgerSchema(this.deps.em.fork()).catch(() => null);
    if (preflight && !preflight.healthy)
      return `ledger write refused: ${new LedgerSchemaUnhealthyError(preflight).message}`;
    return `ledger write refused by the database: ${errorText(err)}`;
  }

  private async recover(): Promise<void> {
    for (let attempt = Math.max(0, this.consecutiveFailures - 1); !this.isStopped() && !this.abandoned; attempt++) {
      try {
        await sleep(backoffDelay(attempt, this.retry), this.abort.signal, this.clock);
      } catch {
        return; // stopped
      }
      try {
        await ping(this.deps.em.fork());
        break;
      } catch {
        /* still down */
      }
    }
    if (this.isStopped() || this.abandoned) return;
    const pausedMs = this.clock.now() - this.pausedAt;
    this.paused = false;
    this.window.endOutage(new Date());
    this.log.info({ fabric: this.name, pausedMs }, 'database answers again; relisting every kind');
    this.emit('resumed', { pausedMs });
    // Batches dropped while paused are replaced by complete lists, whose sweeps also catch deletions.
    this.watcher?.resync();
    this.kick();
  }

  // ---------------------------------------------------------------------------------------------- desired state

  private desiredEnabled(): boolean {
    return (this.opts.desiredSync ?? true) && !!this.fabric.gitRepository && this.fabric.syncEnabled !== false;
  }

  private scheduleDesired(first = false): void {
    if (this.desiredTimer) this.clock.clearTimeout(this.desiredTimer);
    this.desiredTimer = undefined;
    if (this.isStopped() || !this.desiredEnabled()) return;
    const interval = this.opts.desiredIntervalMs ?? this.fabric.syncIntervalSeconds * 1000;
    this.desiredTimer = this.clock.setTimeout(() => void this.runDesired(false), first ? 0 : interval);
  }

  private runDesired(onDemand: boolean): Promise<SyncRunReport | null> {
    const run = (async (): Promise<SyncRunReport | null> => {
      let report: SyncRunReport | null;
      do {
        this.desiredAgain = false;
        try {
          // Settings may have changed (Git source, interval, ignore rules): take them fresh.
          this.fabric = await this.deps.sync.resolveFabric(this.fabric.id);
        } catch (err) {
          this.problem(err as Error);
        }
        if (!this.fabric.gitRepository) {
          if (onDemand)
            this.log.info({ fabric: this.name }, 'desired-state sync requested, but the fabric has no Git source');
          return null;
        }
        // A replica waking from a freeze may find this timer due before it noticed its lease expired: check first.
        if (!(await this.deps.em.fork().transactional((tem) => this.deps.stillHolds(tem)))) {
          const lost = new LeaseLostError(this.name);
          this.emit('lease-lost', lost);
          void this.abandon(lost.message);
          return null;
        }
        report = await this.deps.sync.syncDesiredState(this.fabric.id);
        recordRunOutcome(report, this.deps.metrics, this.log);
        this.emit('desired', report);
      } while (this.desiredRunAgain());
      return report;
    })()
      .catch((err: unknown) => {
        this.problem(err as Error);
        return null;
      })
      .finally(() => {
        this.desiredRun = undefined;
        this.scheduleDesired();
      });
    this.desiredRun = run;
    return run;
  }

  // ---------------------------------------------------------------------------------------------- shutdown

  private async shutdown(): Promise<SyncRunReport | null> {
    this.stopped = true;
    this.abort.abort();
    if (this.desiredTimer) this.clock.clearTimeout(this.desiredTimer);
    if (this.housekeepingTimer) this.clock.clearInterval(this.housekeepingTimer);
    // Stopping the watcher also ends a first list still in progress (and so the startup); its pending events are
    // handed out (and queued) before stop() resolves.
    await this.watcher?.stop();
    await this.boot;
    await this.discoveryRetry;
    await this.watcher?.stop();
    await this.recovery;
    const deadline = this.opts.stopTimeoutMs ?? 15_000;
    let timer: TimerHandle = undefined; // set by the executor below; clearing undefined is a no-op
    const timedOut = await Promise.race([
      this.idle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = this.clock.setTimeout(() => resolve(true), deadline);
      }),
    ]);
    this.clock.clearTimeout(timer);
    if (timedOut)
      this.log.warn(
        { fabric: this.name, queued: this.queue.length },
        'stop: queued writes not finished in time; the next holder relists',
      );
    if (!this.abandoned) await this.desiredRun;
    let report: SyncRunReport | null = null;
    try {
      report = await this.window.close(
        this.abandoned
          ? 'the watch lost its lease and stopped'
          : this.paused && this.refused
            ? 'the watch stopped while the database refused its writes; the next holder relists every kind'
            : this.paused || timedOut
              ? 'the watch stopped while the database was unavailable; the next holder relists every kind'
              : undefined,
      );
    } catch (err) {
      this.log.warn({ fabric: this.name, err: (err as Error).message }, 'could not record the end of the watch run');
    }
    this.log.info({ fabric: this.name, abandoned: this.abandoned }, 'watch stopped');
    return report;
  }

  private async idle(): Promise<void> {
    while (this.draining || (this.queue.length && !this.paused && !this.abandoned)) {
      if (!this.draining) this.kick();
      await this.draining;
    }
  }

  private problem(err: Error): void {
    this.log.warn({ fabric: this.name, err: err.message }, 'watch problem');
    if (this.listenerCount('problem') > 0) this.emit('problem', err);
  }
}

function scopeKey(list: KindListResult): string {
  return `${list.kind.kind}/${list.namespaces?.length === 1 ? list.namespaces[0] : '*'}`;
}

function sameScope(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
