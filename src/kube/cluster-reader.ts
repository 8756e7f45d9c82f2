/**
 * Reads the fabric kinds from a Kubernetes API server into validated ActualObservations.
 *
 * - discover(): which fabric kinds this cluster serves (GET /apis/{group}/{version}).
 * - listKind(): one kind, paged with limit + continue, all namespaces or the configured ones.
 *   An expired continue token (410) restarts that kind's list from scratch (bounded);
 *   429/5xx/network errors/timeouts/malformed bodies are retried with backoff honouring
 *   Retry-After (bounded); 401 throws KubeAuthError, 403 (RBAC) fails that kind's list only, naming
 *   the missing grant. A list that does not complete returns
 *   `complete: false` with NO observations, so nothing is ever written from half a list.
 *   Invalid objects become `errors`; the valid ones are kept.
 * - listKindMetadata(): the same list (same paging, retries, 410 restarts, 403 handling) asking for metadata only
 *   (`PartialObjectMetadataList`): each object's uid and resourceVersion. A page the server answers with full
 *   objects instead (it ignored the Accept header: the returned `kind` says so) is kept as full observations.
 * - getObject(): one object, for the objects a metadata-only list shows changed. 404 naming it = deleted since.
 *
 * No database code here: the writer consumes the results.
 */
import {
  CustomObjectsApi,
  Observable,
  type KubeConfig,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type V1APIResourceList,
} from '@kubernetes/client-node';
import { FABRIC_KINDS, type KindInfo } from './catalog.js';
import type { ActualObservation, ObjectError, ObjectStamp } from '../observations.js';
import { backoffDelay, parseRetryAfter, sleep, AbortedError } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  pageFacts,
  stampOfMetadata,
  toActualObservation,
  toObjectStamp,
  type StampOutcome,
} from './object-validation.js';
import {
  KubeAuthError,
  KubeRequestError,
  authErrorFor,
  describeKubeError,
  forbiddenDiscoveryMessage,
  forbiddenGetMessage,
  forbiddenListMessage,
  headerOf,
  httpStatusOf,
  isRetryable,
  notFoundObjectName,
} from './kube-errors.js';
import { contextName, ExecPluginError, guardExecPlugin } from './kube-config.js';
import { KeepAliveAgents } from './keep-alive.js';
import { scanMetadataListPage, type ScannedMetadataPage } from './metadata-page-scan.js';

export { KubeAuthError, KubeRequestError } from './kube-errors.js';

export interface KindListResult {
  kind: KindInfo;
  /** True only when every page of every listed namespace arrived. */
  complete: boolean;
  /** Valid objects; always empty when `complete` is false. */
  observations: ActualObservation[];
  /** Objects that failed validation (skipped), and nothing else. */
  errors: ObjectError[];
  /** Why the list did not complete. */
  failure?: string;
  /** The list's resourceVersion (snapshot) — set when exactly one scope (all namespaces, or one namespace) was listed. */
  resourceVersion?: string;
  /** The namespaces listed, or null for all namespaces. A consumer sweeps only within these. */
  namespaces: string[] | null;
  pages: number;
  /** Times the list was restarted from scratch after an expired continue token (410). */
  restarts: number;
}

/**
 * A kind's list asking for metadata only. `stamps` are the objects the server described by metadata; `observations`
 * the full objects of pages it answered in full (it ignored the Accept header): together, the kind's complete list.
 */
export interface KindMetadataListResult {
  kind: KindInfo;
  /** True only when every page of every listed namespace arrived. */
  complete: boolean;
  /**
   * uid + resourceVersion of the objects served as metadata, in list order; always empty when `complete` is false. A
   * server that repeats an item (it should not) repeats its stamp here: the read (src/sync/kind-read.ts) takes each
   * object once, while it looks the stamp up in the index anyway — deduplicating here cost a key and a map entry per
   * object.
   */
  stamps: ObjectStamp[];
  /** Full objects of the pages served in full (a server that ignored the header); empty when `complete` is false. */
  observations: ActualObservation[];
  /** Items refused (unusable name, or an invalid full object). */
  errors: ObjectError[];
  failure?: string;
  resourceVersion?: string;
  namespaces: string[] | null;
  pages: number;
  /** Pages answered with full objects although metadata only was asked for. */
  fullPages: number;
  /** Metadata-only pages read by scanMetadataListPage, never parsed whole; the others were parsed as a whole. */
  scannedPages: number;
  restarts: number;
}

/**
 * Where listKindPages hands a kind's list, page by page, as it arrives; the list waits for each call, so a slow
 * consumer (the database) holds the list back instead of letting pages pile up in memory.
 */
export interface KindPageSink {
  /** One page's valid objects (an object repeated by the server is given once, the first time). */
  page(observations: ActualObservation[]): Promise<void>;
  /** The list starts over from its first page (an expired continue token): every page given so far is void. */
  restart(): Promise<void>;
}

/** How a list given page by page ended: KindListResult without the objects, which went to the sink. */
export type KindPagesResult = Omit<KindListResult, 'observations'>;

/** One object read by GET: its current version, gone since it was listed (404 naming it), or refused (why). */
export type ObjectReadResult =
  | { outcome: 'read'; observation: ActualObservation }
  | { outcome: 'gone' }
  | { outcome: 'refused'; error: ObjectError };

/**
 * The Accept header of a metadata-only list, as client-go's metadata client sends it: the plain JSON after the
 * partial representation lets a server that does not know it answer with the full list (406 otherwise).
 */
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

/** Whether a list answer is metadata only: the returned kind is the only reliable sign (a server may ignore Accept). */
function isPartialList(body: ListBody): boolean {
  return body.kind === 'PartialObjectMetadataList' && body.apiVersion === 'meta.k8s.io/v1';
}

export interface DiscoveryResult {
  served: KindInfo[];
  /** Every kind not served, with the reason: those the cluster does not serve, and those in `failed`. */
  skipped: { kind: string; reason: string }[];
  /**
   * The subset of `skipped` whose discovery failed (403, 5xx or network errors after the retries, malformed
   * answers): the cluster may well serve them; they were not read, which a run reports as a failure.
   */
  failed: { kind: string; reason: string }[];
}

export interface RetryInfo {
  what: string;
  /** 1-based number of the retry about to happen. */
  attempt: number;
  delayMs: number;
  error: string;
}

export interface ClusterReaderOptions {
  /** Namespaces to read; empty/undefined = all namespaces. */
  namespaces?: string[];
  /** Items per page (`limit`). Default 500. */
  pageSize?: number;
  /**
   * Items per page of a metadata-only list. Default 10 × pageSize: an item is its metadata alone, about a tenth of
   * a fabric object, so such a page weighs about what a full page does — and a re-sync makes a tenth of the requests.
   */
  metadataPageSize?: number;
  /** Retries of one request after a retryable failure. Default 5. */
  maxRetries?: number;
  /** First backoff delay. Default 200 ms. */
  baseDelayMs?: number;
  /** Backoff ceiling. Default 10 s. */
  maxDelayMs?: number;
  /** Ceiling for a server's Retry-After, so a confused server cannot stall a run. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Restarts of one kind's list after expired continue tokens. Default 3. */
  maxRestarts?: number;
  /** Serialized size limit of one object. Default 1.5 MiB. */
  maxObjectBytes?: number;
  /** Timeout of one request (headers and body). Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Time budget of everything this reader requests, counted from its construction: past it, no request is
   * started (a list then fails with "not listed: the run's list deadline passed") and a running attempt is
   * cut at the deadline. Default none (the watch's reader lives for ever); an actual sync run sets one.
   */
  listDeadlineMs?: number;
  /** Called after every page with the number of items it carried (progress bars). */
  onPage?: (kind: KindInfo, count: number) => void;
  /** Called before every retry (logging). */
  onRetry?: (info: RetryInfo) => void;
  /** Aborts every request and backoff sleep; the pending call rejects with an AbortError. */
  signal?: AbortSignal;
  /** Time source of the request timeouts, backoff sleeps, Retry-After dates and the list deadline. Default real time. */
  clock?: Clock;
}

/** Items per list page unless `pageSize` says otherwise. */
export const DEFAULT_PAGE_SIZE = 500;
/** A metadata-only page holds this many times `pageSize` items unless `metadataPageSize` says otherwise. */
export const METADATA_PAGE_FACTOR = 10;

/** A request without a complete answer (headers and body) within `requestTimeoutMs`: retried like a network error. */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
}

/** The per-request options handed to client-node's generated API calls. */
type RequestOptions = { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' };

/** A 200 answer whose body is not what a list/discovery call returns: retried like a network error. */
export class MalformedResponseError extends Error {
  override name = 'MalformedResponseError';
}

/** A request not started (or cut) because the reader's `listDeadlineMs` passed: never retried. */
export class ListDeadlineError extends Error {
  override name = 'ListDeadlineError';
}

/**
 * Retries of one request once an earlier request got no answer at all through all its retries: a server that
 * did not answer one kind's list in minutes will not answer the next, and 14 kinds × 6 attempts × 30 s would
 * hold the run (and the fabric lock) for 45 minutes. One answer of any kind restores the full budget.
 */
export const SILENT_SERVER_RETRIES = 0;

const FABRIC_CRD_GROUPS = new Set(FABRIC_KINDS.map((k) => k.group));
const CRD_RESOURCE = { plural: 'customresourcedefinitions', group: 'apiextensions.k8s.io' };

/** RBAC refused the list of CustomResourceDefinitions; the message names the grant that would allow it. */
export class CrdReadForbiddenError extends Error {
  override name = 'CrdReadForbiddenError';
}

/**
 * Observable-style middleware that attaches an AbortSignal to a request. client-node 1.4's
 * generated APIs accept no signal parameter; the RequestContext has `setSignal`, reachable only
 * through middleware. (The ObjectParam APIs take Observable middleware, not Promise middleware.)
 */
function signalMiddleware(signal: AbortSignal): ObservableMiddleware {
  return {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
  };
}

/** Middleware that replaces the Accept header the generated API sets (it offers no parameter for it). */
function acceptMiddleware(accept: string): ObservableMiddleware {
  return {
    pre: (ctx: RequestContext) => {
      ctx.setHeaderParam('Accept', accept);
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
  };
}

/**
 * A list page's answer as the page middleware read it: its text (a list page's text tells what its items need
 * checked: pageFacts), or — a metadata-only page the scanner could read — the scanned page instead.
 */
type PageAnswer = { text: string } | { scanned: ScannedMetadataPage };

/** What client-node is given to parse in place of a scanned page: the caller takes the scanned page instead. */
const SCANNED_PAGE_PLACEHOLDER = JSON.stringify({
  kind: 'PartialObjectMetadataList',
  apiVersion: 'meta.k8s.io/v1',
  items: [],
});

function bodyOf(text: string): ResponseContext['body'] {
  return { text: () => Promise.resolve(text), binary: () => Promise.resolve(Buffer.from(text)) };
}

/**
 * Middleware that hands a list page's answer to `keep` and gives client-node something to parse (a body reads
 * once). With `scan` (a metadata-only list), a successful answer's bytes go through scanMetadataListPage first: a
 * page it reads is never decoded to text or parsed whole, and client-node parses a placeholder; any other answer
 * is handed on as its text, exactly as before.
 */
function pageMiddleware(keep: (answer: PageAnswer) => void, scan: boolean): ObservableMiddleware {
  const readAnswer = async (rsp: ResponseContext): Promise<ResponseContext> => {
    if (scan && rsp.httpStatusCode === 200) {
      const bytes = await rsp.body.binary();
      const scanned = scanMetadataListPage(bytes);
      if (scanned) {
        keep({ scanned });
        rsp.body = bodyOf(SCANNED_PAGE_PLACEHOLDER);
        return rsp;
      }
      const text = bytes.toString('utf8'); // what the body's text() gives
      keep({ text });
      rsp.body = bodyOf(text);
      return rsp;
    }
    const text = await rsp.body.text();
    keep({ text });
    rsp.body = bodyOf(text);
    return rsp;
  };
  return {
    pre: (ctx: RequestContext) => new Observable(Promise.resolve(ctx)),
    post: (rsp: ResponseContext) => new Observable(readAnswer(rsp)),
  };
}

interface ScopeResult {
  complete: boolean;
  /** Given a page sink: the continue token expired, and the caller restarts the whole kind (pages were given). */
  expired?: boolean;
  observations: ActualObservation[];
  stamps: ObjectStamp[];
  fullPages: number;
  scannedPages: number;
  errors: ObjectError[];
  failure?: string;
  resourceVersion?: string;
  pages: number;
  restarts: number;
}

type ListBody = {
  kind?: unknown;
  apiVersion?: unknown;
  metadata?: { resourceVersion?: string; continue?: string };
  items: unknown[];
};

export class ClusterReader {
  private readonly api: CustomObjectsApi;
  private readonly o: Required<
    Omit<
      ClusterReaderOptions,
      'onPage' | 'onRetry' | 'signal' | 'namespaces' | 'listDeadlineMs' | 'clock' | 'metadataPageSize'
    >
  > &
    Pick<ClusterReaderOptions, 'onPage' | 'onRetry' | 'signal' | 'listDeadlineMs'>;
  /** When the reader's list deadline passes (epoch ms), if it has one. */
  private readonly deadline: number | undefined;
  /** True while the last request that ran out of retries never got any answer (see SILENT_SERVER_RETRIES). */
  private serverSilent = false;
  private readonly namespaces: string[] | null;
  private readonly context: string | undefined;
  private readonly clock: Clock;
  private readonly metadataPageSize: number;
  /** Every request of this reader reuses its connections (src/kube/keep-alive.ts). */
  private readonly keepAlive = new KeepAliveAgents().middleware();

  constructor(kc: KubeConfig, opts: ClusterReaderOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.api = guardExecPlugin(kc).makeApiClient(CustomObjectsApi);
    this.context = contextName(kc);
    this.namespaces = opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)] : null;
    this.o = {
      pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
      maxRetries: opts.maxRetries ?? 5,
      baseDelayMs: opts.baseDelayMs ?? 200,
      maxDelayMs: opts.maxDelayMs ?? 10_000,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 60_000,
      maxRestarts: opts.maxRestarts ?? 3,
      maxObjectBytes: opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES,
      requestTimeoutMs: opts.requestTimeoutMs ?? 30_000,
      listDeadlineMs: opts.listDeadlineMs,
      onPage: opts.onPage,
      onRetry: opts.onRetry,
      signal: opts.signal,
    };
    this.metadataPageSize = opts.metadataPageSize ?? this.o.pageSize * METADATA_PAGE_FACTOR;
    this.deadline = opts.listDeadlineMs === undefined ? undefined : this.clock.now() + opts.listDeadlineMs;
  }

  /**
   * Which of `kinds` this cluster serves. 401 throws KubeAuthError (the credentials concern every kind); a group
   * that is not served (404) skips its kinds; any other failure of one group (403, 5xx, …) marks its kinds failed.
   */
  async discover(kinds: readonly KindInfo[] = FABRIC_KINDS): Promise<DiscoveryResult> {
    const byGv = new Map<string, KindInfo[]>();
    for (const k of kinds) {
      const list = byGv.get(k.apiVersion) ?? [];
      list.push(k);
      byGv.set(k.apiVersion, list);
    }
    const verdicts = new Map<KindInfo, string | null>(); // null = served, string = reason skipped
    const failedKinds = new Set<KindInfo>();
    await Promise.all(
      [...byGv.entries()].map(async ([gv, gvKinds]) => {
        const { group, version } = gvKinds[0]!;
        let resources: { name: string; kind: string; namespaced: boolean }[];
        try {
          // As the server sent it (a proxy may answer with nothing): checked below.
          const list = (await this.withRetry(`discover ${gv}`, (options) =>
            this.api.getAPIResources({ group, version }, options),
          )) as V1APIResourceList | undefined;
          if (!list || !Array.isArray(list.resources))
            throw new MalformedResponseError(`discovery of ${gv} returned no resource list`);
          resources = list.resources;
        } catch (err) {
          if ((err instanceof KubeAuthError && err.status !== 403) || this.o.signal?.aborted) throw err;
          const status = err instanceof KubeAuthError ? err.status : httpStatusOf(err);
          const reason =
            status === 404
              ? `the cluster does not serve ${gv} (404 on /apis/${gv}); is the CRD installed?`
              : status === 403
                ? forbiddenDiscoveryMessage(gv)
                : err instanceof KubeRequestError || err instanceof ListDeadlineError
                  ? err.message
                  : `discovery of ${gv} failed: ${describeKubeError(err)}`;
          for (const k of gvKinds) {
            verdicts.set(k, reason);
            if (status !== 404) failedKinds.add(k);
          }
          return;
        }
        for (const k of gvKinds) {
          const r = resources.find((x) => x.name === k.plural);
          if (!r) verdicts.set(k, `the cluster serves ${gv} but not ${k.plural} (kind ${k.kind})`);
          else if (r.kind !== k.kind)
            verdicts.set(k, `${gv}/${k.plural} is served as kind ${r.kind}, expected ${k.kind}`);
          else if (r.namespaced !== k.namespaced)
            verdicts.set(
              k,
              `${gv}/${k.plural} is ${r.namespaced ? 'namespaced' : 'cluster-scoped'} on this cluster, expected ${k.namespaced ? 'namespaced' : 'cluster-scoped'}`,
            );
          else verdicts.set(k, null);
        }
      }),
    );
    const served: KindInfo[] = [];
    const skipped: { kind: string; reason: string }[] = [];
    const failed: { kind: string; reason: string }[] = [];
    for (const k of kinds) {
      const v = verdicts.get(k);
      if (v === null) served.push(k);
      else {
        skipped.push({ kind: k.kind, reason: v ?? 'not discovered' });
        if (failedKinds.has(k) || v === undefined) failed.push({ kind: k.kind, reason: v ?? 'not discovered' });
      }
    }
    return { served, skipped, failed };
  }

  /** List one kind completely (all configured namespaces), or report why not (403 included). Throws only a 401 KubeAuthError / AbortError. */
  async listKind(kind: KindInfo): Promise<KindListResult> {
    const scopes: (string | null)[] = this.namespaces ?? [null];
    const observations: ActualObservation[] = [];
    const errors: ObjectError[] = [];
    let pages = 0;
    let restarts = 0;
    let resourceVersion: string | undefined;
    for (const ns of scopes) {
      const r = await this.listScope(kind, ns);
      pages += r.pages;
      restarts += r.restarts;
      if (!r.complete) {
        return {
          kind,
          complete: false,
          observations: [],
          errors: r.errors,
          failure: r.failure,
          namespaces: this.namespaces,
          pages,
          restarts,
        };
      }
      for (const o of r.observations) observations.push(o);
      for (const e of r.errors) errors.push(e);
      resourceVersion = scopes.length === 1 ? r.resourceVersion : undefined;
    }
    return {
      kind,
      complete: true,
      observations,
      errors,
      resourceVersion,
      namespaces: this.namespaces,
      pages,
      restarts,
    };
  }

  /**
   * List one kind completely like listKind, but hand each page to `sink` as it arrives instead of keeping the
   * objects: a kind of any size then costs one page of memory. An expired continue token (410) restarts the whole
   * kind, every scope of it (`sink.restart()` first: the pages given are void), each scope within listKind's bound of
   * restarts; the refusals returned are those of the last, complete attempt. Throws only a 401 KubeAuthError / AbortError, or what the sink throws.
   */
  async listKindPages(kind: KindInfo, sink: KindPageSink): Promise<KindPagesResult> {
    const scopes: (string | null)[] = this.namespaces ?? [null];
    let pages = 0;
    let restarts = 0;
    // Each scope has its own bound, as in listKind: a fabric of many namespaces gets no smaller budget of restarts.
    const restartsOf = scopes.map(() => 0);
    attempt: for (;;) {
      const errors: ObjectError[] = [];
      // Keyed by namespace/name across the kind's scopes: a server repeating an item (it should not) gives no duplicate.
      const seen = new Set<string>();
      const givePage = (observations: ActualObservation[]) => {
        const fresh = observations.filter((o) => {
          const key = `${o.namespace}/${o.name}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        return sink.page(fresh);
      };
      let resourceVersion: string | undefined;
      for (const [i, ns] of scopes.entries()) {
        const r = await this.listScopeInner(kind, ns, undefined, givePage);
        pages += r.pages;
        for (const e of r.errors) errors.push(e);
        if (r.expired) {
          restarts++;
          if (++restartsOf[i]! > this.o.maxRestarts) {
            const where = `${kind.plural}.${kind.group}${ns ? ` in namespace ${ns}` : ''}`;
            return this.incompletePages(
              kind,
              errors,
              `list ${where}: continue token expired ${restartsOf[i]} times; gave up`,
              pages,
              restarts,
            );
          }
          await sink.restart();
          continue attempt;
        }
        if (!r.complete) return this.incompletePages(kind, errors, r.failure, pages, restarts);
        resourceVersion = scopes.length === 1 ? r.resourceVersion : undefined;
      }
      return { kind, complete: true, errors, resourceVersion, namespaces: this.namespaces, pages, restarts };
    }
  }

  private incompletePages(
    kind: KindInfo,
    errors: ObjectError[],
    failure: string | undefined,
    pages: number,
    restarts: number,
  ): KindPagesResult {
    return { kind, complete: false, errors, failure, namespaces: this.namespaces, pages, restarts };
  }

  /**
   * List one kind completely asking for metadata only (uid, resourceVersion of each object): what a re-sync needs to
   * tell the changed objects from the others. Same paging, retries, restarts and failures as listKind; pages the
   * server answers in full (it ignored the Accept header) come back as full observations, with no second request.
   */
  async listKindMetadata(kind: KindInfo): Promise<KindMetadataListResult> {
    const scopes: (string | null)[] = this.namespaces ?? [null];
    const out: KindMetadataListResult = {
      kind,
      complete: false,
      stamps: [],
      observations: [],
      errors: [],
      namespaces: this.namespaces,
      pages: 0,
      fullPages: 0,
      scannedPages: 0,
      restarts: 0,
    };
    for (const ns of scopes) {
      const r = await this.listScopeInner(kind, ns, METADATA_LIST_ACCEPT);
      out.pages += r.pages;
      out.fullPages += r.fullPages;
      out.scannedPages += r.scannedPages;
      out.restarts += r.restarts;
      for (const e of r.errors) out.errors.push(e);
      if (!r.complete) return { ...out, stamps: [], observations: [], failure: r.failure };
      for (const st of r.stamps) out.stamps.push(st);
      for (const o of r.observations) out.observations.push(o);
      out.resourceVersion = scopes.length === 1 ? r.resourceVersion : undefined;
    }
    return { ...out, complete: true };
  }

  /**
   * One object by GET, validated like a listed one. 404 naming the object: it was deleted since it was listed
   * (`gone`). Anything else that stops the read — 403, a 404 of the whole resource, 5xx after the retries, the
   * deadline, an invalid object — refuses this object only (`refused`, with why). Throws only a 401 / AbortError.
   */
  async getObject(kind: KindInfo, namespace: string, name: string): Promise<ObjectReadResult> {
    const what = `get ${kind.plural}.${kind.group} ${namespace}/${name}`;
    const refused = (reason: string): ObjectReadResult => ({
      outcome: 'refused',
      error: { kind: kind.kind, namespace, name, reason },
    });
    let raw: unknown;
    try {
      raw = await this.withRetry(what, (options) =>
        this.api.getNamespacedCustomObject(
          { group: kind.group, version: kind.version, plural: kind.plural, namespace, name },
          options,
        ),
      );
    } catch (err) {
      if (err instanceof KubeAuthError && err.status === 403)
        return refused(forbiddenGetMessage(kind, namespace, name));
      if (err instanceof KubeAuthError || this.o.signal?.aborted) throw err;
      const cause = err instanceof KubeRequestError ? err.cause : err;
      if (notFoundObjectName(cause) === name) return { outcome: 'gone' };
      return refused(
        err instanceof KubeRequestError || err instanceof ListDeadlineError
          ? err.message
          : `${what} failed: ${describeKubeError(err)}`,
      );
    }
    const r = toActualObservation(raw, kind, { maxObjectBytes: this.o.maxObjectBytes });
    if (!r.ok) return { outcome: 'refused', error: r.error };
    // A server answering for another object would put that object's version under this key.
    if (r.value.namespace !== namespace || r.value.name !== name)
      return refused(`${what} answered with ${r.value.namespace}/${r.value.name}`);
    return { outcome: 'read', observation: r.value };
  }

  /**
   * List one kind in one scope (a namespace, or null for all namespaces): the building block of
   * listKind, and what the watcher relists after a 410.
   */
  async listScope(kind: KindInfo, namespace: string | null): Promise<KindListResult> {
    const r = await this.listScopeInner(kind, namespace);
    return {
      kind,
      complete: r.complete,
      observations: r.complete ? r.observations : [],
      errors: r.errors,
      failure: r.failure,
      resourceVersion: r.resourceVersion,
      namespaces: namespace === null ? null : [namespace],
      pages: r.pages,
      restarts: r.restarts,
    };
  }

  /** List several kinds, a few at a time, results in input order. A KubeAuthError rejects the whole call. */
  async listKinds(kinds: readonly KindInfo[], concurrency = 4): Promise<KindListResult[]> {
    const results = new Array<KindListResult>(kinds.length);
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < kinds.length) {
        const i = next++;
        try {
          results[i] = await this.listKind(kinds[i]!);
        } catch (err) {
          failed = true; // credentials refused or aborted: start no further kinds
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, kinds.length)) }, worker));
    return results;
  }

  /**
   * The CustomResourceDefinitions of the fabric groups (raw JSON, for schema defaults and validation).
   * No CRD API (404) → []. Anything else that stops the read throws: a 403 (reading CRDs needs cluster-wide
   * RBAC a fabric reader may lack) as a CrdReadForbiddenError naming the missing grant.
   */
  async readCrds(): Promise<object[]> {
    const out: object[] = [];
    let cont: string | undefined;
    try {
      do {
        const body = (await this.withRetry('list customresourcedefinitions', (options) =>
          this.api.listClusterCustomObject(
            {
              group: 'apiextensions.k8s.io',
              version: 'v1',
              plural: 'customresourcedefinitions',
              limit: this.o.pageSize,
              _continue: cont,
            },
            options,
          ),
        )) as ListBody | undefined; // as the server sent it: checked below
        if (!body || !Array.isArray(body.items)) throw new MalformedResponseError('CRD list has no items array');
        for (const item of body.items) {
          const group = (item as { spec?: { group?: unknown } } | null)?.spec?.group;
          if (typeof group === 'string' && FABRIC_CRD_GROUPS.has(group)) out.push(item as object);
        }
        cont = body.metadata?.continue || undefined;
      } while (cont);
    } catch (err) {
      // A refused read is reported, never taken for "no CRDs": schemas are then missing for a reason the user can fix.
      if (err instanceof KubeAuthError && err.status === 403)
        throw new CrdReadForbiddenError(forbiddenListMessage(CRD_RESOURCE, null));
      const status = httpStatusOf(err);
      // No CRD API at all (404): nothing to read.
      if (status === 404) return [];
      throw err;
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * One scope's complete list, page by page. `accept` (metadata only) asks for PartialObjectMetadataList pages;
   * each page is taken for what its `kind` says it is, so a server that ignores the header still yields the list.
   */
  private async listScopeInner(
    kind: KindInfo,
    namespace: string | null,
    accept?: string,
    /** Given: each page's objects go here as it arrives (not into the result), and a 410 returns `expired`. */
    sink?: (observations: ActualObservation[]) => Promise<void>,
  ): Promise<ScopeResult> {
    const where = `${kind.plural}.${kind.group}${namespace ? ` in namespace ${namespace}` : ''}`;
    let pages = 0;
    let restarts = 0;

    restart: for (;;) {
      // Keyed by namespace/name: a restart starts from empty, and a server repeating an item
      // (it should not) cannot produce a duplicate row.
      const byKey = new Map<string, ActualObservation>();
      const stamps: ObjectStamp[] = []; // as listed: the read takes each object once (KindMetadataListResult.stamps)
      const errors: ObjectError[] = [];
      let fullPages = 0;
      let scannedPages = 0;
      let cont: string | undefined;
      let resourceVersion: string | undefined;
      const failed = (failure: string): ScopeResult => ({
        complete: false,
        observations: [],
        stamps: [],
        errors,
        failure,
        pages,
        fullPages,
        scannedPages,
        restarts,
      });
      do {
        let body: ListBody;
        let answer: PageAnswer | undefined; // the page's text (pageFacts, when its items are full objects) or scan
        try {
          body = await this.withRetry(
            `list ${where}`,
            async (options) => {
              const params = {
                group: kind.group,
                version: kind.version,
                plural: kind.plural,
                limit: accept === undefined ? this.o.pageSize : this.metadataPageSize,
                _continue: cont,
              };
              const b = (
                namespace
                  ? await this.api.listNamespacedCustomObject({ ...params, namespace }, options)
                  : await this.api.listClusterCustomObject(params, options)
              ) as ListBody | undefined; // as the server sent it: checked here
              if (!b || typeof b !== 'object' || !Array.isArray(b.items)) {
                throw new MalformedResponseError(`list ${where} returned a body without an items array`);
              }
              return b;
            },
            accept,
            (a) => (answer = a),
          );
        } catch (err) {
          // RBAC refusing one kind leaves that kind unread, like any failed list; 401 concerns every kind.
          if (err instanceof KubeAuthError && err.status === 403) return failed(forbiddenListMessage(kind, namespace));
          if (err instanceof KubeAuthError || this.o.signal?.aborted) throw err;
          const status = httpStatusOf(err);
          if (status === 410 && cont !== undefined) {
            // The continue token expired (the server compacted past our snapshot): start over — the whole kind when
            // its pages went to a sink already.
            if (sink) return { ...failed('continue token expired'), expired: true };
            restarts++;
            if (restarts > this.o.maxRestarts)
              return failed(`list ${where}: continue token expired ${restarts} times; gave up`);
            continue restart;
          }
          return failed(
            status === 404
              ? `list ${where}: the cluster does not serve ${kind.plural}.${kind.group} (404)`
              : err instanceof KubeRequestError || err instanceof ListDeadlineError
                ? err.message
                : `list ${where} failed: ${describeKubeError(err)}`,
          );
        }
        const scanned = answer !== undefined && 'scanned' in answer ? answer.scanned : undefined;
        const listMetadata = scanned ? scanned.metadata : body.metadata;
        pages++;
        if (resourceVersion === undefined) resourceVersion = listMetadata?.resourceVersion;
        const keepStamp = (r: StampOutcome) => {
          if (r.ok) stamps.push(r.value);
          else errors.push(r.error);
        };
        if (scanned) {
          scannedPages++;
          for (const meta of scanned.itemMetadata) keepStamp(stampOfMetadata(meta, kind));
        } else if (accept !== undefined && isPartialList(body)) {
          for (const item of body.items) keepStamp(toObjectStamp(item, kind));
        } else {
          if (accept !== undefined) fullPages++;
          const facts = answer !== undefined && 'text' in answer ? pageFacts(answer.text) : undefined;
          answer = undefined;
          const page: ActualObservation[] = [];
          for (const item of body.items) {
            const r = toActualObservation(item, kind, { maxObjectBytes: this.o.maxObjectBytes, page: facts });
            if (!r.ok) errors.push(r.error);
            else if (sink) page.push(r.value);
            else byKey.set(`${r.value.namespace}/${r.value.name}`, r.value);
          }
          if (sink) await sink(page);
        }
        this.o.onPage?.(kind, scanned ? scanned.itemMetadata.length : body.items.length);
        cont = listMetadata?.continue || undefined;
      } while (cont);
      // A page in full and another as metadata (servers of two versions behind one address) never list an object twice.
      const metadataOnly = byKey.size === 0 ? stamps : stamps.filter((st) => !byKey.has(`${st.namespace}/${st.name}`));
      return {
        complete: true,
        observations: [...byKey.values()],
        stamps: metadataOnly,
        errors,
        resourceVersion,
        pages,
        fullPages,
        scannedPages,
        restarts,
      };
    }
  }

  /**
   * Run one request attempt under its own timeout. The timer and the AbortController are held here, strongly,
   * until the attempt settles: a signal combined with AbortSignal.any() could be collected mid-request, and the
   * timeout with it — a server that accepted the request and never answered then hung the run forever. The
   * abort frees the socket; the race ends the attempt even if a client library ignored the signal.
   */
  private async attempt<T>(
    what: string,
    op: (options: RequestOptions) => Promise<T>,
    ms: number,
    accept?: string,
    /** Given the answer's text or scanned page — only by the attempt whose answer is returned. */
    onAnswer?: (answer: PageAnswer) => void,
  ): Promise<T> {
    const controller = new AbortController();
    const caller = this.o.signal;
    const onCallerAbort = () => controller.abort(caller?.reason);
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    let timer: TimerHandle; // unknown: undefined until set
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => {
        const err = new RequestTimeoutError(`no complete answer within ${ms} ms`);
        controller.abort(err);
        reject(err);
      }, ms);
    });
    let pageAnswer: PageAnswer | undefined;
    try {
      const answer = await Promise.race([
        op({
          middleware: [
            this.keepAlive,
            signalMiddleware(controller.signal),
            ...(accept ? [acceptMiddleware(accept)] : []),
            ...(onAnswer ? [pageMiddleware((a) => (pageAnswer = a), accept === METADATA_LIST_ACCEPT)] : []),
          ],
          middlewareMergeStrategy: 'append',
        }),
        timedOut,
      ]);
      if (pageAnswer !== undefined) onAnswer?.(pageAnswer);
      return answer;
    } catch (err) {
      // node-fetch reports our own abort as "The user aborted a request": say what happened instead.
      const reason: unknown = controller.signal.reason;
      throw reason instanceof RequestTimeoutError ? reason : err;
    } finally {
      this.clock.clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    }
  }

  /**
   * Run `op` until it succeeds, a non-retryable error occurs, or retries run out. Waits an
   * exponential backoff with jitter between attempts — or what the answer's Retry-After asks.
   */
  private async withRetry<T>(
    what: string,
    op: (options: RequestOptions) => Promise<T>,
    accept?: string,
    onAnswer?: (answer: PageAnswer) => void,
  ): Promise<T> {
    const maxRetries = this.serverSilent ? Math.min(this.o.maxRetries, SILENT_SERVER_RETRIES) : this.o.maxRetries;
    let answered = false;
    for (let attempt = 0; ; attempt++) {
      if (this.o.signal?.aborted) throw new AbortedError(`${what}: aborted`);
      const left = this.deadlineLeft();
      if (left <= 0)
        throw new ListDeadlineError(
          `${what}: not listed: the run's list deadline (${this.o.listDeadlineMs} ms) passed`,
        );
      try {
        const result = await this.attempt(what, op, Math.min(this.o.requestTimeoutMs, left), accept, onAnswer);
        this.serverSilent = false;
        return result;
      } catch (err) {
        if (this.o.signal?.aborted) throw new AbortedError(`${what}: aborted`);
        if (!(err instanceof RequestTimeoutError)) answered = true;
        if (err instanceof ExecPluginError) {
          // No credentials at all: every kind would fail the same way, so the run fails, like a 401.
          throw new KubeAuthError(
            `cannot get the credentials of ${this.context ? `context "${this.context}"` : 'the current context'}: ${err.message}`,
            401,
            this.context,
          );
        }
        const auth = authErrorFor(err, this.context, what);
        if (auth) throw auth;
        if (!isRetryable(err) || attempt >= maxRetries) {
          this.serverSilent = !answered;
          throw new KubeRequestError(what, err, attempt + 1);
        }
        // The API server sends Retry-After with 429 (priority & fairness), 503 and some 504/500s.
        const retryAfter = parseRetryAfter(headerOf(err, 'retry-after'), this.clock.now());
        const delayMs =
          retryAfter !== undefined
            ? Math.min(retryAfter, this.o.maxRetryAfterMs)
            : backoffDelay(attempt, { baseMs: this.o.baseDelayMs, maxMs: this.o.maxDelayMs });
        this.o.onRetry?.({ what, attempt: attempt + 1, delayMs, error: describeKubeError(err) });
        // Never sleep past the deadline: the next loop turn then says the deadline passed.
        await sleep(Math.min(delayMs, Math.max(0, this.deadlineLeft())), this.o.signal, this.clock);
      }
    }
  }

  /** Milliseconds until the list deadline (Infinity without one). */
  private deadlineLeft(): number {
    return this.deadline === undefined ? Infinity : this.deadline - this.clock.now();
  }
}
