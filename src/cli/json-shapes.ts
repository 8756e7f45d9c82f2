/**
 * The JSON the CLI prints. Scripts depend on these shapes (issue 5, docs/cli.md): every key is always
 * present (null when it has no value), and nothing else is added, so a consumer can validate strictly.
 */
import type { HedgehogFabric } from '../entities/index.js';
import type { FabricRecord } from '../store/fabric-rows.js';
import { stripUrlCredentials } from '../gitops/git-url.js';
import { redactUrlCredentials } from '../kube/redact.js';
import type { DriftReport } from '../sync/drift-report.js';
import type { PrintableDriftReport } from './drift-table.js';
import type { RunDetails } from '../sync/run-details.js';
import type { RunCounts, RunStatus, RunType, SyncRunReport } from '../sync/run-recorder.js';
import type { DriftSeverity, DriftStatus } from '../drift/types.js';
import type { Draft, DraftCallResult, DraftConflictDetails } from '../drafts/drafts.js';
import { refusedEntry, type RefusedEntry } from '../observations.js';
import type { PublishReport } from '../writeback/publish.js';
import type { DiffOp, DraftDiff } from './draft-diff.js';

/** `hh-sync sync --json`: one per run — the whole SyncRunReport, so a failed run's reason is on stdout too. */
export interface RunJson {
  id: number;
  fabric: string;
  type: RunType;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  counts: RunCounts;
  /** Documents of kinds outside the fabric catalog, "apiVersion/Kind" → count ({} on the actual side). */
  otherKinds: Record<string, number>;
  /** Desired runs: where the CRD schemas Git documents were checked against came from; null on the actual side. */
  schemaSource: string | null;
  errors: {
    kind: string | null;
    namespace: string | null;
    name: string | null;
    file: string | null;
    line: number | null;
    reason: string;
  }[];
  /** Why the run failed or was partial (null when it completed). */
  errorMessage: string | null;
  /** Git commit read (desired runs), else null. */
  commit: string | null;
  skippedKinds: { kind: string; reason: string }[];
  /** Timings per phase, failure source, conflicts, … (see docs/cli.md). */
  details: RunDetails;
}

export function runJson(r: SyncRunReport): RunJson {
  return {
    id: r.id,
    fabric: r.fabric,
    type: r.type,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    counts: {
      listed: r.counts.listed,
      created: r.counts.created,
      updated: r.counts.updated,
      unchanged: r.counts.unchanged,
      cleared: r.counts.cleared,
      failed: r.counts.failed,
    },
    otherKinds: { ...r.otherKinds },
    schemaSource: typeof r.details.schemaSource === 'string' ? r.details.schemaSource : null,
    errors: r.errors.map((e) => ({
      kind: e.kind ?? null,
      namespace: e.namespace ?? null,
      name: e.name ?? null,
      file: e.file ?? null,
      line: e.line ?? null,
      reason: e.reason,
    })),
    errorMessage: r.errorMessage ?? null,
    commit: r.commit ?? null,
    skippedKinds: r.skippedKinds.map((k) => ({ kind: k.kind, reason: k.reason })),
    details: structuredClone(r.details),
  };
}

/** `hh-sync drift --json`. `desired`/`actual` are null where that side has no value (add / remove). */
export interface DriftJson {
  fabric: string;
  /** total, byStatus (every drift status), bySeverity (every severity), unchecked (drift never computed). */
  summary: DriftReport['summary'];
  resources: {
    kind: string;
    namespace: string;
    name: string;
    driftStatus: DriftStatus;
    driftScore: number;
    driftSeverity: DriftSeverity;
    differences: { op: 'add' | 'remove' | 'replace'; path: string; desired: unknown; actual: unknown }[];
  }[];
  /** Objects whose current version in the cluster could not be read: their rows (and drift) are stale. */
  unreadable: { kind: string; namespace: string; name: string; reason: string }[];
}

export function driftJson(report: PrintableDriftReport): DriftJson {
  return {
    fabric: report.fabric,
    summary: {
      ...report.summary,
      byStatus: { ...report.summary.byStatus },
      bySeverity: { ...report.summary.bySeverity },
    },
    resources: report.resources.map((r) => ({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      driftStatus: r.driftStatus,
      driftScore: r.driftScore,
      driftSeverity: r.driftSeverity,
      differences: r.differences.map((d) => ({
        op: d.op,
        path: d.path,
        desired: d.desired ?? null,
        actual: d.actual ?? null,
      })),
    })),
    unreadable: (report.unreadable ?? []).map((u) => ({ ...u })),
  };
}

/** `hh-sync fabric list|add|set --json`: a fabric's settings and last-sync summary (never a credential). */
export interface FabricJson {
  name: string;
  description: string;
  status: string;
  kubeconfigPath: string | null;
  kubeContext: string | null;
  inCluster: boolean;
  apiServerUrl: string | null;
  namespaces: string[];
  gitRepository: string | null;
  gitRef: string | null;
  gitPath: string;
  crdDirectory: string | null;
  ignoreRules: { kind?: string; name?: string; pointer: string }[];
  syncEnabled: boolean;
  syncIntervalSeconds: number;
  /** git_to_ledger | ledger_to_git | bidirectional: whether drafts may be made and published. */
  syncDirection: string;
  /** Where publish writes an object Git does not declare yet (relative to gitPath). */
  managedFileTemplate: string;
  connectionStatus: string;
  syncStatus: string;
  lastSync: string | null;
  lastActualSync: string | null;
  lastDesiredSync: string | null;
  lastSyncError: string | null;
  desiredCommit: string | null;
  driftedCount: number;
  inSyncCount: number;
  driftSummary: HedgehogFabric['driftSummary'];
  kindCounts: HedgehogFabric['kindCounts'];
}

const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

export function fabricJson(f: FabricRecord): FabricJson {
  return {
    name: f.name,
    description: f.description,
    status: f.status,
    kubeconfigPath: f.kubeconfigPath,
    kubeContext: f.kubeContext,
    inCluster: f.inCluster,
    apiServerUrl: f.apiServerUrl && redactUrlCredentials(f.apiServerUrl), // stored before credentials were removed
    namespaces: [...f.namespaces],
    gitRepository: f.gitRepository && stripUrlCredentials(f.gitRepository).url, // a URL stored before credentials were removed
    gitRef: f.gitRef,
    gitPath: f.gitPath,
    crdDirectory: f.crdDirectory,
    ignoreRules: f.ignoreRules.map((r) => ({ ...r })),
    syncEnabled: f.syncEnabled,
    syncIntervalSeconds: f.syncIntervalSeconds,
    syncDirection: f.syncDirection,
    managedFileTemplate: f.managedFileTemplate,
    connectionStatus: f.connectionStatus,
    syncStatus: f.syncStatus,
    lastSync: iso(f.lastSync),
    lastActualSync: iso(f.lastActualSync),
    lastDesiredSync: iso(f.lastDesiredSync),
    lastSyncError: f.lastSyncError,
    desiredCommit: f.desiredCommit,
    driftedCount: f.driftedCount,
    inSyncCount: f.inSyncCount,
    driftSummary: structuredClone(f.driftSummary),
    kindCounts: structuredClone(f.kindCounts),
  };
}

/** `hh-sync draft apply|delete|discard --json`: what happened to each object, and what was refused. */
export interface DraftCallJson {
  fabric: string;
  results: {
    kind: string;
    namespace: string;
    name: string;
    outcome: 'created' | 'updated' | 'unchanged' | 'discarded';
    operation: 'apply' | 'delete' | null;
  }[];
  refused: RefusedEntry[];
}

export function draftCallJson(r: DraftCallResult): DraftCallJson {
  return {
    fabric: r.fabric,
    results: r.results.map((x) => ({
      kind: x.kind,
      namespace: x.namespace,
      name: x.name,
      outcome: x.outcome,
      operation: x.operation ?? null,
    })),
    refused: r.refused.map(refusedEntry),
  };
}

/** One draft in `hh-sync drafts --json`: the ledger's Draft, dates as ISO text. */
export interface DraftJson {
  kind: string;
  namespace: string;
  name: string;
  apiVersion: string;
  operation: 'apply' | 'delete';
  spec: Record<string, unknown> | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  updated: string | null;
  updatedBy: string | null;
  base: { spec: Record<string, unknown> | null; commit: string | null; fileHash: string | null };
  desiredSpec: Record<string, unknown> | null;
  actualSpec: Record<string, unknown> | null;
  desiredFilePath: string | null;
  state: string;
  syncDirection: string;
  effectiveSyncDirection: string;
  conflictStatus: string;
  conflict: DraftConflictDetails | null;
  externalModifications: Record<string, unknown>[];
}

export function draftJson(d: Draft): DraftJson {
  return {
    kind: d.kind,
    namespace: d.namespace,
    name: d.name,
    apiVersion: d.apiVersion,
    operation: d.operation,
    spec: structuredClone(d.spec),
    labels: { ...d.labels },
    annotations: { ...d.annotations },
    updated: iso(d.updated),
    updatedBy: d.updatedBy,
    base: { spec: structuredClone(d.base.spec), commit: d.base.commit, fileHash: d.base.fileHash },
    desiredSpec: structuredClone(d.desiredSpec),
    actualSpec: structuredClone(d.actualSpec),
    desiredFilePath: d.desiredFilePath,
    state: d.state,
    syncDirection: d.syncDirection,
    effectiveSyncDirection: d.effectiveSyncDirection,
    conflictStatus: d.conflictStatus,
    conflict: d.conflict && structuredClone(d.conflict),
    externalModifications: structuredClone(d.externalModifications),
  };
}

/** `hh-sync drafts --json`: the fabric's drafts, and how many of them conflict with Git. */
export interface DraftListJson {
  fabric: string;
  drafts: DraftJson[];
  conflicts: number;
}

export function draftListJson(fabric: string, drafts: Draft[]): DraftListJson {
  return {
    fabric,
    drafts: drafts.map(draftJson),
    conflicts: drafts.filter((d) => d.conflictStatus === 'detected').length,
  };
}

/** `hh-sync draft diff --json`. `null` stands for "that side has nothing there" (the whole object for path ""). */
export interface DraftDiffJson {
  fabric: string;
  objects: {
    kind: string;
    namespace: string;
    name: string;
    operation: 'apply' | 'delete';
    conflictStatus: string;
    /** Operations turning Git's spec into the draft's (what publish changes in Git). */
    draftVsGit: { op: DiffOp; path: string; git: unknown; draft: unknown }[];
    /** Operations turning the cluster's spec into Git's (as `drift --json`). */
    gitVsCluster: { op: DiffOp; path: string; cluster: unknown; git: unknown }[];
    conflict: DraftConflictDetails | null;
  }[];
  /** Objects named on the command line that hold no draft. */
  missing: { kind: string; namespace: string; name: string }[];
}

export function draftDiffJson(
  fabric: string,
  diffs: DraftDiff[],
  missing: readonly { kind: string; namespace: string; name: string }[] = [],
): DraftDiffJson {
  return {
    fabric,
    missing: missing.map((m) => ({ kind: m.kind, namespace: m.namespace, name: m.name })),
    objects: diffs.map(({ draft, draftVsGit, gitVsCluster }) => ({
      kind: draft.kind,
      namespace: draft.namespace,
      name: draft.name,
      operation: draft.operation,
      conflictStatus: draft.conflictStatus,
      draftVsGit: draftVsGit.map((d) => ({ op: d.op, path: d.path, git: d.before ?? null, draft: d.after ?? null })),
      gitVsCluster: gitVsCluster.map((d) => ({
        op: d.op,
        path: d.path,
        cluster: d.before ?? null,
        git: d.after ?? null,
      })),
      conflict: draft.conflict && structuredClone(draft.conflict),
    })),
  };
}

/**
 * `hh-sync publish --json`: the publish report without its run (`runId` names it). A conflict's `base`, `ours`
 * or `theirs` is absent when that side has no value at the path (null would be a value).
 */
export interface PublishJson {
  fabric: string;
  runId: number | null;
  status: PublishReport['status'];
  commit: string | null;
  branch: string;
  pushed: boolean;
  attempts: number;
  published: {
    kind: string;
    namespace: string;
    name: string;
    operation: 'apply' | 'delete';
    file: string | null;
    outcome: string;
  }[];
  leftOut: {
    kind: string;
    namespace: string;
    name: string;
    reason: string;
    conflicts: PublishReport['leftOut'][number]['conflicts'] & unknown[];
  }[];
  files: string[];
  error: string | null;
  durationMs: number;
}

export function publishJson(r: PublishReport): PublishJson {
  return {
    fabric: r.fabric,
    runId: r.runId,
    status: r.status,
    commit: r.commit,
    branch: r.branch,
    pushed: r.pushed,
    attempts: r.attempts,
    published: r.published.map((p) => ({
      kind: p.kind,
      namespace: p.namespace,
      name: p.name,
      operation: p.operation,
      file: p.file ?? null,
      outcome: p.outcome,
    })),
    leftOut: r.leftOut.map((l) => ({
      kind: l.kind,
      namespace: l.namespace,
      name: l.name,
      reason: l.reason,
      conflicts: structuredClone(l.conflicts ?? []),
    })),
    files: [...r.files],
    error: r.error ?? null,
    durationMs: r.durationMs,
  };
}
