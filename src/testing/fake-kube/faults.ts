/**
 * Injected faults: what a flaky API server or network does to a client. A fault applies to the requests its
 * `match` selects (no match: every request, discovery included), `times` times (default: until clearFaults()).
 * Delays add up with the fault that follows them; of the other faults, the first matching one wins.
 */

export interface FaultMatch {
  /** Kind name (e.g. 'VPC') of a list/get/watch request. */
  kind?: string;
  /** Resource plural (e.g. 'vpcs'). */
  plural?: string;
  /** true: only watch requests; false: only non-watch requests. */
  watch?: boolean;
  /** Tested against the URL path (without the query string). */
  path?: RegExp;
}

export type Fault =
  /** Reply with this HTTP status and a matching Status body (Retry-After header when retryAfterSeconds is set; 429 defaults to 1). */
  | {
      type: 'status';
      code: 429 | 500 | 503 | 504 | 401 | 403 | 404;
      retryAfterSeconds?: number;
      times?: number;
      match?: FaultMatch;
    }
  /** Destroy the socket: mid-list after writing `afterItems` items (default: half of them), mid-watch after `afterItems` events (default 0). */
  | { type: 'drop'; afterItems?: number; times?: number; match?: FaultMatch }
  /** Hold the reply back for `ms` milliseconds. */
  | { type: 'delay'; ms: number; times?: number; match?: FaultMatch }
  /** A garbage line at the start of a watch stream; an invalid JSON body (status 200) for anything else. */
  | { type: 'malformed'; times?: number; match?: FaultMatch }
  /**
   * Accept the request and never answer it (a wedged server or a half-open connection): no headers at all, or
   * with `afterHeaders` a 200 and the first bytes of a body that never ends. The socket stays open until the
   * client gives up or stop() closes it.
   */
  | { type: 'hang'; afterHeaders?: boolean; times?: number; match?: FaultMatch };

/** What a fault can be matched against. */
export interface RequestFacts {
  kind?: string;
  plural?: string;
  watch: boolean;
  path: string;
}

interface Armed {
  fault: Fault;
  left: number;
}

export class FaultBook {
  private armed: Armed[] = [];

  add(f: Fault): void {
    if (f.times !== undefined && (!Number.isInteger(f.times) || f.times < 1)) {
      throw new RangeError(`FakeKubeApi: fault.times must be a positive integer (got ${f.times})`);
    }
    this.armed.push({ fault: f, left: f.times ?? Infinity });
  }

  clear(): void {
    this.armed = [];
  }

  /** Consumes the faults that apply to one request: the total delay and at most one other fault. */
  take(req: RequestFacts): { delayMs: number; fault?: Exclude<Fault, { type: 'delay' }> } {
    let delayMs = 0;
    let fault: Exclude<Fault, { type: 'delay' }> | undefined;
    for (const a of this.armed) {
      if (a.left <= 0 || !matches(a.fault.match, req)) continue;
      if (a.fault.type === 'delay') {
        delayMs += a.fault.ms;
        a.left--;
      } else if (!fault) {
        fault = a.fault;
        a.left--;
      }
    }
    this.armed = this.armed.filter((a) => a.left > 0);
    return fault ? { delayMs, fault } : { delayMs };
  }
}

function matches(m: FaultMatch | undefined, req: RequestFacts): boolean {
  if (!m) return true;
  if (m.kind !== undefined && m.kind !== req.kind) return false;
  if (m.plural !== undefined && m.plural !== req.plural) return false;
  if (m.watch !== undefined && m.watch !== req.watch) return false;
  if (m.path !== undefined) {
    m.path.lastIndex = 0;
    if (!m.path.test(req.path)) return false;
  }
  return true;
}
