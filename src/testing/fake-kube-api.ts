/**
 * A faithful fake of the Kubernetes API server for the fabric's custom resources, on loopback HTTP.
 * Driven by the real @kubernetes/client-node (KubeConfig with skipTLSVerify for http://).
 *
 * Serves: discovery (/api, /apis, /apis/{g}, /apis/{g}/{v}, /version), list (all namespaces and per namespace)
 * with label/field selectors and limit/continue paging from one snapshot, single GET, watch (chunked JSON lines,
 * bookmarks when asked, in-stream 410 for a compacted resourceVersion, timeoutSeconds), an optional bearer token,
 * and Status bodies on every error. Lists and GETs honour the Accept header's `as=PartialObjectMetadataList` /
 * `as=PartialObjectMetadata` (metadata only, as the real server: fake-kube/representation.ts) unless
 * `ignoreMetadataAccept` makes the fake a server that serves full objects whatever is asked. Tests change the objects through the helpers (create/update/delete/…) and
 * make the server misbehave with injectFault(). Over HTTP the fake is read-only (other methods get 405).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify as toYaml } from 'yaml';
import { FABRIC_KINDS, type KindInfo } from '../kube/catalog.js';
import { CRD_GROUP, CRD_PLURAL, CRD_VERSION, Discovery } from './fake-kube/discovery.js';
import { FaultBook, type Fault } from './fake-kube/faults.js';
import { ContinueTokens, lowerBound, namespaceRange, type Snapshot } from './fake-kube/paging.js';
import { parseSelectors } from './fake-kube/selectors.js';
import {
  badRequest,
  invalidListOptions,
  KubeStatusError,
  NOT_FOUND_MESSAGE,
  status,
  statusError,
  statusForCode,
  type KubeStatus,
} from './fake-kube/status.js';
import {
  ObjectStore,
  tooLargeResourceVersion,
  tooOldResourceVersion,
  type Entry,
  type KubeObject,
} from './fake-kube/store.js';
import { WatchStream } from './fake-kube/watch.js';
import {
  contentTypeOf,
  META_API_VERSION,
  negotiateRepresentation,
  partialObjectMetadataJson,
  type Representation,
} from './fake-kube/representation.js';

export interface FakeKubeApiOptions {
  /** When set, every request must carry `Authorization: Bearer <token>`, else 401 Status. */
  token?: string;
  /** Served kinds; default FABRIC_KINDS. */
  kinds?: readonly KindInfo[];
  /** Continue tokens older than this get 410 Expired (default 5 minutes, etcd's compaction interval). */
  continueTokenTtlMs?: number;
  /** How many change events the watch cache keeps (default 10,000); a watch from before them gets 410. */
  historyLimit?: number;
  /** CRD objects served at /apis/apiextensions.k8s.io/v1/customresourcedefinitions (they also enrich discovery). */
  crds?: object[];
  /** Interval of BOOKMARK events on watches with allowWatchBookmarks=true (default 60,000 ms, as the real server). */
  bookmarkIntervalMs?: number;
  /**
   * Serve full objects whatever representation the Accept header asks for (a server or proxy that does not know
   * `as=PartialObjectMetadataList`): what a client asking for metadata only must notice by the returned `kind`.
   */
  ignoreMetadataAccept?: boolean;
}

export interface FakeKubeRequest {
  method: string;
  /** URL path without the query string. */
  path: string;
  query: Record<string, string>;
  /** HTTP status sent (0 while the request is still waiting, e.g. on a delay fault). */
  status: number;
  /** The Accept header, if any. */
  accept?: string;
  /** What a list or GET answered with: full objects or metadata only (unset for other requests and errors). */
  representation?: Representation;
}

type Route =
  | { t: 'doc'; body: () => object }
  | { t: 'text'; body: string }
  | { t: 'collection'; info: KindInfo; namespace?: string }
  | { t: 'object'; info: KindInfo; namespace: string; name: string }
  | { t: 'crds' }
  | { t: 'crd'; name: string }
  | { t: 'notfound' };

type BodyFault = Extract<Fault, { type: 'drop' } | { type: 'malformed' } | { type: 'hang' }> | undefined;

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  record: FakeKubeRequest;
  query: Record<string, string>;
  fault: BodyFault;
}

const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_HISTORY = 10_000;

export class FakeKubeApi {
  private readonly opts: FakeKubeApiOptions;
  private readonly store: ObjectStore;
  private readonly tokens: ContinueTokens;
  private readonly faults = new FaultBook();
  private readonly discovery: Discovery;
  private readonly byResource = new Map<string, KindInfo>();
  private readonly watches = new Set<WatchStream>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly log: FakeKubeRequest[] = [];
  /** The metadata-only JSON of stored versions, made when first asked (entries are immutable). */
  private readonly partialJson = new WeakMap<Entry, string>();
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(opts: FakeKubeApiOptions = {}) {
    this.opts = opts;
    const kinds = opts.kinds ?? FABRIC_KINDS;
    this.store = new ObjectStore(kinds, opts.historyLimit ?? DEFAULT_HISTORY);
    this.tokens = new ContinueTokens(opts.continueTokenTtlMs ?? DEFAULT_TTL_MS);
    this.discovery = new Discovery(kinds, opts.crds);
    for (const k of kinds) this.byResource.set(`${k.group}/${k.version}/${k.plural}`, k);
    this.store.subscribe((e) => {
      for (const w of this.watches) w.deliver(e);
    });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Listens on 127.0.0.1 (port 0: any free port) and returns the base URL. */
  async start(port = 0): Promise<string> {
    if (this.server) throw new Error('FakeKubeApi: already started');
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('FakeKubeApi: no TCP address');
    this.baseUrl = `http://127.0.0.1:${addr.port}`;
    return this.baseUrl;
  }

  /** Closes the server, every watch stream and every socket; leaves no timer or handle behind. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const w of [...this.watches]) w.destroy();
    this.watches.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('FakeKubeApi: not started');
    return this.baseUrl;
  }

  /** A KubeConfig of the real client for this server (context 'fake', skipTLSVerify for http). */
  kubeConfig(opts: { token?: string; namespace?: string } = {}): KubeConfig {
    const kc = new KubeConfig();
    const token = opts.token ?? this.opts.token;
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', ...(token !== undefined ? { token } : {}) }],
      contexts: [
        { name: 'fake', cluster: 'fake', user: 'fake', ...(opts.namespace ? { namespace: opts.namespace } : {}) },
      ],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The same configuration as a kubeconfig file body. */
  kubeconfigYaml(opts: { token?: string; namespace?: string } = {}): string {
    const token = opts.token ?? this.opts.token;
    return toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: token !== undefined ? { token } : {} }],
      contexts: [
        {
          name: 'fake',
          context: { cluster: 'fake', user: 'fake', ...(opts.namespace ? { namespace: opts.namespace } : {}) },
        },
      ],
      'current-context': 'fake',
      preferences: {},
    });
  }

  // ---- object store ---------------------------------------------------------------------------

  /** Creates an object: sets uid, resourceVersion, creationTimestamp, generation 1 (namespace 'default' when absent). Throws if it exists. */
  create(obj: object): KubeObject {
    return parse(this.store.create(obj));
  }

  /**
   * Replaces an existing object (throws if missing, or on a stale metadata.resourceVersion): same uid, new
   * resourceVersion, generation+1 when anything but metadata/status changed. Identical content is a no-op.
   */
  update(obj: object): KubeObject {
    return parse(this.store.update(obj));
  }

  /** Creates or replaces (ignoring metadata.resourceVersion). */
  apply(obj: object): KubeObject {
    return parse(this.store.apply(obj));
  }

  delete(kind: string, namespace: string, name: string): boolean {
    return this.store.delete(kind, namespace, name);
  }

  get(kind: string, namespace: string, name: string): KubeObject | undefined {
    const e = this.store.get(kind, namespace, name);
    return e ? parse(e) : undefined;
  }

  /** Fresh copies of the stored objects (of one kind, or all), sorted by kind, namespace, name. */
  list(kind?: string): KubeObject[] {
    const kinds = kind === undefined ? this.store.servedKinds : [this.store.kindInfo(kind)].filter((k) => !!k);
    return kinds.flatMap((k) => this.store.sorted(k).map(parse));
  }

  /** Creates many objects (100,000 in a few seconds). */
  load(objs: readonly object[]): void {
    for (const o of objs) this.store.create(o);
  }

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.store.rv);
  }

  /**
   * Forgets the change history (as etcd compaction does): a watch or an Exact list from an older resourceVersion
   * gets 410, and so do the continue tokens of lists taken before now.
   */
  compact(): void {
    this.store.compact();
    this.tokens.expireOlderThan(this.store.rv);
  }

  /** Every continue token issued so far gets 410 Expired (with an inconsistent-continue token, as the real server). */
  expireContinueTokens(): void {
    this.tokens.expireAll();
  }

  // ---- faults, observation --------------------------------------------------------------------

  injectFault(f: Fault): void {
    this.faults.add(f);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Every request received, in arrival order. */
  get requests(): ReadonlyArray<FakeKubeRequest> {
    return this.log;
  }

  /** Forgets the request log. */
  clearRequests(): void {
    this.log.length = 0;
  }

  /** Ends every open watch stream cleanly (the client sees the stream end). */
  closeWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  watchCount(): number {
    return this.watches.size;
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    const query: Record<string, string> = {};
    for (const [k, v] of u.searchParams) query[k] = v;
    const record: FakeKubeRequest = { method: req.method ?? 'GET', path: u.pathname, query, status: 0 };
    if (req.headers.accept !== undefined) record.accept = req.headers.accept;
    this.log.push(record);
    try {
      await this.dispatch(req, res, u, query, record);
    } catch (e) {
      this.fail(res, record, e);
    }
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    u: URL,
    query: Record<string, string>,
    record: FakeKubeRequest,
  ): Promise<void> {
    if (this.opts.token !== undefined && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      this.sendStatus(res, record, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }

    const route = this.route(u.pathname);
    const isWatch = route.t === 'collection' && isTrue(query.watch);
    const info = route.t === 'collection' || route.t === 'object' ? route.info : undefined;
    const { delayMs, fault } = this.faults.take({
      kind: info?.kind,
      plural: info?.plural,
      watch: isWatch,
      path: u.pathname,
    });
    if (delayMs > 0) {
      await this.sleep(delayMs);
      if (!this.server || res.destroyed) return;
    }
    if (fault?.type === 'hang') {
      if (fault.afterHeaders) {
        record.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"kind":"');
      }
      return; // the reply is never finished; stop() destroys the socket
    }
    if (fault?.type === 'status') {
      const verb = isWatch ? 'watch' : route.t === 'object' ? 'get' : 'list';
      const resource = info ? `${info.plural}.${info.group}` : '';
      const retryAfter = fault.retryAfterSeconds ?? (fault.code === 429 ? 1 : undefined);
      this.sendStatus(res, record, statusForCode(fault.code, resource, verb, retryAfter));
      return;
    }

    if (route.t === 'notfound') {
      this.sendStatus(res, record, status(404, 'NotFound', NOT_FOUND_MESSAGE));
      return;
    }
    if (req.method !== 'GET') {
      this.sendStatus(
        res,
        record,
        status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
      );
      return;
    }
    return this.serve({ req, res, record, query, fault }, route, isWatch);
  }

  /** A GET of a known route, once authorization and faults have had their say. */
  private serve(ctx: Ctx, route: Exclude<Route, { t: 'notfound' }>, isWatch: boolean): void | Promise<void> {
    const { res, record } = ctx;
    switch (route.t) {
      case 'doc': {
        this.sendJson(ctx, JSON.stringify(route.body()));
        return;
      }
      case 'text':
        record.status = 200;
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(route.body);
        return;
      case 'collection': {
        if (isWatch) this.watch(ctx, route.info, route.namespace);
        else this.listCollection(ctx, route.info, route.namespace);
        return;
      }
      case 'object': {
        this.getObject(ctx, route.info, route.namespace, route.name);
        return;
      }
      case 'crds': {
        this.sendJson(
          ctx,
          JSON.stringify({
            kind: 'CustomResourceDefinitionList',
            apiVersion: `${CRD_GROUP}/${CRD_VERSION}`,
            metadata: { resourceVersion: String(this.store.rv) },
            items: this.opts.crds ?? [],
          }),
        );
        return;
      }
      case 'crd': {
        const crd = (this.opts.crds ?? []).find(
          (c) => (c as { metadata?: { name?: string } }).metadata?.name === route.name,
        );
        if (!crd) {
          this.sendStatus(
            res,
            record,
            status(404, 'NotFound', `${CRD_PLURAL}.${CRD_GROUP} "${route.name}" not found`, {
              name: route.name,
              group: CRD_GROUP,
              kind: CRD_PLURAL,
            }),
          );
          return;
        }
        this.sendJson(ctx, JSON.stringify(crd));
        return;
      }
    }
  }

  private route(pathname: string): Route {
    let seg: string[];
    try {
      seg = pathname
        .split('/')
        .filter((s) => s !== '')
        .map(decodeURIComponent);
    } catch {
      return { t: 'notfound' };
    }
    const d = this.discovery;
    const [root, g, v, a, b, c, e, f] = seg;
    if (seg.length === 0) {
      return {
        t: 'doc',
        body: () => ({ paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'] }),
      };
    }
    if (seg.length === 1 && (root === 'healthz' || root === 'livez' || root === 'readyz'))
      return { t: 'text', body: 'ok' };
    if (seg.length === 1 && root === 'version') return { t: 'doc', body: () => d.version() };
    if (root === 'api') {
      if (seg.length === 1)
        return { t: 'doc', body: () => d.apiVersions(this.baseUrl?.replace(/^http:\/\//, '') ?? '') };
      if (seg.length === 2 && g === 'v1') return { t: 'doc', body: () => d.coreResources() };
      return { t: 'notfound' };
    }
    if (root !== 'apis') return { t: 'notfound' };
    if (seg.length === 1) return { t: 'doc', body: () => d.groupList() };
    if (seg.length === 2) {
      const doc = d.group(g!);
      return doc ? { t: 'doc', body: () => doc } : { t: 'notfound' };
    }
    if (seg.length === 3) {
      const doc = d.resourceList(g!, v!);
      return doc ? { t: 'doc', body: () => doc } : { t: 'notfound' };
    }
    if (g === CRD_GROUP && v === CRD_VERSION && a === CRD_PLURAL && this.opts.crds) {
      if (seg.length === 4) return { t: 'crds' };
      if (seg.length === 5) return { t: 'crd', name: b! };
      return { t: 'notfound' };
    }
    if (a === 'namespaces' && seg.length >= 6) {
      const info = this.byResource.get(`${g}/${v}/${c}`);
      if (!info || !info.namespaced) return { t: 'notfound' };
      if (seg.length === 6) return { t: 'collection', info, namespace: b! };
      // `/status` is a subresource whose GET returns the whole object.
      if (seg.length === 7 || (seg.length === 8 && f === 'status'))
        return { t: 'object', info, namespace: b!, name: e! };
      return { t: 'notfound' };
    }
    const info = this.byResource.get(`${g}/${v}/${a}`);
    if (!info) return { t: 'notfound' };
    if (seg.length === 4) return { t: 'collection', info };
    if (!info.namespaced && (seg.length === 5 || (seg.length === 6 && c === 'status'))) {
      return { t: 'object', info, namespace: '', name: b! };
    }
    return { t: 'notfound' };
  }

  private getObject(ctx: Ctx, info: KindInfo, namespace: string, name: string): void {
    const e = this.store.get(info.kind, namespace, name);
    if (!e) {
      throw statusError(404, 'NotFound', `${info.plural}.${info.group} "${name}" not found`, {
        name,
        group: info.group,
        kind: info.plural,
      });
    }
    const representation = this.representationOf(ctx, 'object');
    ctx.record.representation = representation;
    if (representation === 'metadata')
      this.sendJson(ctx, this.partialOf(e), undefined, '', contentTypeOf('metadata', 'object'));
    else this.sendJson(ctx, e.json);
  }

  /** The representation the request's Accept header asks for (406 when none can be served). */
  private representationOf(ctx: Ctx, target: 'list' | 'object'): Representation {
    return negotiateRepresentation(ctx.req.headers.accept, target, this.opts.ignoreMetadataAccept);
  }

  private partialOf(e: Entry): string {
    let json = this.partialJson.get(e);
    if (json === undefined) this.partialJson.set(e, (json = partialObjectMetadataJson(e.json)));
    return json;
  }

  private listCollection(ctx: Ctx, info: KindInfo, namespace: string | undefined): void {
    const q = ctx.query;
    // Negotiated first: a 406 comes before any list option is looked at.
    const representation = this.representationOf(ctx, 'list');
    const { select, filtered } = parseSelectors(q.labelSelector, q.fieldSelector);
    const limit = parseLimit(q.limit);
    const cont = q.continue || undefined;
    const rvParam = q.resourceVersion || undefined;
    const match = q.resourceVersionMatch || undefined;
    if (match !== undefined && match !== 'Exact' && match !== 'NotOlderThan') {
      throw invalidListOptions(
        'resourceVersionMatch',
        `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`,
      );
    }
    if (match !== undefined && cont !== undefined) {
      throw invalidListOptions('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided');
    }
    if (match !== undefined && rvParam === undefined) {
      throw invalidListOptions(
        'resourceVersionMatch',
        'resourceVersionMatch is forbidden unless resourceVersion is provided',
      );
    }
    if (match === 'Exact' && rvParam === '0') {
      throw invalidListOptions(
        'resourceVersionMatch',
        'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      );
    }
    if (cont !== undefined && rvParam !== undefined)
      throw badRequest('specifying resource version is not allowed when using continue');

    let items: readonly Entry[];
    let listRv: number;
    let snap: Snapshot | undefined;
    let start: string | undefined;
    if (cont !== undefined) {
      const r = this.tokens.resolve(cont, info);
      start = r.start;
      if (r.snapshot) {
        snap = r.snapshot;
        items = snap.items;
        listRv = snap.rv;
      } else {
        items = this.store.sorted(info);
        listRv = this.store.rv;
      }
    } else if (rvParam === undefined || rvParam === '0') {
      // Unset: a consistent read of the latest state. "0": any state — the latest is as good as any.
      items = this.store.sorted(info);
      listRv = this.store.rv;
    } else {
      const rv = parseResourceVersion(rvParam);
      if (match === 'Exact') {
        items = this.store.stateAt(info, rv);
        listRv = rv;
      } else {
        // NotOlderThan (also the meaning of a bare resourceVersion): the latest state, once it has reached rv.
        if (rv > this.store.rv) throw tooLargeResourceVersion(rv, this.store.rv);
        items = this.store.sorted(info);
        listRv = this.store.rv;
      }
    }

    const [lo, hi] = namespaceRange(items, namespace);
    let i = start !== undefined ? lowerBound(items, start, lo, hi) : lo;
    const metadataOnly = representation === 'metadata';
    const page: string[] = [];
    while (i < hi && (limit === 0 || page.length < limit)) {
      const e = items[i++]!;
      if (select(e)) page.push(metadataOnly ? this.partialOf(e) : e.json);
    }
    const meta: Record<string, unknown> = { resourceVersion: String(listRv) };
    if (limit > 0 && i < hi) {
      snap ??= this.tokens.register(info, listRv, items);
      meta.continue = this.tokens.tokenAfter(snap, items[i - 1]!.key);
      // The real server can only count what is left when no selector filters it.
      if (!filtered) meta.remainingItemCount = hi - i;
    }
    const [listKind, listApiVersion] = metadataOnly
      ? ['PartialObjectMetadataList', META_API_VERSION]
      : [`${info.kind}List`, info.apiVersion];
    const head = `{"kind":"${listKind}","apiVersion":"${listApiVersion}","metadata":${JSON.stringify(meta)},"items":[`;
    ctx.record.representation = representation;
    this.sendJson(ctx, head, page, ']}', contentTypeOf(representation, 'list'));
  }

  private watch(ctx: Ctx, info: KindInfo, namespace: string | undefined): void {
    const q = ctx.query;
    const { select } = parseSelectors(q.labelSelector, q.fieldSelector);
    const rvParam = q.resourceVersion || undefined;
    const match = q.resourceVersionMatch || undefined;
    const bookmarks = isTrue(q.allowWatchBookmarks);
    const sendInitialEvents = q.sendInitialEvents === undefined ? undefined : isTrue(q.sendInitialEvents);
    if (sendInitialEvents !== undefined) {
      if (match !== 'NotOlderThan') {
        throw invalidListOptions(
          'resourceVersionMatch',
          'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        );
      }
      if (sendInitialEvents && !bookmarks) {
        throw invalidListOptions(
          'allowWatchBookmarks',
          'allowWatchBookmarks must be set to true when sendInitialEvents is set',
        );
      }
    } else if (match !== undefined) {
      throw invalidListOptions(
        'resourceVersionMatch',
        'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      );
    }
    let timeoutMs: number | undefined;
    if (q.timeoutSeconds !== undefined && q.timeoutSeconds !== '') {
      const t = Number(q.timeoutSeconds);
      if (!Number.isInteger(t) || t < 0) throw badRequest(`invalid timeoutSeconds "${q.timeoutSeconds}"`);
      if (t > 0) timeoutMs = t * 1000;
    }
    const rv = rvParam === undefined || rvParam === '0' ? undefined : parseResourceVersion(rvParam);

    const fault = ctx.fault;
    const stream = new WatchStream(ctx.res, {
      info,
      namespace,
      select,
      bookmarks,
      bookmarkIntervalMs: this.opts.bookmarkIntervalMs ?? 60_000,
      timeoutMs,
      dropAfter: fault?.type === 'drop' ? (fault.afterItems ?? 0) : undefined,
      malformed: fault?.type === 'malformed',
      currentRv: () => this.store.rv,
      onHead: (s) => (ctx.record.status = s),
    });
    this.watches.add(stream);
    stream.whenClosed(() => this.watches.delete(stream));
    stream.start();
    if (stream.closed) return;

    if (rv !== undefined && !sendInitialEvents) {
      // Resume after rv: replay the history, or tell the client it is too old (in the stream, as the real server).
      if (rv < this.store.oldestWatchableRv) {
        stream.error(tooOldResourceVersion(rv, this.store.oldestWatchableRv).status);
        return;
      }
      for (const e of this.store.eventsSince(rv)) stream.deliver(e);
    } else if (sendInitialEvents !== false) {
      // No resourceVersion (or "0", or sendInitialEvents): the current state first, as synthetic ADDED events.
      const items = this.store.sorted(info);
      const [lo, hi] = namespaceRange(items, namespace);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- added() closes the stream when a drop fault fires; TS keeps the early return's narrowing
      for (let i = lo; i < hi && !stream.closed; i++) stream.added(items[i]!);
      if (sendInitialEvents) stream.bookmark({ 'k8s.io/initial-events-end': 'true' });
    }
  }

  // ---- responses ------------------------------------------------------------------------------

  /**
   * Sends a JSON body, optionally as head + items + tail so that a drop fault can cut it after N items.
   * Drop: the socket is destroyed after part of the body. Malformed: an invalid JSON body with status 200.
   */
  private sendJson(ctx: Ctx, head: string, items?: string[], tail = '', contentType = 'application/json'): void {
    const { res, record, fault } = ctx;
    record.status = 200;
    res.writeHead(200, { 'Content-Type': contentType });
    if (fault?.type === 'malformed') {
      res.end(`${head.slice(0, Math.max(1, Math.floor(head.length / 2)))}<<garbage>>`);
      return;
    }
    if (fault?.type === 'drop') {
      let partial: string;
      if (items) {
        const n = Math.min(items.length, fault.afterItems ?? Math.floor(items.length / 2));
        partial = head + items.slice(0, n).join(',');
      } else {
        partial = head.slice(0, Math.floor(head.length / 2));
      }
      const socket = res.socket;
      res.write(partial, () => setImmediate(() => socket?.destroy()));
      return;
    }
    res.end(items ? head + items.join(',') + tail : head);
  }

  private sendStatus(res: ServerResponse, record: FakeKubeRequest, s: KubeStatus): void {
    record.status = s.code;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (s.details?.retryAfterSeconds !== undefined) headers['Retry-After'] = String(s.details.retryAfterSeconds);
    res.writeHead(s.code, headers);
    res.end(JSON.stringify(s));
  }

  private fail(res: ServerResponse, record: FakeKubeRequest, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const s =
      e instanceof KubeStatusError
        ? e.status
        : status(
            500,
            'InternalError',
            `Internal error occurred: ${(e as Partial<Error> | null | undefined)?.message ?? String(e)}`,
          );
    this.sendStatus(res, record, s);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}

function parse(e: Entry): KubeObject {
  return JSON.parse(e.json) as KubeObject;
}

function isTrue(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

function parseLimit(v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid limit "${v}"`);
  return Math.max(0, n);
}

function parseResourceVersion(v: string): number {
  if (!/^\d+$/.test(v)) throw badRequest(`invalid resource version "${v}"`);
  return Number(v);
}

export type { Fault, FaultMatch } from './fake-kube/faults.js';
export type { KubeObject, KubeObjectMeta } from './fake-kube/store.js';
export type { KubeStatus } from './fake-kube/status.js';
export type { Representation } from './fake-kube/representation.js';
export { KubeStatusError } from './fake-kube/status.js';
