/**
 * Paged lists (`limit` + `continue`). As on the real server, every page of one list comes from the snapshot
 * taken at the first page's resourceVersion, whatever changes meanwhile; the continue token is base64url JSON
 * `{"v":"meta.k8s.io/v1","rv":…,"start":"<next key>"}` (plus the fake's snapshot id `s`).
 * A token whose snapshot is gone (too old, or expired on purpose) is a 410 Expired Status that carries an
 * "inconsistent" continue token (rv -1): following it continues the list from the latest state.
 */
import type { KindInfo } from '../../kube/catalog.js';
import type { Entry } from './store.js';
import { badRequest, statusError } from './status.js';

export interface Snapshot {
  readonly id: number;
  readonly info: KindInfo;
  readonly rv: number;
  /** Sorted by key; never mutated. */
  readonly items: readonly Entry[];
  readonly createdAt: number;
}

interface TokenBody {
  v: string;
  rv: number;
  start: string;
  s?: number;
}

export type ResolvedContinue =
  | { snapshot: Snapshot; start: string }
  /** An inconsistent token: continue from `start` in the latest state. */
  | { snapshot: undefined; start: string };

const INCONSISTENT_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list ' +
  'without the continue parameter, or use the continue token in this response to retrieve the remainder of the ' +
  'results. Continuing with the provided token results in an inconsistent list - objects that were created, ' +
  'modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function isTokenBody(v: unknown): v is TokenBody {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Partial<TokenBody>;
  return b.v === 'meta.k8s.io/v1' && typeof b.rv === 'number' && typeof b.start === 'string';
}

function encode(body: TokenBody): string {
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export class ContinueTokens {
  private readonly snapshots = new Map<number, Snapshot>();
  private nextId = 1;

  constructor(private readonly ttlMs: number) {}

  /** Keeps `items` as the snapshot later pages are served from. */
  register(info: KindInfo, rv: number, items: readonly Entry[]): Snapshot {
    this.sweep();
    const snap: Snapshot = { id: this.nextId++, info, rv, items, createdAt: Date.now() };
    this.snapshots.set(snap.id, snap);
    return snap;
  }

  /** The token for the page after `lastKey` of `snap`. */
  tokenAfter(snap: Snapshot, lastKey: string): string {
    return encode({ v: 'meta.k8s.io/v1', rv: snap.rv, start: `${lastKey}\u0000`, s: snap.id });
  }

  resolve(token: string, info: KindInfo): ResolvedContinue {
    // A client's token: any JSON at all until checked.
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch (e) {
      throw badRequest(`invalid continue token: ${(e as Error).message}`);
    }
    if (!isTokenBody(body) || body.rv === 0) {
      throw badRequest(
        'invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
      );
    }
    if (body.rv === -1) return { snapshot: undefined, start: body.start };
    const snap = body.s !== undefined ? this.snapshots.get(body.s) : undefined;
    if (snap && snap.info.kind !== info.kind) {
      throw badRequest(`invalid continue token: it was issued for ${snap.info.plural}, not ${info.plural}`);
    }
    if (!snap || Date.now() - snap.createdAt > this.ttlMs) {
      if (snap) this.snapshots.delete(snap.id);
      const inconsistent = encode({ v: 'meta.k8s.io/v1', rv: -1, start: body.start });
      throw statusError(410, 'Expired', INCONSISTENT_CONTINUE, undefined, { continue: inconsistent });
    }
    return { snapshot: snap, start: body.start };
  }

  /** Every token issued so far becomes 410 Expired. */
  expireAll(): void {
    this.snapshots.clear();
  }

  /** Tokens of lists older than `rv` become 410 Expired (what etcd compaction does to them). */
  expireOlderThan(rv: number): void {
    for (const [id, s] of this.snapshots) if (s.rv < rv) this.snapshots.delete(id);
  }

  get size(): number {
    return this.snapshots.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.snapshots) if (now - s.createdAt > this.ttlMs) this.snapshots.delete(id);
  }
}

/** Index of the first entry whose key is >= `key`, within [lo, hi). */
export function lowerBound(items: readonly Entry[], key: string, lo = 0, hi = items.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The [lo, hi) range of a namespace's entries in a sorted list (keys are `namespace/name`). */
export function namespaceRange(items: readonly Entry[], namespace: string | undefined): [number, number] {
  if (namespace === undefined) return [0, items.length];
  // '0' is the character right after '/', so every `${namespace}/…` key sorts in between.
  return [lowerBound(items, `${namespace}/`), lowerBound(items, `${namespace}0`)];
}
