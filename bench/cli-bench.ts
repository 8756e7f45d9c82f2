/**
 * CLI latency (issue 12, goal 1): how long a person waits for `hh-sync`, against what any program reading the
 * ledger must at least pay.
 *
 * Ledger: a fresh database on the PostgreSQL server holding one fabric of `objects` objects on both sides — the
 * sample fabric served by the project's fake Kubernetes API (with server defaults, as a cluster reports them) and
 * declared in a Git repository with deliberate differences (every 10th VPC's VLAN changed in Git, every 50th
 * object missing from Git), both syncs run — so `drift` has drifted objects to report.
 *
 * Commands, each a fresh `node` process spawned the same way, in interleaved rounds (each round runs every
 * command once, so a change of the machine's load hits all of them alike), after one warm-up round (the OS's
 * file cache) that is not counted:
 * - `node -e 0` — the floor of `--help`;
 * - the floor script bench/cli-floor.mjs — `node` + `pg` connect + one `SELECT` + print;
 * - `hh-sync --help`, `hh-sync fabric list --json`, `hh-sync drift <fabric> --json` (node bin/hh-sync.js).
 * Every command must exit 0 and the JSON ones must print what the ledger holds, or the benchmark fails.
 *
 * PostgreSQL only: the embedded ledger's start is goal 2's subject, and its floor would be another program.
 * Runs in a child process of its own (bench/run.ts).
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
import type { KubeObjectLike } from '../src/testing/index.js';
import { openBenchDatabase } from './bench-database.js';
import { median, round1 } from './stats.js';

export interface CliBenchOptions {
  databaseUrl: string;
  repeat: number;
  objects: number;
  seed: number;
}

/** The commands timed, in the order of each round. */
export const CLI_COMMANDS = [
  'node -e 0',
  'floor script',
  'hh-sync --help',
  'fabric list --json',
  'drift --json',
] as const;
export type CliCommand = (typeof CLI_COMMANDS)[number];

/** Median and range of one command's wall times (spawn to exit), in ms. */
export interface CliSpread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export interface CliBenchResult {
  objects: number;
  repeat: number;
  database: string;
  /** What the drift report held: objects in the fabric and drifted ones. */
  drift: { total: number; drifted: number };
  times: Record<CliCommand, CliSpread>;
  /** Per round: the command's time over its floor's in the same round. */
  roundRatios: { fabricList: number[]; drift: number[]; help: number[] };
}

const FABRIC = 'bench';

/** The package root (holds bin/hh-sync.js and bench/cli-floor.mjs), from src or from dist. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = path.join(dir, 'package.json');
    if (
      existsSync(file) &&
      (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'hedgehog-fabric-sync'
    )
      return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cli bench: package root not found above bench/');
}

/** Git's version of the cluster's fabric: every 10th VPC with another VLAN, every 50th object left out. */
function gitSide(cluster: readonly KubeObjectLike[]): KubeObjectLike[] {
  let vpcs = 0;
  return cluster
    .filter((_, i) => i % 50 !== 49)
    .map((o) => {
      const copy = structuredClone(o);
      if (copy.kind === 'VPC' && vpcs++ % 10 === 0) {
        const subnets = copy.spec.subnets as Record<string, { vlan?: number }> | undefined;
        const first = subnets && Object.values(subnets)[0];
        if (first?.vlan !== undefined) first.vlan += 1;
      }
      return copy;
    });
}

function expectCompleted(report: SyncRunReport, what: string): void {
  if (report.status !== 'completed') throw new Error(`${what}: run ${report.status}: ${JSON.stringify(report.errors)}`);
}

/** One fabric of `objects` objects on both sides, synced both ways; the repository's directory is returned. */
async function prepareLedger(
  db: Awaited<ReturnType<typeof openBenchDatabase>>,
  opts: CliBenchOptions,
): Promise<string> {
  const cluster = generateSampleFabric({ targetObjects: opts.objects, seed: opts.seed });
  const api = new FakeKubeApi();
  api.load(cluster.map((o) => withServerDefaults(o, opts.seed)));
  await api.start();
  const repoDir = mkdtempSync(path.join(tmpdir(), 'hh-bench-cli-git-'));
  try {
    await createGitRepo(repoDir, toManifestFiles(gitSide(cluster), { files: 50 }));
    const fabric = await new FabricRegistry(db.orm.em).create(FABRIC, { gitRepository: repoDir });
    const svc = new FabricSyncService(db.orm.em, { kubeConfigFor: () => api.kubeConfig() });
    expectCompleted(await svc.syncDesiredState(fabric), 'desired sync');
    expectCompleted(await svc.syncActualState(fabric), 'actual sync');
    return repoDir;
  } catch (err) {
    rmSync(repoDir, { recursive: true, force: true });
    throw err;
  } finally {
    await api.stop();
  }
}

/** Spawns `node args…` and times it from spawn to exit; a non-zero exit fails the benchmark. */
function timeProcess(args: string[], cwd: string): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // No database URL in the environment: the commands name their database on the command line.
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.DATABASE_URL;
    delete env.HH_SYNC_DATABASE_URL;
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      const stdout = Buffer.concat(out).toString('utf8');
      if (code !== 0)
        reject(new Error(`node ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString('utf8').trim()}`));
      else resolve({ ms, stdout });
    });
  });
}

/** What each command must print, checked on every run: a fast wrong answer is no answer. */
function checkOutput(command: CliCommand, stdout: string, objects: number): void {
  const fail = (why: string) => {
    throw new Error(`cli bench: ${command} printed ${why}: ${stdout.slice(0, 300)}`);
  };
  if (command === 'hh-sync --help' && !stdout.includes('Usage: hh-sync')) fail('no usage');
  if (command === 'floor script' || command === 'fabric list --json') {
    const fabrics = JSON.parse(stdout) as { name?: string }[];
    if (fabrics.length !== 1 || fabrics[0]?.name !== FABRIC) fail(`not the one fabric ${FABRIC}`);
  }
  if (command === 'drift --json') {
    const report = JSON.parse(stdout) as { summary?: { total?: number } };
    if (report.summary?.total !== objects) fail(`a total other than ${objects}`);
  }
}

function spreadOf(runs: number[]): CliSpread {
  return { median: round1(median(runs)), min: round1(Math.min(...runs)), max: round1(Math.max(...runs)), runs };
}

export async function benchCli(opts: CliBenchOptions): Promise<CliBenchResult> {
  const root = packageRoot();
  const bin = path.join(root, 'bin', 'hh-sync.js');
  const floor = path.join(root, 'bench', 'cli-floor.mjs');
  const db = await openBenchDatabase(opts.databaseUrl);
  let repoDir: string | undefined;
  // The commands run in an empty directory: no embedded ledger or Git cache of the project's is in reach.
  const cwd = mkdtempSync(path.join(tmpdir(), 'hh-bench-cli-cwd-'));
  try {
    repoDir = await prepareLedger(db, opts);
    const argsOf: Record<CliCommand, string[]> = {
      'node -e 0': ['-e', '0'],
      'floor script': [floor, db.url],
      'hh-sync --help': [bin, '--help'],
      'fabric list --json': [bin, '--database-url', db.url, 'fabric', 'list', '--json'],
      'drift --json': [bin, '--database-url', db.url, 'drift', FABRIC, '--json'],
    };
    const runs = Object.fromEntries(CLI_COMMANDS.map((c) => [c, [] as number[]])) as Record<CliCommand, number[]>;
    let drift = { total: 0, drifted: 0 };
    for (let round = -1; round < opts.repeat; round++) {
      for (const command of CLI_COMMANDS) {
        const { ms, stdout } = await timeProcess(argsOf[command], cwd);
        checkOutput(command, stdout, opts.objects);
        if (command === 'drift --json') {
          const report = JSON.parse(stdout) as { summary: { total: number; inSync?: number }; resources: unknown[] };
          drift = { total: report.summary.total, drifted: report.resources.length };
        }
        if (round >= 0) runs[command].push(round1(ms)); // round -1 warms the OS's file cache
      }
    }
    const per = (a: CliCommand, b: CliCommand) => runs[a].map((x, i) => Math.round((x / runs[b][i]!) * 100) / 100);
    return {
      objects: opts.objects,
      repeat: opts.repeat,
      database: db.label,
      drift,
      times: Object.fromEntries(CLI_COMMANDS.map((c) => [c, spreadOf(runs[c])])) as Record<CliCommand, CliSpread>,
      roundRatios: {
        fabricList: per('fabric list --json', 'floor script'),
        drift: per('drift --json', 'floor script'),
        help: per('hh-sync --help', 'node -e 0'),
      },
    };
  } finally {
    await db.close().catch(() => undefined);
    if (repoDir) rmSync(repoDir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  }
}

// Run as the runner's child: options in argv as JSON, the result sent back over IPC.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--child') {
  try {
    const result = await benchCli(JSON.parse(process.argv[3]!) as CliBenchOptions);
    process.send!({ ok: true, result });
  } catch (err) {
    process.send!({ ok: false, error: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  }
}
