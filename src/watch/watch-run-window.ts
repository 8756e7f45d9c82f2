/**
 * The watch's `sync_operation` records (type 'watch'). A watch writes every few hundred milliseconds for hours, so
 * one row per write would bury the run history. Instead: ONE ROW PER WINDOW OF ACTIVITY.
 *
 * - A row opens (status in_progress) at the first write after the previous window closed.
 * - It sums the counts of every relist and batch written in the window and keeps their object errors (capped),
 *   plus details: relists per kind, batches, events, watch restarts, database outages, event lag.
 * - It closes after `intervalMs` (default 60 s) — at the next write or by a timer, whichever comes first — or when
 *   the watch stops: 'completed', 'partial' (object errors or a database outage in the window) or 'failed'
 *   (the watch stopped because its lease was lost, or its writes could not be made).
 * An idle fabric therefore adds no rows; a busy one adds at most one a minute.
 *
 * All database calls of the window are made by the fabric's serial write queue, never concurrently with its writes.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { HedgehogFabric } from '../entities/index.js';
import type { ObjectError } from '../observations.js';
import type { RunDetails } from '../sync/run-details.js';
import {
  addCounts,
  emptyCounts,
  finishRun,
  startRun,
  type RunCounts,
  type RunStatus,
  type SyncRunReport,
} from '../sync/run-recorder.js';
import { closeOrphanWatchRuns } from '../store/runs.js';

/** Object errors kept per window row; the rest are counted in details.errorsNotKept. */
const MAX_ERRORS = 500;

export interface WindowWrite {
  kind: string;
  source: 'relist' | 'batch';
  counts: RunCounts;
  errors: ObjectError[];
  events: number;
  lagMs: number;
}

export interface WindowOutage {
  from: string;
  to: string | null;
  error: string;
}

interface Accumulator {
  row?: { id: number; startedAt: Date };
  counts: RunCounts;
  errors: ObjectError[];
  errorsNotKept: number;
  relists: Record<string, number>;
  batches: number;
  events: number;
  restarts: number;
  outages: WindowOutage[];
  lagMaxMs: number;
  lagSumMs: number;
  writes: number;
}

const fresh = (): Accumulator => ({
  counts: emptyCounts(),
  errors: [],
  errorsNotKept: 0,
  relists: {},
  batches: 0,
  events: 0,
  restarts: 0,
  outages: [],
  lagMaxMs: 0,
  lagSumMs: 0,
  writes: 0,
});

export interface RunWindowHooks {
  opened(run: { id: number; startedAt: Date }): void;
  closed(report: SyncRunReport): void;
}

export class WatchRunWindow {
  private acc = fresh();

  constructor(
    private readonly em: EntityManager,
    private readonly fabric: HedgehogFabric,
    readonly intervalMs: number,
    private readonly hooks: RunWindowHooks,
  ) {}

  /** True when the open window has lasted its interval. */
  get due(): boolean {
    return !!this.acc.row && Date.now() - this.acc.row.startedAt.getTime() >= this.intervalMs;
  }

  get isOpen(): boolean {
    return !!this.acc.row;
  }

  /**
   * Watch rows still in_progress when a replica takes a fabric belong to a holder that died (only the holder writes
   * them): close them as failed so the history does not show a watch running forever.
   */
  async closeOrphans(): Promise<number> {
    return closeOrphanWatchRuns(this.em.fork(), this.fabric.id);
  }

  /** Account one successful write (opens a row when none is open). */
  async record(w: WindowWrite): Promise<void> {
    await this.ensureRow();
    const a = this.acc;
    a.counts = addCounts(a.counts, w.counts);
    for (const e of w.errors) {
      if (a.errors.length < MAX_ERRORS) a.errors.push(e);
      else a.errorsNotKept++;
    }
    if (w.source === 'relist') a.relists[w.kind] = (a.relists[w.kind] ?? 0) + 1;
    else a.batches++;
    a.events += w.events;
    a.writes++;
    a.lagMaxMs = Math.max(a.lagMaxMs, w.lagMs);
    a.lagSumMs += w.lagMs;
  }

  noteRestart(): void {
    this.acc.restarts++;
  }

  noteOutage(o: WindowOutage): void {
    this.acc.outages.push(o);
  }

  /** The open outage (to: null) ended. */
  endOutage(to: Date): void {
    const o = this.acc.outages.find((x) => x.to === null);
    if (o) o.to = to.toISOString();
  }

  /**
   * Close the window's row. `failure` marks the run failed with that message. Without a row, one is written only
   * when there is something to say (a failure or an outage), so idle stops leave no noise.
   */
  async close(failure?: string): Promise<SyncRunReport | null> {
    const a = this.acc;
    if (!a.row && !failure && a.outages.length === 0) {
      this.acc = { ...fresh(), restarts: a.restarts };
      return null;
    }
    if (!a.row) await this.ensureRow();
    const row = a.row!;
    const outageMessage = a.outages.length
      ? `database unavailable ${a.outages.length} time(s) during the window; writes paused and every kind relisted after recovery`
      : null;
    const status: RunStatus = failure
      ? 'failed'
      : a.errors.length || a.errorsNotKept || a.outages.length
        ? 'partial'
        : 'completed';
    const details: RunDetails = {
      relists: a.relists,
      batches: a.batches,
      events: a.events,
      restarts: a.restarts,
      lagMs: { max: a.lagMaxMs, avg: a.writes ? Math.round(a.lagSumMs / a.writes) : 0 },
    };
    if (a.outages.length) details.outages = a.outages;
    if (a.errorsNotKept) details.errorsNotKept = a.errorsNotKept;
    const report: SyncRunReport = {
      id: row.id,
      fabric: this.fabric.name,
      type: 'watch',
      status,
      startedAt: row.startedAt.toISOString(),
      finishedAt: null,
      counts: a.counts,
      errors: a.errors,
      commit: null,
      skippedKinds: [],
      otherKinds: {},
      errorMessage: [failure, outageMessage].filter(Boolean).join('; ') || null,
      details,
    };
    // On failure (the database is down) the window stays open with everything it counted.
    report.finishedAt = (await finishRun(this.em.fork(), row.id, report)).toISOString();
    this.acc = fresh();
    this.hooks.closed(report);
    return report;
  }

  /**
   * The id of the open window's run, opening one if none is open: a write asks for it first, so every transition
   * it records names its run (a write that then fails leaves the row to be closed with the window).
   */
  async openRunId(): Promise<number> {
    await this.ensureRow();
    return this.acc.row!.id;
  }

  private async ensureRow(): Promise<void> {
    if (this.acc.row) return;
    const row = await startRun(this.em.fork(), this.fabric.id, 'watch');
    this.acc.row = row;
    this.hooks.opened(row);
  }
}
