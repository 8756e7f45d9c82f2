/**
 * What the watch does with every finished run (a desired sync, a watch window): count it in the metrics and log one
 * line — `info` when completed, `warn` when partial (with how many problems) or failed (with its error) — so a log
 * collector alone tells how each run ended.
 */
import type { Logger } from '../sync/logger.js';
import type { SyncRunReport } from '../sync/run-recorder.js';
import type { WatchMetrics } from './metrics.js';

/** The problems of a run, by what they are about; `total` is what a `partial` line reports. */
export interface RunProblems {
  total: number;
  /** Objects refused or failed (kept in the record, and those counted but not kept). */
  objects: number;
  /** Kinds that could not be discovered or listed. */
  kinds: number;
  /** Database outages during a watch window. */
  outages: number;
  /** Objects kept as they were because their file could not be read (desired runs). */
  unreadFiles: number;
}

export function problemsOf(report: SyncRunReport): RunProblems {
  const d = report.details;
  const objects = Math.max(report.errors.length + (d.errorsNotKept ?? 0), report.counts.failed);
  const kinds = (d.failedKinds?.length ?? 0) + report.skippedKinds.length;
  const outages = d.outages?.length ?? 0;
  const unreadFiles = d.keptFromBrokenFiles?.length ?? 0;
  return { total: objects + kinds + outages + unreadFiles, objects, kinds, outages, unreadFiles };
}

function durationMs(report: SyncRunReport): number | undefined {
  if (!report.finishedAt) return undefined;
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Metrics and one log line for a finished run. */
export function recordRunOutcome(report: SyncRunReport, metrics: WatchMetrics | undefined, log: Logger): void {
  const labels = { fabric: report.fabric, type: report.type };
  const ms = durationMs(report);
  if (metrics) {
    metrics.runs.inc({ ...labels, status: report.status });
    if (report.status === 'failed') metrics.failures.inc(labels);
    if (ms !== undefined) metrics.reconcileDuration.observe(labels, ms / 1000);
    if (report.status === 'completed' && report.type !== 'watch' && report.finishedAt)
      metrics.lastSuccess.set(labels, Date.parse(report.finishedAt) / 1000);
  }
  const line = {
    fabric: report.fabric,
    type: report.type,
    run: report.id,
    status: report.status,
    durationMs: ms,
    counts: report.counts,
    ...(report.commit ? { commit: report.commit } : {}),
  };
  if (report.status === 'completed') {
    log.info(line, `${report.type} run ${report.id} of fabric "${report.fabric}" completed`);
  } else if (report.status === 'partial') {
    const problems = problemsOf(report);
    log.warn(
      { ...line, problems: problems.total, problemsBy: problems },
      `${report.type} run ${report.id} of fabric "${report.fabric}" partial: ${problems.total} problem${problems.total === 1 ? '' : 's'}`,
    );
  } else {
    log.warn(
      { ...line, err: report.errorMessage },
      `${report.type} run ${report.id} of fabric "${report.fabric}" ${report.status}${report.errorMessage ? `: ${report.errorMessage}` : ''}`,
    );
  }
}
