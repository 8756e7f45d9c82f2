/**
 * How an actual sync reads one kind: a metadata-only list first (uid and resourceVersion of every object), compared
 * with the ledger's index, then the full objects of just what changed — so a re-sync of an unchanged fabric reads
 * no spec at all. New and changed objects are fetched one GET each while that takes no more round trips than the
 * full list would (GET_CONCURRENCY in flight per page of the list); past that, the kind is listed in full.
 *
 * Every outcome stays honest: an object deleted between the list and its GET is absent (the writer sweeps it like
 * any deleted object); one whose GET fails (403, 5xx after retries, invalid) is refused — its row is kept and
 * marked, the run counts it failed — and the others land. A source without the metadata pair (an in-memory source)
 * and a server that ignores the metadata-only Accept header are read in full, as before.
 */
import type { KindInfo } from '../kube/catalog.js';
import type { KindListResult, KindMetadataListResult } from '../kube/cluster-reader.js';
import {
  keyOf,
  type ActualObservation,
  type ListedObject,
  type ObjectError,
  type ObjectStamp,
} from '../observations.js';
import type { ActualIndexEntry } from '../store/stored-resources.js';
import type { RunDetails } from './run-details.js';
import type { ActualSource } from './sources.js';

/** GETs in flight at once: a handful, as client-go's workers; a page of a list costs about as long as one round of them. */
export const GET_CONCURRENCY = 8;

/** How one kind was read, for the run's details and the tests. */
export interface KindReadStats {
  /** A metadata-only list was made. */
  metadataList: boolean;
  /** A full list was made: no metadata pair, nothing of the kind in the ledger yet, or too many objects changed. */
  fullList: boolean;
  /** Pages of the metadata-only list that the server answered with full objects (it ignored the Accept header). */
  fullPages: number;
  /** Objects read by GET. */
  gets: number;
  /** Objects found deleted by their GET (listed, then gone). */
  goneSinceListed: number;
}

export interface KindRead {
  kind: KindInfo;
  complete: boolean;
  failure?: string;
  namespaces: string[] | null;
  /** Objects refused (invalid, or unreadable by GET): never swept, their rows marked. */
  errors: ObjectError[];
  /**
   * The kind's complete list, with `unchanged`: full objects for what is new or changed (all of them after a full
   * list), stamps for the objects whose uid and resourceVersion the ledger holds already and whose drift is pending.
   */
  listed: ListedObject[];
  /**
   * The index entries of the rest of the list: objects whose uid and resourceVersion the ledger holds already, with
   * nothing to settle — matched here once, so the writer neither builds their keys again nor looks them up.
   */
  unchanged: ActualIndexEntry[];
  stats: KindReadStats;
}

/** The most objects fetched one by one before a full list is cheaper: as many GET rounds as the list has pages. */
export function oneByOneLimit(listedCount: number, pageSize: number): number {
  return GET_CONCURRENCY * Math.max(1, Math.ceil(listedCount / Math.max(1, pageSize)));
}

function fromFullList(list: KindListResult, stats: KindReadStats): KindRead {
  return {
    kind: list.kind,
    complete: list.complete,
    failure: list.failure,
    namespaces: list.namespaces,
    errors: list.errors,
    listed: list.observations,
    unchanged: [],
    stats: { ...stats, fullList: true },
  };
}

/** Metadata-only lists in flight at once across kinds (as listKinds): they are small, and a re-sync is mostly them. */
export const METADATA_LIST_CONCURRENCY = 4;

/**
 * The kind reads of one actual run. The metadata-only lists of every kind the ledger holds are started at once
 * (METADATA_LIST_CONCURRENCY at a time: stamps are small) so a re-sync waits for them in parallel; a kind the ledger
 * has never read is listed in full by the caller, started at most one kind ahead of its turn and holding no more than
 * `holdObjects` until then (FullListsAhead in src/sync/fabric-sync-service.ts: memory).
 * `stop()` starts no further list; the caller calls it when the run ends, however it ends.
 */
export class KindReads {
  /** The metadata-only lists not read yet: each is dropped at its kind's read, so a run holds no stamps it is done with. */
  private readonly metadata: Map<KindInfo, Promise<KindMetadataListResult>>;
  private readonly metadataKinds: ReadonlySet<KindInfo>;
  private readonly stopLists: () => void;

  constructor(
    private readonly source: ActualSource,
    kinds: readonly KindInfo[],
    private readonly indexOf: (kind: KindInfo) => ReadonlyMap<string, ActualIndexEntry>,
    /** The reader's page size (it prices a full list in requests). */
    private readonly pageSize: number,
    /**
     * 'full' for a fabric never read (a first sync: every object is new, a metadata list would only add a request);
     * 'metadata-first' otherwise. Started before the index is loaded, so decided by the caller; only the cost
     * depends on it — a kind the ledger turns out not to hold is fetched in full all the same.
     */
    mode: 'metadata-first' | 'full',
  ) {
    const listMetadata = source.listKindMetadata?.bind(source);
    const eligible = mode === 'metadata-first' && listMetadata && source.getObject ? kinds : [];
    const started = startLimited(eligible, METADATA_LIST_CONCURRENCY, (k) => listMetadata!(k));
    this.metadata = started.results;
    this.metadataKinds = new Set(eligible);
    this.stopLists = started.stop;
  }

  /**
   * Read `kind` by its metadata-only list and the GETs of what changed; or say that it must be listed in full (no
   * metadata-only list for it, or too many changed), which the caller does — page by page or with listInFull.
   */
  async read(kind: KindInfo): Promise<KindRead | FullListNeeded> {
    const pending = this.metadata.get(kind);
    if (!pending) return { fullListNeeded: true, stats: { ...NO_METADATA, fullList: true } };
    this.metadata.delete(kind);
    const meta = await pending;
    const stats: KindReadStats = { ...NO_METADATA, metadataList: true, fullList: false, fullPages: meta.fullPages };
    if (!meta.complete) return { ...readOf(meta, []), stats };
    const index = this.indexOf(kind);
    const unchanged: ActualIndexEntry[] = [];
    const unchangedPending: ObjectStamp[] = []; // unchanged, but a complete read settles their drift: the writer needs them
    const toFetch: ObjectStamp[] = [];
    // Each object once, should the server repeat an item: known objects by their index entry, new ones by key.
    const seenEntries = new Set<ActualIndexEntry>();
    const seenNewKeys = new Set<string>();
    let listedCount = meta.observations.length;
    for (const st of meta.stamps) {
      const key = keyOf(st);
      const e = index.get(key);
      if (e ? seenEntries.has(e) : seenNewKeys.has(key)) continue;
      if (e) seenEntries.add(e);
      else seenNewKeys.add(key);
      listedCount++;
      if (!e || e.uid !== st.uid || e.resourceVersion !== st.resourceVersion) toFetch.push(st);
      else if (e.pending) unchangedPending.push(st);
      else unchanged.push(e);
    }
    if (toFetch.length > oneByOneLimit(listedCount, this.pageSize)) {
      // Many changed (a mass update): one full list is cheaper than their GETs.
      return { fullListNeeded: true, stats: { ...stats, fullList: true } };
    }
    const fetched: ActualObservation[] = [];
    const refused: ObjectError[] = [];
    const getObject = this.source.getObject!.bind(this.source);
    await forEachConcurrently(toFetch, GET_CONCURRENCY, async (st) => {
      const r = await getObject(kind, st.namespace, st.name);
      stats.gets++;
      if (r.outcome === 'read') fetched.push(r.observation);
      else if (r.outcome === 'gone') stats.goneSinceListed++;
      else refused.push(r.error);
    });
    const read = readOf(meta, [...meta.observations, ...unchangedPending, ...fetched], unchanged);
    read.errors.push(...refused);
    return { ...read, stats };
  }

  /** Whether `kind` is listed in full, known before its read: no metadata-only list of it was started. */
  listsInFull(kind: KindInfo): boolean {
    return !this.metadataKinds.has(kind);
  }

  /** `kind` listed in full and held whole (a source that cannot give its list page by page). */
  async listInFull(kind: KindInfo, stats: KindReadStats): Promise<KindRead> {
    return fromFullList(await this.source.listKind(kind), stats);
  }

  stop(): void {
    this.stopLists();
  }
}

const NO_METADATA: Omit<KindReadStats, 'fullList'> = {
  metadataList: false,
  fullPages: 0,
  gets: 0,
  goneSinceListed: 0,
};

/** A kind the caller lists in full: `stats` says how it was read so far (a metadata-only list, maybe). */
export interface FullListNeeded {
  fullListNeeded: true;
  stats: KindReadStats;
}

function readOf(
  meta: KindMetadataListResult,
  listed: ListedObject[],
  unchanged: ActualIndexEntry[] = [],
): Omit<KindRead, 'stats'> {
  return {
    kind: meta.kind,
    complete: meta.complete,
    failure: meta.failure,
    namespaces: meta.namespaces,
    errors: [...meta.errors],
    listed,
    unchanged,
  };
}

/**
 * `work` on every item, at most `limit` at a time. The first rejection (a 401, an abort) starts no further item and
 * rejects once the running ones have settled, so nothing is left running behind the caller.
 */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/** Adds how one kind was read to the run's `details.reads`. */
export function noteKindRead(rec: { details: RunDetails }, stats: KindReadStats): void {
  const reads = (rec.details.reads ??= { metadataLists: 0, fullLists: 0, fullPages: 0, gets: 0, goneSinceListed: 0 });
  if (stats.metadataList) reads.metadataLists++;
  if (stats.fullList) reads.fullLists++;
  reads.fullPages += stats.fullPages;
  reads.gets += stats.gets;
  reads.goneSinceListed += stats.goneSinceListed;
}

/**
 * `start(key)` for every key, at most `limit` running at a time, each result a promise of its own. After a rejection
 * (a 401, an abort) or stop(), no further key starts: those not started reject with the same reason (or "stopped").
 * Every promise is marked handled — a run that ends early never awaits the rest.
 */
function startLimited<K, V>(
  keys: readonly K[],
  limit: number,
  start: (key: K) => Promise<V>,
): { results: Map<K, Promise<V>>; stop: () => void } {
  const settle = new Map<K, { resolve: (v: V) => void; reject: (e: unknown) => void }>();
  const results = new Map<K, Promise<V>>();
  for (const k of keys) {
    const p = new Promise<V>((resolve, reject) => settle.set(k, { resolve, reject }));
    p.catch(() => undefined);
    results.set(k, p);
  }
  let next = 0;
  let halted: { reason: unknown } | undefined;
  const haltRest = (reason: unknown) => {
    halted ??= { reason };
    while (next < keys.length) settle.get(keys[next++]!)!.reject(halted.reason);
  };
  const worker = async () => {
    while (!halted && next < keys.length) {
      const k = keys[next++]!;
      try {
        settle.get(k)!.resolve(await start(k));
      } catch (err) {
        settle.get(k)!.reject(err);
        haltRest(err);
      } finally {
        settle.delete(k); // settled: only the caller's promise holds the result now
      }
    }
  };
  for (let i = 0; i < Math.min(limit, keys.length); i++) void worker();
  return { results, stop: () => haltRest(new Error('kind reads stopped: the run ended')) };
}
