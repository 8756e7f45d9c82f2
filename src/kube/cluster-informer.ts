/**
 * Informer-style continuous reader of the fabric kinds, for `hh-sync watch`.
 *
 * For every kind (and every configured namespace, or all namespaces) a loop runs:
 *   list (emit 'relist') → watch from the list's resourceVersion with bookmarks → on the end of
 *   the watch, re-watch from the last resourceVersion seen; on 410 Gone, relist.
 * Events are coalesced per object and handed out in batches ('batch') at most every
 * `flushIntervalMs` or as soon as `maxBatch` events are pending.
 *
 * Why not client-node's makeInformer: in 1.4 it stops for good on any error other than 410.
 * This loop restarts after every error or stream end with backoff + jitter, and a watchdog
 * restarts a watch that has been silent longer than `stallTimeoutMs` (half-open connections,
 * a server that accepted the request and never answered).
 *
 * client-node `Watch` gotchas handled here:
 * - `watch()` resolves its AbortController only once response headers arrive, and its own
 *   30 s timeout is dead code; a request the server never answers could not be cancelled. We
 *   capture the per-request http.Agent (via applyToFetchOptions) and destroy it to cancel.
 * - exceptions thrown inside the event callback are swallowed (same try as JSON.parse), and so
 *   are malformed lines — our callback catches and reports its own errors.
 * - `done` is called with an AbortError after our own abort: ignored (the watch is settled).
 * - non-200 answers arrive in `done` as an Error with `.statusCode`; an expired resourceVersion
 *   arrives either that way (HTTP 410) or in-stream as an ERROR event with a Status code 410.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import type { Agent } from 'node:http';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { KindInfo } from './catalog.js';
import type { ActualObservation, ObjectError } from '../observations.js';
import { ClusterReader, type ClusterReaderOptions, type KindListResult } from './cluster-reader.js';
import {
  toActualObservation,
  DEFAULT_MAX_OBJECT_BYTES,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
} from './object-validation.js';
import { KubeAuthError, authErrorFor, describeKubeError, httpStatusOf } from './kube-errors.js';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { contextName } from './kube-config.js';

export interface WatchEventBatch {
  kind: KindInfo;
  /** Latest state of each object added or modified (one entry per object). */
  upserts: ActualObservation[];
  /** Objects deleted (their latest event was DELETED). */
  deletes: { namespace: string; name: string }[];
  /** Objects whose event failed validation (skipped). */
  errors: ObjectError[];
}

export interface WatchRestart {
  kind: KindInfo;
  /** The namespace of the restarted watch, or null for all namespaces. */
  namespace: string | null;
  reason: string;
  /** Consecutive unsuccessful attempts (0 for a restart that follows a healthy watch). */
  attempt: number;
  /** The wait before the restart. */
  delayMs: number;
}

export interface InformerStats {
  /** Unexpected watch restarts (errors, stalls, 410s, early closes); a watch ending at its timeoutSeconds is not one. */
  restarts: number;
  /** Completed lists emitted as 'relist', the initial ones included. */
  relists: number;
  /** Watch events received (ADDED/MODIFIED/DELETED), before coalescing. */
  events: number;
  /** Per kind name: epoch ms of the last event. */
  lastEventAt: Record<string, number>;
  /** Watch connections currently open or being opened. */
  activeWatches: number;
}

export interface ClusterInformerOptions {
  /** Namespaces to watch; empty/undefined = all namespaces (one watch per kind). */
  namespaces?: string[];
  /** Longest time an event waits before it is handed out. Default 250 ms. */
  flushIntervalMs?: number;
  /** Flush as soon as this many events are pending. Default 500. */
  maxBatch?: number;
  /** Watchdog: restart a watch silent (no event, no bookmark) for this long. Default 60 s. */
  stallTimeoutMs?: number;
  /**
   * Server-side watch duration. Default: 3/4 of stallTimeoutMs (at least 1 s), so a healthy but
   * idle watch is ended by the server and renewed before the watchdog would call it stalled.
   */
  watchTimeoutSeconds?: number;
  /** Backoff of watch restarts and failed relists. Default { baseMs: 500, maxMs: 30 000 }. */
  backoff?: BackoffPolicy;
  /** Relist every kind this often, as a safety net (0 = never, the default). */
  resyncIntervalMs?: number;
  /** Serialized size limit of one object. Default 1.5 MiB. */
  maxObjectBytes?: number;
  /** Options of the lists (page size, retries, timeouts). No list deadline: the watcher's reader lives as long as it does. */
  list?: Omit<ClusterReaderOptions, 'namespaces' | 'signal' | 'maxObjectBytes' | 'listDeadlineMs' | 'clock'>;
  /** Time source of the batching window, the watchdog, restart backoff, resync interval and the lists. Default real time. */
  clock?: Clock;
}

type Change = { op: 'upsert'; obs: ActualObservation } | { op: 'delete'; namespace: string; name: string };

type Outcome =
  | { type: 'closed'; events: number; durationMs: number }
  | { type: 'gone'; reason: string }
  | { type: 'error'; reason: string; auth?: KubeAuthError }
  | { type: 'stalled' }
  | { type: 'relist' }
  | { type: 'stopped' };

interface Scope {
  kind: KindInfo;
  namespace: string | null;
  resourceVersion?: string;
  needList: boolean;
  /** Bumped by resync(); a list that began before the bump does not satisfy it. */
  resyncGeneration: number;
  lastListAt: number;
  attempt: number;
  /** Ends the current watch with the given outcome (set while a watch is open). */
  finish?: (o: Outcome) => void;
}

function scopePath(kind: KindInfo, namespace: string | null): string {
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `/apis/${kind.group}/${kind.version}${ns}/${kind.plural}`;
}

export class ClusterInformer extends EventEmitter {
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly stallTimeoutMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly backoff: BackoffPolicy;
  private readonly resyncIntervalMs: number;
  private readonly maxObjectBytes: number;
  private readonly context: string | undefined;
  private readonly scopes: Scope[];
  private readonly clock: Clock;

  private abort?: AbortController;
  private reader?: ClusterReader;
  private loops: Promise<void>[] = [];
  private started = false;
  private stopped = false;

  private pending = new Map<string, { kind: KindInfo; changes: Map<string, Change>; errors: ObjectError[] }>();
  private pendingEvents = 0;
  private flushTimer?: TimerHandle;

  private readonly counters = { restarts: 0, relists: 0, events: 0, activeWatches: 0 };
  private readonly lastEventAt: Record<string, number> = {};

  constructor(
    private readonly kc: KubeConfig,
    kinds: readonly KindInfo[],
    private readonly opts: ClusterInformerOptions = {},
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.flushIntervalMs = opts.flushIntervalMs ?? 250;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.stallTimeoutMs = opts.stallTimeoutMs ?? 60_000;
    this.watchTimeoutSeconds = opts.watchTimeoutSeconds ?? Math.max(1, Math.floor((this.stallTimeoutMs * 0.75) / 1000));
    this.backoff = opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
    this.resyncIntervalMs = opts.resyncIntervalMs ?? 0;
    this.maxObjectBytes = opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
    this.context = contextName(kc);
    const namespaces = opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)] : [null];
    this.scopes = kinds.flatMap((kind) =>
      namespaces.map((namespace) => ({
        kind,
        namespace,
        needList: true,
        resyncGeneration: 0,
        lastListAt: 0,
        attempt: 0,
      })),
    );
  }

  /**
   * List every kind (each emits 'relist'), then keep watching in the background. Resolves once
   * every kind's first list attempt is over (a failed one keeps retrying and emits 'restart').
   * Rejects with KubeAuthError — and stops — when the credentials are refused.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('ClusterInformer.start() called twice');
    this.started = true;
    this.abort = new AbortController();
    // Every scope's backoff sleep and request listens on this one signal: 14 kinds × namespaces can exceed
    // Node's default of 10 listeners without any leak.
    setMaxListeners(0, this.abort.signal);
    this.reader = new ClusterReader(this.kc, {
      ...this.opts.list,
      maxObjectBytes: this.maxObjectBytes,
      signal: this.abort.signal,
      clock: this.clock,
    });
    const firstLists = this.scopes.map((scope) => {
      let settle!: (err?: Error) => void;
      const first = new Promise<void>((resolve, reject) => {
        settle = (err?: Error) => (err ? reject(err) : resolve());
      });
      this.loops.push(this.runScope(scope, settle));
      return first;
    });
    try {
      await Promise.all(firstLists);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Hand out pending events, end every watch and list, and wait until nothing is left running. */
  async stop(): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    this.abort?.abort();
    for (const s of this.scopes) s.finish?.({ type: 'stopped' });
    await Promise.allSettled(this.loops);
    this.flush();
    if (this.flushTimer) this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /**
   * Relist the given kinds (all when omitted) now: each emits a fresh 'relist' that the consumer
   * applies with a sweep. For consumers that lost batches (e.g. a database outage).
   */
  resync(kinds?: readonly string[]): void {
    for (const s of this.scopes) {
      if (kinds && !kinds.includes(s.kind.kind)) continue;
      s.needList = true;
      s.resyncGeneration++;
      s.finish?.({ type: 'relist' });
    }
  }

  /**
   * List and watch more kinds from now on (kinds whose discovery failed at start and succeeded later); each one's
   * first list emits 'relist'. Kinds already watched are ignored. A refusal of their credentials is reported
   * ('error') and retried like any later one: it never stops the kinds already watched.
   */
  addKinds(kinds: readonly KindInfo[]): void {
    if (!this.started || this.stopped) return;
    const known = new Set(this.scopes.map((s) => s.kind.kind));
    const namespaces =
      this.opts.namespaces && this.opts.namespaces.length > 0 ? [...new Set(this.opts.namespaces)] : [null];
    for (const kind of kinds) {
      if (known.has(kind.kind)) continue;
      for (const namespace of namespaces) {
        const scope: Scope = { kind, namespace, needList: true, resyncGeneration: 0, lastListAt: 0, attempt: 0 };
        this.scopes.push(scope);
        this.loops.push(this.runScope(scope, () => undefined, false));
      }
    }
  }

  stats(): InformerStats {
    return { ...this.counters, lastEventAt: { ...this.lastEventAt } };
  }

  // --- the per-scope loop --------------------------------------------------------------------

  /** `failStartOnAuth`: a refused first list ends this scope and fails start() (false for kinds added later). */
  private async runScope(scope: Scope, firstListDone: (err?: Error) => void, failStartOnAuth = true): Promise<void> {
    let first = true;
    try {
      while (!this.stopped) {
        const resyncDue = this.resyncIntervalMs > 0 && this.clock.now() - scope.lastListAt >= this.resyncIntervalMs;
        if (scope.needList || resyncDue) {
          const r = await this.relist(scope);
          if (first) {
            first = false;
            if (r.status === 'auth' && failStartOnAuth) {
              firstListDone(r.error); // start() rejects at once: the credentials are wrong
              return;
            }
            firstListDone();
          }
          if (r.status === 'auth') {
            // Later on (a rotated token, changed RBAC) keep trying, slowly, and say why.
            this.emitError(r.error);
            await this.pause(scope, r.error.message, true);
            continue;
          }
          if (r.status === 'failed') {
            await this.pause(scope, r.reason, true);
            continue;
          }
          if (scope.needList) continue; // a resync() arrived during the list
        }
        const outcome = await this.watchOnce(scope);
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may run during the await; TypeScript keeps the loop's narrowing across it (TypeScript#9998)
        if (this.stopped) break;
        await this.afterWatch(scope, outcome);
      }
    } catch (err) {
      if (!this.stopped) this.emitError(err);
    } finally {
      if (first) firstListDone();
    }
  }

  /** List one scope; on success flush older events, then emit 'relist'. */
  private async relist(
    scope: Scope,
  ): Promise<{ status: 'ok' } | { status: 'failed'; reason: string } | { status: 'auth'; error: KubeAuthError }> {
    let result: KindListResult;
    const generation = scope.resyncGeneration;
    try {
      result = await this.reader!.listScope(scope.kind, scope.namespace);
    } catch (err) {
      if (err instanceof KubeAuthError) return { status: 'auth', error: err };
      return { status: 'failed', reason: `relist failed: ${describeKubeError(err)}` };
    }
    if (this.stopped) return { status: 'failed', reason: 'stopped' };
    if (!result.complete) return { status: 'failed', reason: `relist failed: ${result.failure ?? 'incomplete'}` };
    // Events of an older watch must reach the consumer before the snapshot that supersedes them.
    this.flush();
    scope.resourceVersion = result.resourceVersion;
    // A resync() asked for while this list ran wants a list taken after it: list again.
    scope.needList = scope.resyncGeneration !== generation;
    scope.lastListAt = this.clock.now();
    scope.attempt = 0;
    this.counters.relists++;
    this.safeEmit('relist', result);
    return { status: 'ok' };
  }

  /** Decide what follows a watch that ended, and wait the backoff if one is due. */
  private async afterWatch(scope: Scope, outcome: Outcome): Promise<void> {
    switch (outcome.type) {
      case 'stopped':
        return;
      case 'relist':
        scope.needList = true;
        return;
      case 'closed': {
        // A watch the server ended at its timeoutSeconds is the normal rhythm: renew at once.
        const expected = outcome.durationMs >= this.watchTimeoutSeconds * 1000 * 0.9;
        if (expected) {
          scope.attempt = 0;
          return;
        }
        const healthy = outcome.events > 0 || outcome.durationMs >= 1000;
        if (healthy) scope.attempt = 0;
        await this.pause(scope, `watch closed by the server after ${outcome.durationMs} ms`, !healthy);
        return;
      }
      case 'gone':
        scope.needList = true;
        this.counters.restarts++;
        this.safeEmit('restart', {
          kind: scope.kind,
          namespace: scope.namespace,
          reason: outcome.reason,
          attempt: scope.attempt,
          delayMs: 0,
        });
        return;
      case 'stalled':
        await this.pause(scope, `watch silent for more than ${this.stallTimeoutMs} ms; restarting it`, true);
        return;
      case 'error':
        if (outcome.auth) this.emitError(outcome.auth);
        await this.pause(scope, outcome.reason, true);
        return;
    }
  }

  /** Count and announce a restart, then wait: backoff with jitter when `failed`, a short jitter otherwise. */
  private async pause(scope: Scope, reason: string, failed: boolean): Promise<void> {
    if (this.stopped) return;
    const attempt = scope.attempt;
    const delayMs = failed
      ? backoffDelay(attempt, this.backoff)
      : Math.round(Math.random() * Math.min(100, this.backoff.baseMs));
    if (failed) scope.attempt++;
    this.counters.restarts++;
    this.safeEmit('restart', {
      kind: scope.kind,
      namespace: scope.namespace,
      reason,
      attempt,
      delayMs,
    } satisfies WatchRestart);
    try {
      await sleep(delayMs, this.abort!.signal, this.clock);
    } catch {
      /* stopped */
    }
  }

  // --- one watch connection ------------------------------------------------------------------

  private watchOnce(scope: Scope): Promise<Outcome> {
    const { kind } = scope;
    const agents = new Set<Pick<Agent, 'destroy'>>();
    // A view of the KubeConfig that remembers the http.Agent of each watch request, the only
    // handle through which a request still waiting for response headers can be cancelled.
    const kc = this.kc;
    const capturing = Object.create(kc) as KubeConfig;
    capturing.applyToFetchOptions = async (o) => {
      const init = await kc.applyToFetchOptions(o);
      // Duck-typed: proxy agents are not all http.Agent instances, and only destroy() is needed.
      const agent = (init as { agent?: { destroy?: unknown } | null }).agent;
      if (agent && typeof agent.destroy === 'function') agents.add(agent as Pick<Agent, 'destroy'>);
      return init;
    };

    this.counters.activeWatches++;
    const startedAt = this.clock.now();
    let lastActivity = startedAt;
    let events = 0;
    let settled = false;
    let controller: AbortController | undefined;
    let watchdog: TimerHandle; // unknown: undefined until armed

    return new Promise<Outcome>((resolve) => {
      const finish = (o: Outcome) => {
        if (settled) return;
        settled = true;
        scope.finish = undefined;
        if (watchdog) this.clock.clearInterval(watchdog);
        controller?.abort();
        for (const a of agents) a.destroy();
        this.counters.activeWatches--;
        resolve(o);
      };
      scope.finish = finish;

      watchdog = this.clock.setInterval(
        () => {
          if (this.clock.now() - lastActivity > this.stallTimeoutMs) finish({ type: 'stalled' });
        },
        Math.max(10, Math.min(1000, Math.floor(this.stallTimeoutMs / 4))),
      );

      const onEvent = (phase: string, obj: unknown) => {
        if (settled) return;
        lastActivity = this.clock.now();
        try {
          this.handleEvent(scope, phase, obj, finish, () => events++);
        } catch (err) {
          this.emitError(err);
        }
      };
      const onDone = (err: unknown) => {
        if (settled) return;
        if (!err) {
          finish({ type: 'closed', events, durationMs: this.clock.now() - startedAt });
          return;
        }
        const status = httpStatusOf(err);
        if (status === 410) {
          finish({ type: 'gone', reason: `resourceVersion ${scope.resourceVersion} is too old (HTTP 410); relisting` });
          return;
        }
        const auth = authErrorFor(err, this.context, `watch ${kind.plural}.${kind.group}`);
        finish({ type: 'error', reason: `watch failed: ${describeKubeError(err)}`, auth });
      };

      const params: Record<string, string | number | boolean | undefined> = {
        allowWatchBookmarks: true,
        resourceVersion: scope.resourceVersion,
        timeoutSeconds: this.watchTimeoutSeconds,
      };
      new Watch(capturing)
        .watch(scopePath(kind, scope.namespace), params, onEvent, onDone)
        .then((c) => {
          controller = c;
          if (settled) c.abort();
        })
        .catch((err: unknown) => finish({ type: 'error', reason: `watch could not start: ${describeKubeError(err)}` }));
    });
  }

  private handleEvent(
    scope: Scope,
    phase: string,
    obj: unknown,
    finish: (o: Outcome) => void,
    counted: () => void,
  ): void {
    const { kind } = scope;
    const meta = (obj as { metadata?: { resourceVersion?: unknown; namespace?: unknown; name?: unknown } } | null)
      ?.metadata;
    const rv =
      typeof meta?.resourceVersion === 'string' && meta.resourceVersion !== '' ? meta.resourceVersion : undefined;
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED': {
        counted();
        if (rv) scope.resourceVersion = rv;
        const r = toActualObservation(obj, kind, { maxObjectBytes: this.maxObjectBytes });
        if (r.ok) this.enqueue(kind, `${r.value.namespace}/${r.value.name}`, { op: 'upsert', obs: r.value });
        else {
          // This refused version is the object's latest: an earlier change of it queued in this batch is not current.
          if (r.error.namespace && r.error.name) this.slot(kind).changes.delete(`${r.error.namespace}/${r.error.name}`);
          this.enqueueError(kind, { ...r.error, reason: `${phase} event: ${r.error.reason}` });
        }
        return;
      }
      case 'DELETED': {
        counted();
        if (rv) scope.resourceVersion = rv;
        // Valid names only: a name no ledger row can have (a NUL, say) would fail the whole batch's SQL.
        if (
          typeof meta?.namespace === 'string' &&
          typeof meta.name === 'string' &&
          DNS1123_LABEL.test(meta.namespace) &&
          DNS1123_SUBDOMAIN.test(meta.name)
        ) {
          this.enqueue(kind, `${meta.namespace}/${meta.name}`, {
            op: 'delete',
            namespace: meta.namespace,
            name: meta.name,
          });
        } else {
          this.enqueueError(kind, {
            kind: kind.kind,
            reason: 'DELETED event without a valid metadata.namespace and metadata.name',
          });
        }
        return;
      }
      case 'BOOKMARK':
        if (rv) scope.resourceVersion = rv;
        return;
      case 'ERROR': {
        const st = (obj ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
        const detail = [st.reason, st.message].filter((x) => typeof x === 'string' && x).join(': ');
        if (st.code === 410) {
          finish({
            type: 'gone',
            reason: `resourceVersion ${scope.resourceVersion} expired (ERROR 410${detail ? ` ${detail}` : ''}); relisting`,
          });
        } else {
          finish({
            type: 'error',
            reason:
              `watch ERROR event ${typeof st.code === 'number' ? st.code : ''}${detail ? ` ${detail}` : ''}`.trim(),
          });
        }
        return;
      }
      default:
        return; // unknown event types are ignored, as client-go does
    }
  }

  // --- batching ------------------------------------------------------------------------------

  private slot(kind: KindInfo) {
    let p = this.pending.get(kind.kind);
    if (!p) {
      p = { kind, changes: new Map(), errors: [] };
      this.pending.set(kind.kind, p);
    }
    return p;
  }

  /**
   * Queue a change. A later change of the same object replaces the earlier one (and moves to the
   * end), so a batch carries each object's final state: ADDED+DELETED → delete, DELETED+ADDED →
   * upsert of the new incarnation (its new uid tells the writer it was recreated).
   */
  private enqueue(kind: KindInfo, key: string, change: Change): void {
    const p = this.slot(kind);
    p.changes.delete(key);
    p.changes.set(key, change);
    this.counters.events++;
    this.lastEventAt[kind.kind] = this.clock.now();
    this.noteEvent();
  }

  private enqueueError(kind: KindInfo, error: ObjectError): void {
    this.slot(kind).errors.push(error);
    this.counters.events++;
    this.lastEventAt[kind.kind] = this.clock.now();
    this.noteEvent();
  }

  private noteEvent(): void {
    this.pendingEvents++;
    if (this.pendingEvents >= this.maxBatch) this.flush();
    else if (!this.flushTimer) this.flushTimer = this.clock.setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Emit one 'batch' per kind with pending changes. Synchronous: emission order is event order. */
  private flush(): void {
    if (this.flushTimer) this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pendingEvents === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    this.pendingEvents = 0;
    for (const p of pending.values()) {
      const batch: WatchEventBatch = { kind: p.kind, upserts: [], deletes: [], errors: p.errors };
      for (const c of p.changes.values()) {
        if (c.op === 'upsert') batch.upserts.push(c.obs);
        else batch.deletes.push({ namespace: c.namespace, name: c.name });
      }
      this.safeEmit('batch', batch);
    }
  }

  // --- events --------------------------------------------------------------------------------

  /** A listener that throws must not break the loop that emitted (or be swallowed by client-node). */
  private safeEmit(event: string, payload: unknown): void {
    try {
      this.emit(event, payload);
    } catch (err) {
      this.emitError(err);
    }
  }

  /** 'error' is emitted only when someone listens: an unheard 'error' would throw inside our loops. */
  private emitError(err: unknown): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    } catch {
      /* a throwing error listener cannot be reported anywhere better */
    }
  }
}
