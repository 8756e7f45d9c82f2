/**
 * The fake API server's object store: objects of the served kinds, one global resourceVersion counter
 * (as etcd's revision), and a bounded history of change events (as the API server's watch cache).
 *
 * Objects are kept as their serialized JSON: a stored object can never be changed behind the store's back,
 * lists are served by concatenating strings (fast for 100,000 objects), and readers get fresh copies.
 */
import { randomUUID } from 'node:crypto';
import { isRecord, show } from '../../common/values.js';
import type { KindInfo } from '../../kube/catalog.js';
import type { Selectable } from './selectors.js';
import { statusError } from './status.js';

export interface KubeObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** A Kubernetes object as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** One stored version of an object. Immutable. */
export interface Entry extends Selectable {
  readonly info: KindInfo;
  /** `namespace/name` for namespaced kinds, `name` otherwise; lists are sorted by it, as etcd keys are. */
  readonly key: string;
  readonly rv: number;
  readonly uid: string;
  readonly json: string;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly type: EventType;
  /** The new state; for DELETED the last state stamped with the deletion's resourceVersion. */
  readonly entry: Entry;
  /** The state before the change (MODIFIED, DELETED). */
  readonly prev?: Entry;
}

export type StoreListener = (e: StoreEvent) => void;

function resourceName(info: KindInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

let stampSecond = -1;
let stampText = '';
/** RFC 3339 with second precision, as Kubernetes writes creationTimestamp (formatted once per second: bulk loads). */
function nowTimestamp(): string {
  const sec = Math.floor(Date.now() / 1000);
  if (sec !== stampSecond) {
    stampSecond = sec;
    stampText = new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return stampText;
}

/** JSON.stringify, typed as it behaves: undefined for undefined, a function or a symbol (its declared type says string). */
function jsonText(v: unknown): string | undefined {
  return JSON.stringify(v);
}

/** JSON with object keys sorted, to compare two objects by content. */
function stable(v: unknown): string {
  if (v === null || typeof v !== 'object') return jsonText(v) ?? 'undefined';
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
    .join(',')}}`;
}

/** The parts of an object whose change bumps metadata.generation (everything but metadata and status). */
function specPart(o: Record<string, unknown>): string {
  const rest = { ...o };
  delete rest.metadata;
  delete rest.status;
  return stable(rest);
}

export class ObjectStore {
  private readonly kinds: readonly KindInfo[];
  private readonly kindIndex = new Map<string, KindInfo>();
  private readonly objects = new Map<string, Map<string, Entry>>();
  private readonly sortedCache = new Map<string, readonly Entry[]>();
  private readonly listeners = new Set<StoreListener>();
  private events: StoreEvent[] = [];
  private head = 0;
  private readonly historyLimit: number;
  private rvCounter = 1;
  /** Every event with rv > this is still in the history; a watch from an older resourceVersion gets 410. */
  private horizon = 1;

  constructor(kinds: readonly KindInfo[], historyLimit: number) {
    this.kinds = kinds;
    this.historyLimit = Math.max(0, historyLimit);
    for (const k of kinds) {
      this.objects.set(k.kind, new Map());
      if (!this.kindIndex.has(k.kind)) this.kindIndex.set(k.kind, k);
    }
    // Plurals are accepted too, after kind names.
    for (const k of kinds) if (!this.kindIndex.has(k.plural)) this.kindIndex.set(k.plural, k);
  }

  get rv(): number {
    return this.rvCounter;
  }

  /** The oldest resourceVersion a watch may start from. */
  get oldestWatchableRv(): number {
    return this.horizon;
  }

  get servedKinds(): readonly KindInfo[] {
    return this.kinds;
  }

  kindInfo(kindOrPlural: string): KindInfo | undefined {
    return this.kindIndex.get(kindOrPlural);
  }

  private requireKind(kind: unknown): KindInfo {
    const info = typeof kind === 'string' ? this.kindIndex.get(kind) : undefined;
    if (!info) {
      throw new Error(
        `FakeKubeApi: kind ${JSON.stringify(kind)} is not served (served kinds: ${this.kinds.map((k) => k.kind).join(', ')})`,
      );
    }
    return info;
  }

  subscribe(l: StoreListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  // ---- reads ----------------------------------------------------------------------------------

  get(kind: string, namespace: string, name: string): Entry | undefined {
    const info = this.kindIndex.get(kind);
    if (!info) return undefined;
    return this.objects.get(info.kind)!.get(info.namespaced ? `${namespace}/${name}` : name);
  }

  /** The kind's objects sorted by key; the array is never mutated, so it doubles as a list snapshot. */
  sorted(info: KindInfo): readonly Entry[] {
    let s = this.sortedCache.get(info.kind);
    if (!s) {
      s = [...this.objects.get(info.kind)!.values()].sort(byKey);
      this.sortedCache.set(info.kind, s);
    }
    return s;
  }

  count(info: KindInfo): number {
    return this.objects.get(info.kind)!.size;
  }

  /** Events after `rv` (all kinds), oldest first. Caller checks `rv >= oldestWatchableRv`. */
  eventsSince(rv: number): StoreEvent[] {
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.rv > rv) hi = mid;
      else lo = mid + 1;
    }
    return this.events.slice(lo);
  }

  /**
   * The kind's objects as they were at resourceVersion `rv`, rebuilt by undoing the history's later events.
   * 410 Expired when the history no longer reaches back that far.
   */
  stateAt(info: KindInfo, rv: number): readonly Entry[] {
    if (rv === this.rvCounter) return this.sorted(info);
    if (rv > this.rvCounter) throw tooLargeResourceVersion(rv, this.rvCounter);
    if (rv < this.horizon) throw tooOldResourceVersion(rv, this.horizon);
    const map = new Map(this.objects.get(info.kind));
    const later = this.eventsSince(rv);
    for (let i = later.length - 1; i >= 0; i--) {
      const e = later[i]!;
      if (e.entry.info.kind !== info.kind) continue;
      if (e.type === 'ADDED') map.delete(e.entry.key);
      else map.set(e.entry.key, e.prev!);
    }
    return [...map.values()].sort(byKey);
  }

  // ---- writes ---------------------------------------------------------------------------------

  create(input: unknown): Entry {
    const { info, meta, rest, namespace, name } = this.prepare(input);
    const map = this.objects.get(info.kind)!;
    const key = info.namespaced ? `${namespace}/${name}` : name;
    if (map.has(key)) {
      throw statusError(409, 'AlreadyExists', `${resourceName(info)} "${name}" already exists`, {
        name,
        group: info.group,
        kind: info.plural,
      });
    }
    const rv = ++this.rvCounter;
    const metadata: KubeObjectMeta = {
      ...meta,
      name,
      ...(info.namespaced ? { namespace } : {}),
      uid: randomUUID(),
      resourceVersion: String(rv),
      generation: 1,
      creationTimestamp: nowTimestamp(),
    };
    if (!info.namespaced) delete metadata.namespace;
    const entry = makeEntry(info, key, rv, metadata, rest);
    map.set(key, entry);
    this.record({ rv, type: 'ADDED', entry });
    return entry;
  }

  /** Replaces an existing object (PUT semantics). Unchanged content is a no-op: no new resourceVersion, no event. */
  update(input: unknown, checkResourceVersion = true): Entry {
    const { info, meta, rest, namespace, name } = this.prepare(input);
    const map = this.objects.get(info.kind)!;
    const key = info.namespaced ? `${namespace}/${name}` : name;
    const existing = map.get(key);
    if (!existing) {
      throw statusError(404, 'NotFound', `${resourceName(info)} "${name}" not found`, {
        name,
        group: info.group,
        kind: info.plural,
      });
    }
    if (checkResourceVersion && meta.resourceVersion !== undefined && meta.resourceVersion !== String(existing.rv)) {
      throw statusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resourceName(info)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: info.group, kind: info.plural },
      );
    }
    const old = JSON.parse(existing.json) as KubeObject;
    const metadata: KubeObjectMeta = {
      ...meta,
      name,
      ...(info.namespaced ? { namespace } : {}),
      uid: old.metadata.uid,
      resourceVersion: old.metadata.resourceVersion,
      generation: old.metadata.generation,
      creationTimestamp: old.metadata.creationTimestamp,
    };
    if (!info.namespaced) delete metadata.namespace;
    const candidate = { apiVersion: info.apiVersion, kind: info.kind, metadata, ...rest };
    if (stable(candidate) === stable(old)) return existing;
    const rv = ++this.rvCounter;
    metadata.resourceVersion = String(rv);
    if (specPart(candidate) !== specPart(old)) metadata.generation = (old.metadata.generation ?? 1) + 1;
    const entry = makeEntry(info, key, rv, metadata, rest);
    map.set(key, entry);
    this.record({ rv, type: 'MODIFIED', entry, prev: existing });
    return entry;
  }

  apply(input: unknown): Entry {
    const { info, namespace, name } = this.prepare(input);
    const exists = this.objects.get(info.kind)!.has(info.namespaced ? `${namespace}/${name}` : name);
    return exists ? this.update(input, false) : this.create(input);
  }

  delete(kind: string, namespace: string, name: string): boolean {
    const info = this.requireKind(kind);
    const map = this.objects.get(info.kind)!;
    const key = info.namespaced ? `${namespace}/${name}` : name;
    const existing = map.get(key);
    if (!existing) return false;
    map.delete(key);
    const rv = ++this.rvCounter;
    this.record({ rv, type: 'DELETED', entry: restamp(existing, rv), prev: existing });
    return true;
  }

  /** Forgets the whole history: a watch or exact list from any resourceVersion before now gets 410. */
  compact(): void {
    this.events = [];
    this.head = 0;
    this.horizon = this.rvCounter;
  }

  // ---- internals ------------------------------------------------------------------------------

  private prepare(input: unknown): {
    info: KindInfo;
    meta: Record<string, unknown> & { resourceVersion?: string };
    rest: Record<string, unknown>;
    namespace: string;
    name: string;
  } {
    if (!isRecord(input)) throw new TypeError('FakeKubeApi: an object must be a plain JSON object');
    const { apiVersion, kind, metadata, ...rest } = input;
    const info = this.requireKind(kind);
    if (apiVersion !== undefined && apiVersion !== info.apiVersion) {
      throw new Error(
        `FakeKubeApi: ${info.kind} is served as ${info.apiVersion}, not ${typeof apiVersion === 'string' ? apiVersion : show(apiVersion)}`,
      );
    }
    const meta = isRecord(metadata) ? { ...metadata } : {};
    const name = meta.name;
    if (typeof name !== 'string' || name === '' || name.includes('/')) {
      throw new Error(
        `FakeKubeApi: ${info.kind} needs metadata.name, a non-empty string without '/' (got ${JSON.stringify(name)})`,
      );
    }
    let namespace = '';
    if (info.namespaced) {
      const ns = meta.namespace ?? 'default';
      if (typeof ns !== 'string' || ns === '' || ns.includes('/')) {
        throw new Error(`FakeKubeApi: ${info.kind} ${name}: metadata.namespace must be a non-empty string without '/'`);
      }
      namespace = ns;
    }
    return { info, meta: meta, rest, namespace, name };
  }

  private record(e: StoreEvent): void {
    this.sortedCache.delete(e.entry.info.kind);
    if (this.historyLimit > 0) {
      this.events.push(e);
      if (this.events.length - this.head > this.historyLimit) {
        this.horizon = this.events[this.head]!.rv;
        this.head++;
        // Drop the forgotten prefix now and then, so trimming stays amortized O(1).
        if (this.head > 1024 && this.head > this.historyLimit) {
          this.events = this.events.slice(this.head);
          this.head = 0;
        }
      }
    } else {
      this.horizon = e.rv;
    }
    for (const l of this.listeners) l(e);
  }
}

function byKey(a: Entry, b: Entry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function makeEntry(
  info: KindInfo,
  key: string,
  rv: number,
  metadata: KubeObjectMeta,
  rest: Record<string, unknown>,
): Entry {
  const obj = { apiVersion: info.apiVersion, kind: info.kind, metadata, ...rest };
  const labels: Record<string, string> = {};
  // The caller's labels, unchecked: a number or boolean value is stored as its text.
  if (isRecord(metadata.labels))
    for (const [k, v] of Object.entries(metadata.labels as Record<string, unknown>)) labels[k] = String(v);
  // Entries never leave the fake (readers get parsed copies of `json`), so they are not frozen: bulk loads stay cheap.
  return {
    info,
    key,
    rv,
    uid: metadata.uid!,
    json: JSON.stringify(obj),
    labels,
    name: metadata.name,
    namespace: info.namespaced ? (metadata.namespace as string) : '',
  };
}

/** The same object content stamped with another resourceVersion (deleted objects, selector exits). */
export function restamp(e: Entry, rv: number): Entry {
  const obj = JSON.parse(e.json) as KubeObject;
  obj.metadata.resourceVersion = String(rv);
  return { ...e, rv, json: JSON.stringify(obj) };
}

export function tooOldResourceVersion(rv: number, oldest: number) {
  return statusError(410, 'Expired', `too old resource version: ${rv} (${oldest})`);
}

export function tooLargeResourceVersion(rv: number, current: number) {
  return statusError(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}
