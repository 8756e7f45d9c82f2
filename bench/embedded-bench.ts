/**
 * Embedded ledger start (issue 12, goal 2): opening a brand-new embedded data directory against opening an existing
 * one, the peak RSS of the process doing it, and `hh-sync demo` from nothing.
 *
 * Each start is a fresh `node` process (as a person's command is) that imports the built embedded-postgres module,
 * starts the database on a data directory, connects with `pg` and runs `SELECT 1`, then stops it; the time is taken
 * inside the process from before the start to the answer, and the peak RSS of the larger of that process and the
 * database's own (the kernel's high-water marks, which cover everything each did) is reported with it. Rounds are interleaved (each round opens a new directory and
 * the existing one), after one warm-up round that is not counted. One initdb start (`template: false`, what every new
 * directory cost before the template) is measured once, for reference. The demo runs `repeat` times (at least 3),
 * each in a new empty working directory, as on a fresh clone: `node bin/hh-sync.js demo -q`, spawn to exit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './stats.js';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface EmbeddedBenchResult {
  repeat: number;
  /** Start of a new directory (restored from the template), ms. */
  newDir: Spread;
  /** Start of an existing directory, ms. */
  existingDir: Spread;
  /** Per round: new / existing. */
  roundRatios: number[];
  /** Peak RSS of the larger process (the one opening it, or its database's) when a new directory opened, MB. */
  newDirPeakRssMb: Spread;
  /** The two processes' peaks added, for a new directory, MB. */
  newDirBothPeakRssMb: Spread;
  existingDirPeakRssMb: Spread;
  /** One start of a new directory by initdb (`template: false`), ms and peak RSS of its initdb child excluded. */
  initdbMs: number;
  /** `hh-sync demo`, spawn to exit, ms. */
  demo: Spread;
  demoRuns: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/bench → the package root; the built module the CLI uses. */
const root = path.resolve(here, '..', '..');
const EMBEDDED_MODULE = pathToFileURL(path.join(root, 'dist/src/db/embedded-postgres.js')).href;

// The peak reported is the larger of the two processes' (the goal: no process above its bound): the one opening the
// directory and the database's own process (read before it stops, from its high-water mark).
const START_SCRIPT = `
import { readFileSync } from 'node:fs';
import { startEmbeddedPostgres } from ${JSON.stringify(EMBEDDED_MODULE)};
import pg from 'pg';
const [dataDir, mode] = process.argv.slice(1);
const t0 = performance.now();
const server = await startEmbeddedPostgres({ dataDir, template: mode === 'initdb' ? false : undefined });
const client = new pg.Client({ connectionString: server.url });
await client.connect();
await client.query('SELECT 1');
const ms = performance.now() - t0;
await client.end();
const hwm = /^VmHWM:\\s+(\\d+) kB/m.exec(readFileSync('/proc/' + server.serverPid + '/status', 'utf8'));
const databaseKb = hwm ? Number(hwm[1]) : 0;
await server.stop();
const ownKb = process.resourceUsage().maxRSS;
process.stdout.write(JSON.stringify({ ms, peakRssMb: Math.max(ownKb, databaseKb) / 1024, bothPeakRssMb: (ownKb + databaseKb) / 1024 }));
`;

function runNode(args: string[], cwd: string): Promise<{ stdout: string; ms: number }> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', HH_SYNC_DATABASE_URL: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) done({ stdout, ms });
      else
        fail(
          new Error(`${args.slice(0, 3).join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`),
        );
    });
  });
}

async function start(dataDir: string, mode: 'template' | 'initdb', cwd: string) {
  // The script needs `pg` from the package: run it with the package root as its working directory.
  const { stdout } = await runNode(['--input-type=module', '-e', START_SCRIPT, dataDir, mode], cwd);
  return JSON.parse(stdout) as { ms: number; peakRssMb: number; bothPeakRssMb: number };
}

const spread = (xs: number[]): Spread => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

export async function benchEmbeddedStart(repeat: number): Promise<EmbeddedBenchResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'hh-bench-embedded-'));
  try {
    const existing = path.join(work, 'existing');
    await start(existing, 'template', root); // made here, reopened by every round; also the warm-up
    await start(path.join(work, 'warm-up'), 'template', root);
    const news: { ms: number; peakRssMb: number; bothPeakRssMb: number }[] = [];
    const olds: { ms: number; peakRssMb: number; bothPeakRssMb: number }[] = [];
    for (let i = 0; i < repeat; i++) {
      news.push(await start(path.join(work, `new-${i}`), 'template', root));
      olds.push(await start(existing, 'template', root));
      rmSync(path.join(work, `new-${i}`), { recursive: true, force: true });
    }
    const initdb = await start(path.join(work, 'initdb'), 'initdb', root);
    const demoRuns = Math.max(3, repeat);
    const demos: number[] = [];
    for (let i = 0; i < demoRuns; i++) {
      const cwd = mkdtempSync(path.join(work, 'demo-'));
      demos.push((await runNode([path.join(root, 'bin/hh-sync.js'), 'demo', '-q'], cwd)).ms);
      rmSync(cwd, { recursive: true, force: true });
    }
    return {
      repeat,
      newDir: spread(news.map((r) => r.ms)),
      existingDir: spread(olds.map((r) => r.ms)),
      roundRatios: news.map((r, i) => Math.round((r.ms / olds[i]!.ms) * 100) / 100),
      newDirPeakRssMb: spread(news.map((r) => r.peakRssMb)),
      newDirBothPeakRssMb: spread(news.map((r) => r.bothPeakRssMb)),
      existingDirPeakRssMb: spread(olds.map((r) => r.peakRssMb)),
      initdbMs: initdb.ms,
      demo: spread(demos),
      demoRuns,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
