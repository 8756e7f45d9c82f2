/**
 * One fabric size, measured in a process of its own (the runner forks this file), so the peak RSS
 * it reports is this size's alone:
 *
 * - actual side: first `syncActualState` into fresh fabrics (list and write phases from the run's
 *   `details.timingsMs`), no-op re-syncs (rows rewritten counted by comparing every row's `xmin`),
 *   the floor (bench/floor.ts) and the naive path (bench/naive.ts) writing the same rows;
 * - desired side (optional): `syncDesiredState` of the same fabric declared in a real Git repository,
 *   first run and no-op re-runs, then an actual sync on top (both sides present: full drift).
 *
 * The fake Kubernetes API runs in another process (bench/fake-cluster.ts). Before anything is
 * timed, a 1,000-object fabric is synced once so the JIT, the ORM and the drivers are warm.
 * Each first sync is followed by the floor runs on its rows, so a change of the machine's load
 * (other processes share it) hits both sides of the ratio alike.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import type { SyncRunReport } from '../src/sync/run-recorder.js';
import {
  createGitRepo,
  FakeKubeApi,
  generateSampleFabric,
  toManifestFiles,
  withServerDefaults,
} from '../src/testing/index.js';
import { openBenchDatabase, type BenchDatabase } from './bench-database.js';
import { startFakeCluster, type FakeCluster } from './fake-cluster.js';
import { timeFirstSyncFloor, type SyncFloorRun } from './first-sync-floor.js';
import { FLOOR_COLUMNS, FLOOR_VARIANTS, HISTORY_FLOOR, timeFloor, type FloorRow } from './floor.js';
import { sampleRows, timeNaive } from './naive.js';
import {
  collectGarbage,
  median,
  medianBy,
  otherProcessPeakMb,
  peakRssMb,
  round1,
  round2,
  RssSampler,
  rssMb,
  timed,
} from './stats.js';

export interface SyncBenchOptions {
  objects: number;
  seed: number;
  repeat: number;
  databaseUrl: string | null;
  /** No-op re-syncs, floor and naive path (else only the first sync, for the desired side's ratio). */
  full: boolean;
  naiveSample: number;
  /** Files of the desired-side repository; null skips the desired side. */
  desiredFiles: number | null;
}

export interface RunTiming {
  listMs: number;
  writeMs: number;
  discoverMs: number;
  totalMs: number;
}

export interface SyncBenchResult {
  objects: number;
  database: string;
  /** `SELECT version()` of the database measured. */
  serverVersion: string;
  embedded: boolean;
  repeat: number;
  first: RunTiming & { runs: RunTiming[] };
  noop?: { totalMs: number; runs: number[]; reportedUpdates: number; rowsRewritten: number; transitionsAdded: number };
  /** Fastest resource-rows variant (the FLOOR), every variant's runs, and the resource + history floor. */
  floor?: { ms: number; variant: string; variants: Record<string, number[]>; historyMs: number; batch: number };
  naive?: { sample: number; sampleMs: number; extrapolatedMs: number };
  /**
   * The whole first sync against its floor (bench/first-sync-floor.ts: plain fetch + one hand-written upsert per
   * 5,000 rows), run after each first sync: every run of both, and the ratio of each pair.
   */
  syncFloor?: { runs: SyncFloorRun[]; totalMs: number; ratioRuns: number[] };
  /**
   * RSS now before the first sync; highest RSS sampled during the actual syncs (first and no-op);
   * the process's high-water mark at the end (floor, naive path and desired side included).
   */
  rss: {
    beforeSyncMb: number;
    syncPeakMb: number;
    firstSyncPeakMb: number;
    /** High-water marks: this process's plus the embedded database process's. */
    processPeakMb: number;
    /** The embedded database process's high-water mark alone (null beside a server). */
    databaseProcessPeakMb: number | null;
  };
  desired?: {
    files: number;
    objects: number;
    first: { readMs: number; writeMs: number; totalMs: number; runs: number[] };
    noop: { totalMs: number; runs: number[]; reportedUpdates: number; rowsRewritten: number };
    actualAfterDesired: { totalMs: number; listMs: number; writeMs: number; driftStatuses: Record<string, number> };
  };
}

function timingOf(report: SyncRunReport, wallMs: number): RunTiming {
  const t = (report.details.timingsMs ?? {}) as Record<string, number>;
  return {
    listMs: round1(t.list ?? 0),
    writeMs: round1(t.write ?? 0),
    discoverMs: round1(t.discover ?? 0),
    totalMs: round1(wallMs),
  };
}

function expectCompleted(report: SyncRunReport, what: string): void {
  if (report.status !== 'completed') {
    throw new Error(
      `${what}: run ${report.status}: ${report.errorMessage ?? ''} ${JSON.stringify(report.errors.slice(0, 3))}`,
    );
  }
}

async function sql<T = Record<string, unknown>>(orm: MikroORM, text: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.getConnection().execute<T[]>(text, params, 'all');
}

/** Every row's transaction id: a row that is rewritten (even with equal values) gets a new one. */
async function rowVersions(orm: MikroORM, fabricId: number): Promise<Map<number, string>> {
  const rows = await sql<{ id: number; x: string }>(
    orm,
    `SELECT id, xmin::text AS x FROM hedgehog_resource WHERE fabric_id = ?`,
    [fabricId],
  );
  return new Map(rows.map((r) => [r.id, r.x]));
}

function rewritten(before: Map<number, string>, after: Map<number, string>): number {
  let n = Math.abs(before.size - after.size);
  for (const [id, x] of after) if (before.has(id) && before.get(id) !== x) n++;
  return n;
}

async function transitionCount(orm: MikroORM, fabricId: number): Promise<number> {
  const [row] = await sql<{ n: number }>(orm, `SELECT count(*)::int AS n FROM state_transition WHERE fabric_id = ?`, [
    fabricId,
  ]);
  return row!.n;
}

/** The rows the sync wrote for a fabric, in the floor's column order. */
async function writtenRows(orm: MikroORM, fabricId: number): Promise<FloorRow[]> {
  return sql<FloorRow>(
    orm,
    `SELECT ${FLOOR_COLUMNS.join(', ')} FROM hedgehog_resource WHERE fabric_id = ? ORDER BY id`,
    [fabricId],
  );
}

/** No-op re-syncs of a synced fabric: their median time, and every row and history entry they touched. */
async function noopResyncs(
  orm: MikroORM,
  svc: FabricSyncService,
  fabricId: number,
  repeat: number,
  sampler: RssSampler,
): Promise<SyncBenchResult['noop']> {
  const versions = await rowVersions(orm, fabricId);
  const transitions = await transitionCount(orm, fabricId);
  const runs: number[] = [];
  let reportedUpdates = 0;
  for (let i = 0; i < repeat; i++) {
    const { ms, value: report } = await sampler.during(() => timed(() => svc.syncActualState(fabricId)));
    expectCompleted(report, 'no-op re-sync');
    reportedUpdates += report.counts.created + report.counts.updated + report.counts.cleared;
    runs.push(round1(ms));
  }
  return {
    totalMs: median(runs),
    runs,
    reportedUpdates,
    rowsRewritten: rewritten(versions, await rowVersions(orm, fabricId)),
    transitionsAdded: (await transitionCount(orm, fabricId)) - transitions,
  };
}

const roundFloorRun = (r: SyncFloorRun): SyncFloorRun => ({
  totalMs: round1(r.totalMs),
  listMs: round1(r.listMs),
  writeMs: round1(r.writeMs),
  rows: r.rows,
});

let fabricSeq = 0;
const newFabric = (orm: MikroORM, prefix: string, settings: Parameters<FabricRegistry['create']>[1] = {}) =>
  new FabricRegistry(orm.em).create(`${prefix}-${++fabricSeq}`, settings);

async function warmUp(db: BenchDatabase, seed: number): Promise<void> {
  const api = new FakeKubeApi();
  api.load(generateSampleFabric({ targetObjects: 1_000, seed: seed + 1 }).map((o) => withServerDefaults(o, seed + 1)));
  const apiUrl = await api.start();
  try {
    const svc = new FabricSyncService(db.orm.em, { kubeConfigFor: () => api.kubeConfig() });
    await timeFirstSyncFloor(db.url, apiUrl, (await newFabric(db.orm, 'warmup-sync-floor')).id);
    const fabric = await newFabric(db.orm, 'warmup');
    expectCompleted(await svc.syncActualState(fabric), 'warm-up sync');
    expectCompleted(await svc.syncActualState(fabric), 'warm-up re-sync');
    const rows = await writtenRows(db.orm, fabric.id);
    for (const v of [...FLOOR_VARIANTS, HISTORY_FLOOR])
      await timeFloor(db.url, v, rows, (await newFabric(db.orm, 'warmup-floor')).id);
    await timeNaive(db.orm, (await newFabric(db.orm, 'warmup-naive')).id, rows.slice(0, 50));
  } finally {
    await api.stop();
  }
}

export async function benchSync(opts: SyncBenchOptions): Promise<SyncBenchResult> {
  const db = await openBenchDatabase(opts.databaseUrl);
  let cluster: FakeCluster | undefined;
  let repoDir: string | undefined;
  try {
    cluster = await startFakeCluster({ objects: opts.objects, seed: opts.seed });
    const kc = cluster.kubeConfig();
    const svc = new FabricSyncService(db.orm.em, { kubeConfigFor: () => kc });
    await warmUp(db, opts.seed);
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 500)); // V8 returns freed pages to the system lazily
    const beforeSyncMb = rssMb(db.memoryPids);
    const sampler = new RssSampler(db.memoryPids);
    const firstSampler = new RssSampler(db.memoryPids);

    // ---- first sync into fresh fabrics, each followed by the floor writing the same rows. The first
    // one is followed by the no-op re-syncs, and the RSS is sampled during those only: nothing the
    // floor or naive runs leave behind counts.
    const firstRuns: RunTiming[] = [];
    const variants: Record<string, number[]> = Object.fromEntries(
      [...FLOOR_VARIANTS, HISTORY_FLOOR].map((v) => [v.name, []]),
    );
    let noop: SyncBenchResult['noop'];
    let rows: FloorRow[] = [];
    const syncFloorRuns: SyncFloorRun[] = [];
    for (let i = 0; i < opts.repeat; i++) {
      const fabric = await newFabric(db.orm, 'actual');
      // Each side of the pair starts from a collected heap: the floor gets one below, and without one here the
      // sync would pay for the garbage the previous round's floor variants left behind.
      collectGarbage();
      const sync = () => timed(() => svc.syncActualState(fabric));
      const { ms, value: report } = i === 0 ? await sampler.during(() => firstSampler.during(sync)) : await sync();
      expectCompleted(report, 'first sync');
      if (report.counts.created !== opts.objects)
        throw new Error(`first sync created ${report.counts.created} rows, expected ${opts.objects}`);
      firstRuns.push(timingOf(report, ms));
      // The whole-sync floor right after, on the same API process: a change of the machine's load hits both.
      const floorFabric = await newFabric(db.orm, 'sync-floor');
      collectGarbage();
      const floorRun = await timeFirstSyncFloor(db.url, cluster.url, floorFabric.id);
      if (floorRun.rows !== opts.objects)
        throw new Error(`first-sync floor wrote ${floorRun.rows} rows, expected ${opts.objects}`);
      syncFloorRuns.push(roundFloorRun(floorRun));
      if (i === 0 && opts.full) noop = await noopResyncs(db.orm, svc, fabric.id, opts.repeat, sampler);
      if (!opts.full) continue;
      rows = await writtenRows(db.orm, fabric.id);
      for (const v of [...FLOOR_VARIANTS, HISTORY_FLOOR]) {
        const target = await newFabric(db.orm, 'floor');
        collectGarbage();
        variants[v.name]!.push(round1(await timeFloor(db.url, v, rows, target.id)));
      }
    }
    const first = { ...medianBy(firstRuns, (r) => r.totalMs), runs: firstRuns };
    const result: SyncBenchResult = {
      objects: opts.objects,
      database: db.label,
      serverVersion: (await sql<{ v: string }>(db.orm, 'SELECT version() AS v'))[0]!.v,
      embedded: db.embedded,
      repeat: opts.repeat,
      first,
      rss: { beforeSyncMb, syncPeakMb: 0, firstSyncPeakMb: 0, processPeakMb: 0, databaseProcessPeakMb: null },
      noop,
      syncFloor: {
        runs: syncFloorRuns,
        totalMs: median(syncFloorRuns.map((r) => r.totalMs)),
        ratioRuns: firstRuns.map((r, i) => round2(r.totalMs / syncFloorRuns[i]!.totalMs)),
      },
    };

    if (opts.full) {
      const best = FLOOR_VARIANTS.map((v) => ({ name: v.name, ms: median(variants[v.name]!) })).sort(
        (a, b) => a.ms - b.ms,
      )[0]!;
      result.floor = {
        ms: best.ms,
        variant: best.name,
        variants,
        historyMs: median(variants[HISTORY_FLOOR.name]!),
        batch: 5_000,
      };

      // ---- the naive path on a sample, extrapolated
      const sample = sampleRows(rows, opts.naiveSample);
      const naiveFabric = await newFabric(db.orm, 'naive');
      collectGarbage();
      const sampleMs = await timeNaive(db.orm, naiveFabric.id, sample);
      result.naive = {
        sample: sample.length,
        sampleMs: round1(sampleMs),
        extrapolatedMs: round1((sampleMs * opts.objects) / sample.length),
      };
    }

    if (opts.desiredFiles !== null) {
      // ---- desired side: the same fabric, declared in a Git repository
      const declared = generateSampleFabric({ targetObjects: opts.objects, seed: opts.seed });
      const files = toManifestFiles(declared, { files: opts.desiredFiles });
      repoDir = mkdtempSync(path.join(tmpdir(), 'hh-bench-git-'));
      await createGitRepo(repoDir, files);
      const firstDesired: { readMs: number; writeMs: number; totalMs: number }[] = [];
      let fabricId = 0;
      for (let i = 0; i < opts.repeat; i++) {
        const fabric = await newFabric(db.orm, 'desired', { gitRepository: repoDir });
        const { ms, value: report } = await timed(() => svc.syncDesiredState(fabric));
        expectCompleted(report, 'first desired sync');
        if (report.counts.created !== opts.objects)
          throw new Error(`desired sync created ${report.counts.created} rows, expected ${opts.objects}`);
        const t = report.details.timingsMs as Record<string, number>;
        firstDesired.push({ readMs: round1(t.read ?? 0), writeMs: round1(t.write ?? 0), totalMs: round1(ms) });
        fabricId = fabric.id;
      }
      const versions = await rowVersions(db.orm, fabricId);
      const noopRuns: number[] = [];
      let reportedUpdates = 0;
      for (let i = 0; i < opts.repeat; i++) {
        const { ms, value: report } = await timed(() => svc.syncDesiredState(fabricId));
        expectCompleted(report, 'desired no-op re-run');
        reportedUpdates += report.counts.created + report.counts.updated + report.counts.cleared;
        noopRuns.push(round1(ms));
      }
      const rowsRewritten = rewritten(versions, await rowVersions(db.orm, fabricId));
      const { ms: afterMs, value: afterReport } = await timed(() => svc.syncActualState(fabricId));
      expectCompleted(afterReport, 'actual sync after the desired one');
      const statuses = await sql<{ s: string; n: number }>(
        db.orm,
        `SELECT coalesce(drift_status, 'none') AS s, count(*)::int AS n FROM hedgehog_resource WHERE fabric_id = ? GROUP BY 1 ORDER BY 1`,
        [fabricId],
      );
      const afterTiming = timingOf(afterReport, afterMs);
      const firstMedian = medianBy(firstDesired, (r) => r.totalMs);
      result.desired = {
        files: Object.keys(files).length,
        objects: declared.length,
        first: { ...firstMedian, runs: firstDesired.map((r) => r.totalMs) },
        noop: { totalMs: median(noopRuns), runs: noopRuns, reportedUpdates, rowsRewritten },
        actualAfterDesired: {
          totalMs: afterTiming.totalMs,
          listMs: afterTiming.listMs,
          writeMs: afterTiming.writeMs,
          driftStatuses: Object.fromEntries(statuses.map((r) => [r.s, r.n])),
        },
      };
    }
    result.rss.syncPeakMb = sampler.peakMb;
    result.rss.firstSyncPeakMb = firstSampler.peakMb;
    result.rss.processPeakMb = peakRssMb(db.memoryPids);
    result.rss.databaseProcessPeakMb = db.memoryPids.length ? otherProcessPeakMb(db.memoryPids[0]!) : null;
    return result;
  } finally {
    await cluster?.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    if (repoDir) rmSync(repoDir, { recursive: true, force: true });
  }
}

// Run as the runner's child: options in argv as JSON, the result sent back over IPC.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--child') {
  try {
    const result = await benchSync(JSON.parse(process.argv[3]!) as SyncBenchOptions);
    process.send!({ ok: true, result });
  } catch (err) {
    process.send!({ ok: false, error: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  }
}
