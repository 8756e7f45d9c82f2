/**
 * `npm run bench [-- --sizes 10000,100000 --db embedded|url|postgres://… --repeat 5 --only sync,drift,publish --json out.json]`
 *
 * The performance goals of issues 3 and 4, measured (never in timed unit tests):
 * - actual side, per fabric size, each in a child process of its own (bench/sync-bench.ts): list
 *   and write phases, total, resources/s, write phase vs the floor (bench/floor.ts), speed-up over
 *   the naive find-and-save path (bench/naive.ts), no-op re-sync, peak RSS;
 * - desired side: 10,000 objects in 500 files of a real Git repository, first run and no-op re-run;
 * - drift: 10,000 pairs (bench/drift-bench.ts);
 * - write-back: 1,000 drafts published as one commit vs the same commit made by hand (bench/publish-bench.ts);
 * - CLI latency: `hh-sync fabric list|drift --json` and `--help` against their floors (bench/cli-bench.ts);
 * - a PASS/FAIL table of the targets (bench/targets.ts). Exit code 1 when a target fails.
 *
 * Database: the server of HH_SYNC_DATABASE_URL / DATABASE_URL when set (a fresh database per size,
 * dropped afterwards), else the embedded PGlite (in each child, data in a temporary directory); `--db`
 * overrides. Options: bench/options.ts. Method and figures: docs/benchmarks.md.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { redactDatabaseUrl } from '../src/db/database-url.js';
import { benchDrift } from './drift-bench.js';
import { BENCH_USAGE, parseBenchOptions, repeatsFor, type BenchOptions } from './options.js';
import { median } from './stats.js';
import { cliVerdicts, embeddedVerdicts, judge, perObjectUs, type DriftFigures } from './targets.js';
import { benchEmbeddedStart, type EmbeddedBenchResult } from './embedded-bench.js';
import { CLI_COMMANDS, type CliBenchOptions, type CliBenchResult } from './cli-bench.js';
import type { CommitSize, PublishBenchOptions, PublishBenchResult, Spread } from './publish-bench.js';
import type { SyncBenchOptions, SyncBenchResult } from './sync-bench.js';

type ChildAnswer<T> = { ok: true; result: T } | { ok: false; error: string };

/** One benchmark module run as a child process of its own (its peak RSS is its own); `what` names it in errors. */
function runChild<T>(module: string, opts: object, what: string): Promise<T> {
  const script = fileURLToPath(new URL(module, import.meta.url));
  const child = fork(script, ['--child', JSON.stringify(opts)], {
    execArgv: [
      '--expose-gc',
      ...(process.env.HH_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HH_BENCH_CPU_PROF}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let answer: ChildAnswer<T> | undefined;
    child.on('message', (m) => (answer = m as ChildAnswer<T>));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (answer?.ok) resolve(answer.result);
      else
        reject(
          new Error(answer ? answer.error : `benchmark child for ${what} exited (code ${code}, signal ${signal})`),
        );
    });
  });
}

const n = (x: number) => x.toLocaleString('en-US');
const ms = (x: number) => `${x.toFixed(1)} ms`;
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function actualTable(results: readonly SyncBenchResult[]): string {
  const col = (f: (r: SyncBenchResult) => string) => results.map(f);
  const rows: [string, string[]][] = [
    ['runs (median kept)', col((r) => String(r.repeat))],
    ['list phase', col((r) => ms(r.first.listMs))],
    ['write phase', col((r) => ms(r.first.writeMs))],
    ['total first sync', col((r) => ms(r.first.totalMs))],
    ['resources/s', col((r) => n(Math.round((r.objects * 1000) / r.first.totalMs)))],
    ['time per object', col((r) => `${perObjectUs(r).toFixed(1)} µs`)],
    ...firstSyncFloorRows(results),
    ['FLOOR: resource rows (fastest variant)', col((r) => (r.floor ? `${ms(r.floor.ms)} (${r.floor.variant})` : '–'))],
    [
      'floor variants (median ms)',
      col((r) =>
        r.floor
          ? Object.entries(r.floor.variants)
              .map(([k, v]) => `${k} ${median(v).toFixed(0)}`)
              .join('; ')
          : '–',
      ),
    ],
    ['write / FLOOR', col((r) => (r.floor ? `${(r.first.writeMs / r.floor.ms).toFixed(2)}×` : '–'))],
    [
      'write / floor incl. history rows',
      col((r) => (r.floor ? `${(r.first.writeMs / r.floor.historyMs).toFixed(2)}×` : '–')),
    ],
    [
      'naive path (extrapolated)',
      col((r) => (r.naive ? `${ms(r.naive.extrapolatedMs)} (${n(r.naive.sample)} in ${ms(r.naive.sampleMs)})` : '–')),
    ],
    [
      'speed-up of write over naive',
      col((r) => (r.naive ? `${(r.naive.extrapolatedMs / r.first.writeMs).toFixed(0)}×` : '–')),
    ],
    [
      'no-op re-sync',
      col((r) =>
        r.noop ? `${ms(r.noop.totalMs)} (${((r.noop.totalMs / r.first.totalMs) * 100).toFixed(0)} % of first)` : '–',
      ),
    ],
    [
      'no-op rows rewritten / reported',
      col((r) => (r.noop ? `${r.noop.rowsRewritten} / ${r.noop.reportedUpdates}` : '–')),
    ],
    [
      'RSS before the sync / peak during the first sync / during all syncs',
      col(
        (r) =>
          `${r.rss.beforeSyncMb.toFixed(0)} / ${r.rss.firstSyncPeakMb.toFixed(0)} / ${r.rss.syncPeakMb.toFixed(0)} MB`,
      ),
    ],
    [
      'peak RSS, high-water marks (all of the above)',
      col(
        (r) =>
          `${r.rss.processPeakMb.toFixed(0)} MB` +
          (r.rss.databaseProcessPeakMb === null
            ? ''
            : ` (the database's process ${r.rss.databaseProcessPeakMb.toFixed(0)} MB of it)`),
      ),
    ],
  ];
  return table(
    ['actual side', ...results.map((r) => `${n(r.objects)} objects`)],
    rows.map(([k, v]) => [k, ...v]),
  );
}

/** Issue 12, goal 3: the whole first sync against its floor (bench/first-sync-floor.ts), medians and spreads. */
function firstSyncFloorRows(results: readonly SyncBenchResult[]): [string, string[]][] {
  const spread = (xs: readonly number[], unit: string, digits: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return `${median(s).toFixed(digits)}${unit} (${s[0]!.toFixed(digits)} – ${s.at(-1)!.toFixed(digits)})`;
  };
  const col = (f: (r: SyncBenchResult) => string) => results.map((r) => (r.syncFloor ? f(r) : '–'));
  return [
    [
      'first sync, start to end: median (min – max)',
      col((r) =>
        spread(
          r.first.runs.map((x) => x.totalMs),
          ' ms',
          1,
        ),
      ),
    ],
    [
      'FLOOR of the first sync (fetch + upsert)',
      col((r) =>
        spread(
          r.syncFloor!.runs.map((x) => x.totalMs),
          ' ms',
          1,
        ),
      ),
    ],
    [
      'floor list / write (medians)',
      col(
        (r) =>
          `${ms(median(r.syncFloor!.runs.map((x) => x.listMs)))} / ${ms(median(r.syncFloor!.runs.map((x) => x.writeMs)))}`,
      ),
    ],
    ['first sync / FLOOR per paired run: median (min – max)', col((r) => spread(r.syncFloor!.ratioRuns, '×', 2))],
    [
      'first sync / FLOOR (ratio of the medians)',
      col((r) => `${(r.first.totalMs / r.syncFloor!.totalMs).toFixed(2)}×`),
    ],
    [
      'first sync discover / list / write (median run)',
      col((r) => `${ms(r.first.discoverMs)} / ${ms(r.first.listMs)} / ${ms(r.first.writeMs)}`),
    ],
  ];
}

function desiredTable(r: SyncBenchResult): string {
  const d = r.desired!;
  return table(
    [`desired side: ${n(d.objects)} objects in ${d.files} files (Git)`, ''],
    [
      ['first desired sync (read / write)', `${ms(d.first.totalMs)} (${ms(d.first.readMs)} / ${ms(d.first.writeMs)})`],
      ['actual first sync of the same fabric', ms(r.first.totalMs)],
      ['desired / actual', `${(d.first.totalMs / r.first.totalMs).toFixed(2)}×`],
      [
        'no-op re-run',
        `${ms(d.noop.totalMs)}; ${d.noop.rowsRewritten} rows rewritten, ${d.noop.reportedUpdates} reported`,
      ],
      [
        'actual sync on top (full drift)',
        `${ms(d.actualAfterDesired.totalMs)} (list ${ms(d.actualAfterDesired.listMs)}, write ${ms(d.actualAfterDesired.writeMs)}); ` +
          Object.entries(d.actualAfterDesired.driftStatuses)
            .map(([k, v]) => `${k} ${n(v)}`)
            .join(', '),
      ],
    ],
  );
}

// The write-back run: 1,000 VPCs in 20 files of 50 documents.
const PUBLISH_OBJECTS = 1000;
const PUBLISH_FILES = 20;

const spreadOf = (s: Spread) => `${ms(s.median)} (${ms(s.min)} – ${ms(s.max)})`;
const sizeOf = (c: CommitSize) =>
  `${c.filesChanged} files, +${n(c.insertions)} −${n(c.deletions)} lines; ${c.newObjects} new objects, ` +
  `${n(c.newObjectBytes)} bytes (commit object ${n(c.commitObjectBytes)})`;

function publishTable(p: PublishBenchResult): string {
  const ratios = [...p.ratioRuns].sort((a, b) => a - b);
  return table(
    [
      `publish (write-back): ${n(p.objects)} drafts in ${p.files} files, one commit`,
      `median (min – max) of ${p.repeat} runs`,
    ],
    [
      ['draft: drafts.apply of one multi-document YAML text', spreadOf(p.draft)],
      ['publish: ledger.publish (fetch, edit, commit, push, record)', spreadOf(p.publish)],
      ['FLOOR: git clone, string replace, commit -a, push', spreadOf(p.floor)],
      ['publish / FLOOR (medians)', `${(p.publish.median / p.floor.median).toFixed(2)}×`],
      ['publish / FLOOR per run (min – max)', `${ratios[0]?.toFixed(2)}× – ${ratios.at(-1)?.toFixed(2)}×`],
      ['(draft + publish) / FLOOR (medians)', `${((p.draft.median + p.publish.median) / p.floor.median).toFixed(2)}×`],
      [
        'publish phases (median ms)',
        Object.entries(p.phases)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join('; ') || '–',
      ],
      ['commit made by publish', sizeOf(p.publishCommit)],
      ['commit made by hand (floor)', sizeOf(p.floorCommit)],
      ['RSS before / peak during draft + publish', `${p.rss.beforeMb.toFixed(0)} / ${p.rss.peakMb.toFixed(0)} MB`],
    ],
  );
}

// The CLI latency run: a fabric of 1,000 objects on both sides; every command spawned `repeat` times (at least 5).
const CLI_OBJECTS = 1000;

function cliTable(c: CliBenchResult): string {
  const range = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `${s[0]?.toFixed(2)}× – ${s.at(-1)?.toFixed(2)}×`;
  };
  const ratio = (a: string, b: string) =>
    `${(c.times[a as keyof typeof c.times].median / c.times[b as keyof typeof c.times].median).toFixed(2)}×`;
  return table(
    [
      `CLI latency: ${n(c.objects)}-object fabric (${n(c.drift.drifted)} drifted), spawn to exit`,
      `median (min – max) of ${c.repeat} interleaved runs`,
    ],
    [
      ...CLI_COMMANDS.map((k) => [k, `${ms(c.times[k].median)} (${ms(c.times[k].min)} – ${ms(c.times[k].max)})`]),
      [
        'fabric list / floor script (medians; per round)',
        `${ratio('fabric list --json', 'floor script')} (${range(c.roundRatios.fabricList)})`,
      ],
      [
        'drift / floor script (medians; per round)',
        `${ratio('drift --json', 'floor script')} (${range(c.roundRatios.drift)})`,
      ],
      [
        '--help / node -e 0 (medians; per round)',
        `${ratio('hh-sync --help', 'node -e 0')} (${range(c.roundRatios.help)})`,
      ],
    ],
  );
}

/** The CLI section: PostgreSQL only; undefined with a line saying why when it cannot run. */
async function measureCli(opts: BenchOptions, failures: string[]): Promise<{ cli?: CliBenchResult; skipped?: string }> {
  if (!opts.databaseUrl) {
    const skipped = 'skipped: needs PostgreSQL (set DATABASE_URL or --db url)';
    console.log(`CLI latency ${skipped}`);
    return { skipped };
  }
  const job: CliBenchOptions = {
    databaseUrl: opts.databaseUrl,
    repeat: Math.max(5, opts.repeat ?? 5),
    objects: CLI_OBJECTS,
    seed: opts.seed,
  };
  const t = performance.now();
  process.stdout.write(`measuring CLI latency (${n(job.objects)} objects), ${job.repeat} interleaved rounds … `);
  try {
    const cli = await runChild<CliBenchResult>('./cli-bench.js', job, 'CLI latency');
    console.log(`done in ${((performance.now() - t) / 1000).toFixed(0)} s (load ${load()})`);
    return { cli };
  } catch (err) {
    console.log('FAILED');
    failures.push(`CLI latency: ${(err as Error).message}`);
    return {};
  }
}

/** The embedded-start section: new vs existing data directory, peak RSS, the demo (bench/embedded-bench.ts). */
async function measureEmbedded(opts: BenchOptions, failures: string[]): Promise<EmbeddedBenchResult | undefined> {
  const repeat = Math.max(5, opts.repeat ?? 5);
  const t = performance.now();
  process.stdout.write(`measuring the embedded ledger's start, ${repeat} interleaved rounds, and the demo … `);
  try {
    const result = await benchEmbeddedStart(repeat);
    console.log(`done in ${((performance.now() - t) / 1000).toFixed(0)} s (load ${load()})`);
    return result;
  } catch (err) {
    console.log('FAILED');
    failures.push(`embedded start: ${(err as Error).message}`);
    return undefined;
  }
}

function embeddedTable(e: EmbeddedBenchResult): string {
  const sp = (x: { median: number; min: number; max: number }, unit: (v: number) => string) =>
    `${unit(x.median)} (${unit(x.min)} – ${unit(x.max)})`;
  const mb = (v: number) => `${v.toFixed(0)} MB`;
  const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
  return table(
    [
      'Embedded ledger start: a fresh node process, start to first answer',
      `median (min – max) of ${e.repeat} interleaved rounds`,
    ],
    [
      ['new data directory (restored from the template)', sp(e.newDir, ms)],
      ['existing data directory', sp(e.existingDir, ms)],
      [
        'new / existing (per round)',
        [...e.roundRatios]
          .sort((a, b) => a - b)
          .map((r) => `${r.toFixed(2)}×`)
          .join(', '),
      ],
      [
        'peak RSS of the larger process: new / existing',
        `${sp(e.newDirPeakRssMb, mb)} / ${sp(e.existingDirPeakRssMb, mb)}`,
      ],
      ['peak RSS of both processes added (new directory)', sp(e.newDirBothPeakRssMb, mb)],
      ['new data directory by initdb (before the template; 1 run)', ms(e.initdbMs)],
      [`hh-sync demo, spawn to exit (${e.demoRuns} runs)`, sp(e.demo, s)],
    ],
  );
}

async function main(opts: BenchOptions): Promise<number> {
  const cpus = os.cpus();
  const startLoad = load();
  console.log('hedgehog-fabric-sync benchmark');
  console.log(
    `machine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(`load average (1/5/15 min) at start: ${startLoad}`);
  console.log(
    `database: ${opts.databaseUrl ? `PostgreSQL server ${redactDatabaseUrl(opts.databaseUrl)} (a fresh database per size)` : 'embedded PGlite in each benchmark process, data in a temporary directory (set DATABASE_URL or --db url for a server)'}`,
  );
  const sections = (['sync', 'drift', 'publish', 'cli', 'embedded'] as const).filter((k) => opts[k]);
  console.log(`sections: ${sections.join(', ')}`);
  if (opts.sync)
    console.log(
      `sizes: ${opts.sizes.map(n).join(', ')}; each size in its own child process; fake Kubernetes API in another process`,
    );
  console.log('');

  const results: SyncBenchResult[] = [];
  const failures: string[] = [];
  let desiredOf: SyncBenchResult | undefined;
  const desiredFiles = opts.desiredObjects > 0 ? opts.desiredFiles : null;
  const jobs: SyncBenchOptions[] = (opts.sync ? opts.sizes : []).map((objects) => ({
    objects,
    seed: opts.seed,
    repeat: repeatsFor(opts, objects),
    databaseUrl: opts.databaseUrl,
    full: true,
    naiveSample: opts.naiveSample,
    desiredFiles: objects === opts.desiredObjects ? desiredFiles : null,
  }));
  if (opts.sync && desiredFiles !== null && !opts.sizes.includes(opts.desiredObjects)) {
    jobs.push({
      ...jobs[0]!,
      objects: opts.desiredObjects,
      repeat: repeatsFor(opts, opts.desiredObjects),
      full: false,
      desiredFiles,
    });
  }
  for (const job of jobs) {
    const t = performance.now();
    process.stdout.write(
      `measuring ${n(job.objects)} objects${job.desiredFiles !== null ? ' (+ desired side)' : ''} … `,
    );
    try {
      const r = await runChild<SyncBenchResult>('./sync-bench.js', job, `${n(job.objects)} objects`);
      console.log(`done in ${((performance.now() - t) / 1000).toFixed(0)} s (load ${load()})`);
      if (job.full) results.push(r);
      if (r.desired) desiredOf = r;
    } catch (err) {
      console.log('FAILED');
      failures.push(`${n(job.objects)} objects: ${(err as Error).message}`);
    }
  }
  let drift: DriftFigures | undefined;
  if (opts.drift) {
    process.stdout.write('measuring drift … ');
    drift = benchDrift();
    console.log('done');
  }
  let publish: PublishBenchResult | undefined;
  if (opts.publish) {
    const job: PublishBenchOptions = {
      databaseUrl: opts.databaseUrl,
      repeat: Math.max(5, opts.repeat ?? 5),
      objects: PUBLISH_OBJECTS,
      files: PUBLISH_FILES,
    };
    const t = performance.now();
    process.stdout.write(`measuring publish (write-back) of ${n(job.objects)} drafts, ${job.repeat} runs … `);
    try {
      publish = await runChild<PublishBenchResult>('./publish-bench.js', job, 'publish (write-back)');
      console.log(`done in ${((performance.now() - t) / 1000).toFixed(0)} s (load ${load()})`);
    } catch (err) {
      console.log('FAILED');
      failures.push(`publish (write-back): ${(err as Error).message}`);
    }
  }

  const cliRun = opts.cli ? await measureCli(opts, failures) : undefined;
  const embedded = opts.embedded ? await measureEmbedded(opts, failures) : undefined;

  const database = results[0] ?? desiredOf;
  if (database) console.log(`\ndatabase measured: ${database.database}\n  ${database.serverVersion}`);
  if (results.length) console.log(`\n${actualTable(results)}`);
  if (desiredOf?.desired) console.log(`\n${desiredTable(desiredOf)}`);
  if (drift)
    console.log(
      `\ndrift: ${n(drift.pairs)} pairs in ${ms(drift.ms)} (first pass after warm-up; steady state ${ms(drift.steadyMs)}; ${n(drift.drifted)} drifted)`,
    );

  if (publish) console.log(`\n${publishTable(publish)}`);
  if (cliRun?.cli) console.log(`\n${cliTable(cliRun.cli)}`);
  if (embedded) console.log(`\n${embeddedTable(embedded)}`);

  const verdicts = [
    ...judge(results, desiredOf, drift, publish),
    ...(opts.cli ? cliVerdicts(cliRun?.cli, cliRun?.skipped) : []),
    ...(opts.embedded ? embeddedVerdicts(embedded) : []),
  ];
  console.log(
    `\n${table(
      ['target', 'measured', 'verdict'],
      verdicts.map((v) => [v.target, v.measured, v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'FAIL']),
    )}`,
  );
  console.log(`\nload average (1/5/15 min) at end: ${load()} (start: ${startLoad}); ${cpus.length} cores`);
  for (const f of failures) console.error(`\nERROR ${f}`);

  if (opts.json) {
    writeFileSync(
      opts.json,
      `${JSON.stringify({ startedLoad: startLoad, endLoad: load(), cpus: cpus.length, node: process.version, options: { ...opts, databaseUrl: opts.databaseUrl && redactDatabaseUrl(opts.databaseUrl) }, results, desired: desiredOf?.desired, drift, publish, cli: cliRun?.cli, embedded, verdicts, failures }, null, 2)}\n`,
    );
    console.log(`figures written to ${opts.json}`);
  }
  return failures.length || verdicts.some((v) => v.pass === false) ? 1 : 0;
}

try {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) console.log(BENCH_USAGE);
  else process.exitCode = await main(parseBenchOptions(argv));
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 2;
}
