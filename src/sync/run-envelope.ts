/**
 * The envelope around every sync run: record it `in_progress` (committed at once, outside the data
 * transaction, so the record survives a rolled-back run), do the work, then record the outcome —
 * completed, partial (some objects or kinds failed, everything else landed) or failed — and the fabric's
 * error. The work's own transaction decides what data lands.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { HedgehogFabric } from '../entities/index.js';
import type { ObjectError } from '../observations.js';
import type { WritePlan } from './write-plan.js';
import type { Logger } from './logger.js';
import { PhaseTimer } from './phase-timings.js';
import type { RunDetails } from './run-details.js';
import {
  emptyCounts,
  finishRun,
  startRun,
  type RunCounts,
  type RunStatus,
  type RunType,
  type SyncRunReport,
} from './run-recorder.js';
import { markRunFailed } from '../store/fabrics.js';
import { databaseFailureKind, errorMessageOf, failureSource } from './error-text.js';
import { isClusterFault } from './sync-errors.js';

/** What a run's work reports as it goes. */
export interface RunAccumulator {
  runId: number;
  counts: RunCounts;
  errors: ObjectError[];
  skippedKinds: { kind: string; reason: string }[];
  failedKinds: { kind: string; reason: string }[];
  otherKinds: Record<string, number>;
  recreated: WritePlan['recreated'];
  commit: string | null;
  details: RunDetails;
  /** Time per phase, reported as `details.timingsMs`. */
  timer: PhaseTimer;
}

export interface RunHooks {
  log: Logger;
  started(e: { fabric: string; type: RunType; id: number }): void;
  failed(err: Error): void;
  ended(report: SyncRunReport): void;
}

export async function runEnvelope(
  em: EntityManager,
  fabric: HedgehogFabric,
  type: RunType,
  hooks: RunHooks,
  work: (em: EntityManager, rec: RunAccumulator) => Promise<void>,
): Promise<SyncRunReport> {
  const started = await startRun(em, fabric.id, type);
  hooks.started({ fabric: fabric.name, type, id: started.id });
  const rec: RunAccumulator = {
    runId: started.id,
    counts: emptyCounts(),
    errors: [],
    skippedKinds: [],
    failedKinds: [],
    otherKinds: {},
    recreated: [],
    commit: null,
    details: {},
    timer: new PhaseTimer(),
  };
  let status: RunStatus;
  let errorMessage: string | null = null;
  try {
    await work(em, rec);
    status = rec.failedKinds.length || rec.errors.length ? 'partial' : 'completed';
    if (rec.failedKinds.length)
      errorMessage = `kinds not listed: ${rec.failedKinds.map((k) => `${k.kind} (${k.reason})`).join('; ')}`;
  } catch (err) {
    status = 'failed';
    // The work's data transaction is its last step: a throw means it rolled back, so nothing was
    // created, updated or cleared — whatever the plan counted. What was listed or failed stays true.
    rec.counts = { ...rec.counts, created: 0, updated: 0, cleared: 0 };
    rec.recreated = [];
    errorMessage = errorMessageOf(err);
    const code = (err as { code?: unknown } | null | undefined)?.code;
    const source = failureSource(err);
    // For a database failure, which kind (connection, busy, migration, statement): it decides the hint.
    const databaseKind = source === 'database' ? { database: databaseFailureKind(err) } : {};
    rec.details.failure = { source, ...databaseKind, ...(typeof code === 'string' ? { code } : {}) };
    hooks.log.error({ fabric: fabric.name, type, err: errorMessage }, 'sync run failed');
    // The statement and the row MikroORM appended are kept out of the record and the line, but not lost: --verbose.
    hooks.log.debug(
      { fabric: fabric.name, type, err: (err as Error | null | undefined)?.message },
      'sync run failed: the error in full',
    );
    const clusterFault = type !== 'desired' && isClusterFault(err);
    // A publish that failed (a refused push, a conflict) says nothing about the fabric's sync: its status stays.
    if (type !== 'publish')
      await markRunFailed(em, fabric.id, errorMessage, clusterFault).catch(
        () => undefined, // the database itself may be what failed; the run record below says so if it can
      );
    hooks.failed(err as Error);
  }
  if (rec.recreated.length) rec.details.recreated = rec.recreated;
  if (rec.failedKinds.length) rec.details.failedKinds = rec.failedKinds;
  rec.details.timingsMs = rec.timer.toJSON();
  const report: SyncRunReport = {
    id: started.id,
    fabric: fabric.name,
    type,
    status,
    startedAt: started.startedAt.toISOString(),
    finishedAt: null,
    counts: rec.counts,
    errors: rec.errors,
    commit: rec.commit,
    skippedKinds: rec.skippedKinds,
    otherKinds: rec.otherKinds,
    errorMessage,
    details: rec.details,
  };
  try {
    report.finishedAt = (await finishRun(em, started.id, report)).toISOString();
  } catch (err) {
    hooks.log.error({ fabric: fabric.name, err: (err as Error).message }, 'could not record the end of the run');
    report.finishedAt = new Date().toISOString();
  }
  hooks.log.info(
    { fabric: fabric.name, type, status, counts: report.counts, errors: report.errors.length },
    'sync run finished',
  );
  hooks.ended(report);
  return report;
}
