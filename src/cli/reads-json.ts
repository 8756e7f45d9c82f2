/**
 * The JSON (and YAML: the same documents) of `runs`, `history`, `get`, `fabric show` and `fabric remove`. As in
 * json-shapes.ts: every key always present (null when it has no value), nothing else added; docs/cli.md lists them.
 */
import type { DriftOp } from '../drift/types.js';
import type { RemovedFabricRows } from '../fabrics/fabric-registry.js';
import type {
  FabricOverview,
  LedgerObject,
  ObjectHistory,
  RunProgress,
  RunRecord,
  WatchLeaseState,
} from '../reads/ledger-reads.js';
import type { DriftReport } from '../sync/drift-report.js';
import type { RunCounts } from '../sync/run-recorder.js';
import { fabricJson, type FabricJson } from './json-shapes.js';
import { refusedEntry, type RefusedEntry } from '../observations.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** One element of `runs --json`, and of `fabric show --json`'s lastRuns. */
export interface RunRecordJson {
  id: number;
  type: string;
  /** As recorded: pending, in_progress, completed, partial, failed. */
  status: string;
  /** For a run in_progress: running, abandoned (its process is gone) or unknown; null once finished. */
  progress: RunProgress | null;
  startedAt: string;
  finishedAt: string | null;
  /** Finished: its duration; running or unknown: the time elapsed so far; abandoned: null (it has none). */
  durationMs: number | null;
  counts: RunCounts;
  commit: string | null;
  errorMessage: string | null;
  errors: RefusedEntry[];
}

export function runRecordJson(r: RunRecord): RunRecordJson {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    progress: r.progress,
    startedAt: r.startedAt.toISOString(),
    finishedAt: iso(r.finishedAt),
    durationMs: r.durationMs,
    counts: { ...r.counts },
    commit: r.commit,
    errorMessage: r.errorMessage,
    errors: r.errors.map(refusedEntry),
  };
}

/** `runs --json`. */
export interface RunsJson {
  fabric: string;
  runs: RunRecordJson[];
}

/** `history --json`. */
export interface HistoryJson {
  fabric: string;
  kind: string;
  namespace: string;
  name: string;
  /** The ledger holds the object now (false: deleted). */
  present: boolean;
  transitions: {
    at: string;
    /** null: the row was created in `to`. */
    from: string | null;
    /** A resource state, or `deleted` (the row left the ledger). */
    to: string;
    trigger: string;
    reason: string;
    runId: number | null;
    runType: string | null;
    commit: string | null;
    /** An object deleted and recreated in the cluster between two reads: both uids; else {}. */
    context: { oldUid?: string; newUid?: string };
  }[];
}

export function historyJson(fabric: string, h: ObjectHistory): HistoryJson {
  return {
    fabric,
    kind: h.kind,
    namespace: h.namespace,
    name: h.name,
    present: h.present,
    transitions: h.entries.map((e) => ({
      at: e.at.toISOString(),
      from: e.from,
      to: e.to,
      trigger: e.trigger,
      reason: e.reason,
      runId: e.runId,
      runType: e.runType,
      commit: e.commit,
      context: { ...e.context },
    })),
  };
}

const difference = (d: DriftOp) => ({ op: d.op, path: d.path, desired: d.desired ?? null, actual: d.actual ?? null });

/** One object of `get -o json|yaml`. */
export interface ObjectJson {
  kind: string;
  namespace: string;
  name: string;
  apiVersion: string | null;
  state: string;
  desired: {
    commit: string | null;
    file: string | null;
    line: number | null;
    updatedAt: string | null;
    spec: Record<string, unknown> | null;
  };
  actual: {
    resourceVersion: string | null;
    uid: string | null;
    updatedAt: string | null;
    spec: Record<string, unknown> | null;
    status: Record<string, unknown> | null;
  };
  drift: {
    status: string | null;
    severity: string;
    score: number;
    checkedAt: string | null;
    differences: { op: string; path: string; desired: unknown; actual: unknown }[];
    extras: { op: string; path: string; desired: unknown; actual: unknown }[];
  };
  draft: string | null;
  lastSyncError: string | null;
  firstSeen: string | null;
  lastUpdated: string;
}

export function objectJson(o: LedgerObject): ObjectJson {
  return {
    kind: o.kind,
    namespace: o.namespace,
    name: o.name,
    apiVersion: o.apiVersion,
    state: o.state,
    desired: {
      commit: o.desired.commit,
      file: o.desired.file,
      line: o.desired.line,
      updatedAt: iso(o.desired.updatedAt),
      spec: o.desired.spec,
    },
    actual: {
      resourceVersion: o.actual.resourceVersion,
      uid: o.actual.uid,
      updatedAt: iso(o.actual.updatedAt),
      spec: o.actual.spec,
      status: o.actual.status,
    },
    drift: {
      status: o.drift.status,
      severity: o.drift.severity,
      score: o.drift.score,
      checkedAt: iso(o.drift.checkedAt),
      differences: o.drift.differences.map(difference),
      extras: o.drift.extras.map(difference),
    },
    draft: o.draft,
    lastSyncError: o.lastSyncError,
    firstSeen: iso(o.firstSeen),
    lastUpdated: o.lastUpdated.toISOString(),
  };
}

/** `get -o json|yaml` without a single object named. */
export interface ObjectListJson {
  fabric: string;
  items: ObjectJson[];
}

/** `fabric show --json`'s lease. */
export type LeaseJson =
  | {
      state: 'none' | 'unknown';
      reason: string | null;
      group: null;
      pid: null;
      host: null;
      since: null;
      renewedAt: null;
      expiresAt: null;
    }
  | {
      state: 'held' | 'expired';
      reason: null;
      group: string;
      pid: number;
      host: string;
      since: string | null;
      renewedAt: string | null;
      expiresAt: string | null;
    };

export function leaseJson(l: WatchLeaseState): LeaseJson {
  if (l.state === 'none' || l.state === 'unknown') {
    return {
      state: l.state,
      reason: l.state === 'unknown' ? l.reason : null,
      group: null,
      pid: null,
      host: null,
      since: null,
      renewedAt: null,
      expiresAt: null,
    };
  }
  return {
    state: l.state,
    reason: null,
    group: l.group,
    pid: l.pid,
    host: l.host,
    since: iso(l.since),
    renewedAt: iso(l.renewedAt),
    expiresAt: iso(l.expiresAt),
  };
}

/** `fabric show --json`. */
export interface FabricShowJson {
  fabric: FabricJson;
  drift: DriftReport['summary'];
  lease: LeaseJson;
  rows: RemovedFabricRows;
  lastRuns: RunRecordJson[];
}

export function fabricShowJson(o: FabricOverview): FabricShowJson {
  return {
    fabric: fabricJson(o.fabric),
    drift: { ...o.drift, byStatus: { ...o.drift.byStatus }, bySeverity: { ...o.drift.bySeverity } },
    lease: leaseJson(o.lease),
    rows: { ...o.rows },
    lastRuns: o.lastRuns.map(runRecordJson),
  };
}

/** `fabric remove --json`: `removed` false when the prompt was declined (rows: what would have been removed). */
export interface FabricRemoveJson {
  fabric: string;
  removed: boolean;
  rows: RemovedFabricRows;
}
