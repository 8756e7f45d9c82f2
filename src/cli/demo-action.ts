/**
 * `hh-sync demo [--dir D] [--keep]`: the whole job on embedded defaults, with no services.
 *
 * An embedded ledger in a temporary directory, the project's fake Kubernetes API serving a sample
 * spine-leaf fabric, a Git repository holding the same fabric with three deliberate differences (a changed
 * VLAN, an object only in Git, an object only in the cluster), the desired then the actual sync with
 * progress, and the drift report. Everything it started is stopped, and the directory removed unless
 * --keep or --dir says otherwise.
 */
import { mkdtempSync, promises as fs, readdirSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Ledger } from '../ledger.js';
import type { SyncRunReport } from '../sync/run-recorder.js';
import type { DriftReport } from '../sync/drift-report.js';
import type { CliContext } from './cli-context.js';
import { FakeKubeApi } from '../testing/fake-kube-api.js';
import { createGitRepo, git } from '../testing/git-repo.js';
import type { PublishReport } from '../writeback/publish.js';
import type { FabricObject } from '../kinds/index.js';
import { demoClusterFabric, demoGitFabric, toManifestFiles } from '../testing/sample-fabric.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT, UsageError } from './cli-errors.js';
import { formatDriftReport } from './drift-table.js';
import { onInterrupt } from './interrupt.js';
import { driftJson, runJson } from './json-shapes.js';
import { runsOutcome } from './sync-action.js';
import { SyncProgress } from './sync-progress.js';
import { describeRun, followRuns, progressLedgerOptions, runDirections } from './sync-runner.js';
import type { DemoFlags } from './demo-command.js';

const FABRIC = 'demo';
/** Marks a directory as made by the demo, so `--dir` may reuse it and nothing else is overwritten. */
const MARKER = '.hh-sync-demo';

/** The directory to work in: `--dir` (created, or a previous demo's), else a fresh temporary one. */
function workDirectory(flags: DemoFlags, cwd: string): { dir: string; remove: boolean } {
  if (flags.dir === undefined)
    return { dir: mkdtempSync(path.join(os.tmpdir(), 'hh-sync-demo-')), remove: !flags.keep };
  if (flags.dir.trim() === '') throw new UsageError('--dir needs a directory');
  const dir = path.resolve(cwd, flags.dir);
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new UsageError(
        `--dir ${flags.dir}: ${dir} is not empty and not a previous demo directory; give an empty or new directory`,
      );
    }
  } else mkdirSync(dir, { recursive: true });
  return { dir, remove: false };
}

/** The drift tables cut to the terminal's width, or whole with `-o wide`. */
const tableLayout = (out: Output) => ({ width: out.tableWidth, wide: out.wide });

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `demo` with its flags checked. */
export async function runDemo(flags: DemoFlags, g: GlobalOptions, out: Output, context: CliContext): Promise<number> {
  const started = Date.now();
  const { dir, remove } = workDirectory(flags, context.cwd);
  await fs.writeFile(path.join(dir, MARKER), 'created by hh-sync demo\n');
  const c = out.ce;
  const step = (text: string, since?: number) =>
    out.info(`${c.green('✓')} ${text}${since !== undefined ? c.dim(` (${seconds(Date.now() - since)})`) : ''}`);

  const progress = new SyncProgress(out);
  let api: FakeKubeApi | undefined;
  let ledger: Ledger | undefined;
  let opening: Promise<Ledger> | undefined;
  let unfollow = () => {};
  const interrupt = onInterrupt((sig) => {
    progress.stop();
    out.warn(`${sig}: stopping the demo and cleaning up (press Ctrl-C again to quit at once)`);
  });
  try {
    out.info(c.bold(`hh-sync demo — working in ${dir}`));
    // The database's first start (restored from its template, about a second) overlaps with the fake cluster and Git.
    const ledgerStart = Date.now();
    const progressOptions = progressLedgerOptions(progress);
    opening = context.openLedger({
      ...progressOptions,
      // Git clones (publish's own) stay in the demo directory, not under the working directory.
      sync: { ...progressOptions.sync, gitCacheDir: path.join(dir, 'git-cache') },
      dataDir: path.join(dir, 'pgdata'),
      embedded: true,
      logger: out.logger(),
    });
    opening.catch(() => undefined); // awaited below; keeps an early failure of the other steps from leaving it unhandled

    api = new FakeKubeApi();
    const { url, kubeconfig } = await startDemoCluster(api, dir, step);
    const repo = await createDemoRepository(dir, step, out);
    out.info(c.dim('  starting the embedded database …'));
    ledger = await opening;
    step(`embedded ledger in ${path.join(dir, 'pgdata')}`, ledgerStart);
    if (interrupt.received()) {
      out.error(`interrupted by ${interrupt.received()}`);
      return EXIT.interrupted;
    }

    const settings = {
      kubeconfigPath: kubeconfig,
      apiServerUrl: url,
      gitRepository: repo,
      description: 'hh-sync demo: sample spine-leaf fabric on a fake Kubernetes API',
    };
    const fabric = (await ledger.fabrics.update(FABRIC, settings)) ?? (await ledger.fabrics.create(FABRIC, settings));
    step(`fabric "${FABRIC}" added`);

    unfollow = followRuns(ledger, progress);
    const reports = await runDirections(ledger, fabric, ['desired', 'actual'], { signal: interrupt.signal });
    unfollow();
    if (!out.structured) for (const r of reports) out.info(describeRun(r, c));
    const before = await ledger.driftReport(fabric);
    if (!out.structured) out.result(`\n${formatDriftReport(before, out.c, tableLayout(out))}\n\n`);
    const writeBack = await adoptHandMadeObject(ledger, out, step);
    printDemoResult(out, dir, remove, reports, before, writeBack);
    if (interrupt.received()) {
      out.error(`interrupted by ${interrupt.received()}`);
      return EXIT.interrupted;
    }
    const outcome = runsOutcome(reports, 0, false);
    for (const w of outcome.warnings) out.warn(w);
    for (const f of outcome.failures) out.error(f);
    out.info(c.dim(`demo finished in ${seconds(Date.now() - started)}`));
    return outcome.code;
  } finally {
    unfollow();
    interrupt.dispose();
    // Stop everything we started, whatever happened above.
    await ledger
      ?.close()
      .catch((err: unknown) => out.warn(`could not close the embedded ledger: ${(err as Error).message}`));
    // A failure before the database was up: wait for it to finish starting, then close it.
    if (!ledger && opening)
      await opening.then(
        (l) => l.close(),
        () => undefined,
      );
    await api?.stop().catch(() => undefined);
    if (remove)
      await fs
        .rm(dir, { recursive: true, force: true })
        .catch((err: unknown) => out.warn(`could not remove ${dir}: ${(err as Error).message}`));
  }
}

/** The fake Kubernetes API serving the demo fabric, and a kubeconfig for it in the demo directory. */
async function startDemoCluster(
  api: FakeKubeApi,
  dir: string,
  step: (text: string) => void,
): Promise<{ url: string; kubeconfig: string }> {
  const cluster = demoClusterFabric();
  api.load(cluster);
  const url = await api.start();
  const kubeconfig = path.join(dir, 'kubeconfig');
  await fs.writeFile(kubeconfig, api.kubeconfigYaml(), { mode: 0o600 });
  step(`fake Kubernetes API on ${url} serving the demo fabric: ${describeFabric(cluster)}`);
  return { url, kubeconfig };
}

/** The Git repository declaring the demo fabric with its three deliberate differences; returns its path. */
async function createDemoRepository(dir: string, step: (text: string) => void, out: Output): Promise<string> {
  const gitSide = demoGitFabric();
  // The fabric's repository is a bare one, as a Git server holds it: publish pushes to it.
  const seed = path.join(dir, 'fabric-seed');
  const repo = path.join(dir, 'fabric-repo.git');
  await fs.rm(seed, { recursive: true, force: true });
  await fs.rm(repo, { recursive: true, force: true });
  const files = toManifestFiles(gitSide.objects);
  const commit = await createGitRepo(seed, files, { message: 'demo fabric manifests' });
  await git(dir, 'clone', '--quiet', '--bare', seed, repo);
  await fs.rm(seed, { recursive: true, force: true });
  const d = gitSide.differences;
  step(
    `Git repository ${repo}: ${gitSide.objects.length} objects in ${Object.keys(files).length} files (commit ${commit.slice(0, 12)})`,
  );
  out.info(
    out.ce.dim(
      `  deliberate differences: ${d.changedVlan.kind} ${d.changedVlan.name} VLAN ${d.changedVlan.clusterValue} → ${d.changedVlan.gitValue} in Git, ` +
        `${d.onlyInGit.kind} ${d.onlyInGit.name} only in Git, ${d.onlyInCluster.kind} ${d.onlyInCluster.name} only in the cluster`,
    ),
  );
  return repo;
}

interface DemoWriteBack {
  publish: PublishReport;
  desired: SyncRunReport;
  driftAfter: DriftReport;
}

/**
 * Write-back, the other half: the object applied to the cluster by hand is adopted into Git — drafted from what the
 * cluster runs, published to the repository as one commit, read back — and its drift goes away.
 */
async function adoptHandMadeObject(
  ledger: Ledger,
  out: Output,
  step: (text: string, since?: number) => void,
): Promise<DemoWriteBack> {
  const started = Date.now();
  const handMade = demoGitFabric().differences.onlyInCluster;
  const object = demoClusterFabric().find((o) => o.kind === handMade.kind && o.metadata.name === handMade.name)!;
  const { metadata, ...rest } = object;
  await ledger.drafts.apply(FABRIC, { ...rest, metadata: { name: metadata.name } } as unknown as FabricObject, {
    actor: 'demo',
  });
  const publish = await ledger.publish(FABRIC, {
    message: `Adopt ${handMade.kind} ${handMade.name}, applied to the cluster by hand`,
    author: 'hh-sync demo <demo@example.invalid>',
    actor: 'demo',
  });
  const desired = await ledger.sync.syncDesiredState(FABRIC);
  const driftAfter = await ledger.driftReport(FABRIC);
  const file = publish.published[0]?.file ?? '?';
  step(
    `${handMade.kind} ${handMade.name} drafted from the cluster, published to Git as ${publish.commit?.slice(0, 12) ?? '(no commit)'} (${file}) and read back: ${driftAfter.summary.byStatus.in_sync} of ${driftAfter.summary.total} objects in sync now`,
    started,
  );
  if (!out.structured) out.result(`${formatDriftReport(driftAfter, out.c, tableLayout(out))}\n\n`);
  return { publish, desired, driftAfter };
}

/** What to do next, or everything as one JSON document with --json. */
function printDemoResult(
  out: Output,
  dir: string,
  remove: boolean,
  reports: SyncRunReport[],
  report: DriftReport,
  writeBack: DemoWriteBack,
): void {
  if (out.structured) {
    out.printData({
      directory: dir,
      kept: !remove,
      runs: [...reports, writeBack.desired].map(runJson),
      drift: driftJson(report),
      publish: publishJson(writeBack.publish),
      driftAfter: driftJson(writeBack.driftAfter),
    });
  } else {
    out.result(whatNext(dir, remove, out));
  }
}

function publishJson(p: PublishReport): Record<string, unknown> {
  const { run, ...rest } = p;
  return { ...rest, run: runJson(run) };
}

function describeFabric(objs: ReturnType<typeof demoClusterFabric>): string {
  const count = (kind: string) => objs.filter((o) => o.kind === kind).length;
  const switches = objs.filter((o) => o.kind === 'Switch');
  const spines = switches.filter((s) => (s.spec as { role?: string }).role === 'spine').length;
  return `${objs.length} objects (${spines} spines, ${switches.length - spines} leaves, ${count('Server')} servers, ${count('Connection')} connections, ${count('VPC')} VPCs, ${count('VPCAttachment')} attachments, ${count('VPCPeering')} peering${count('VPCPeering') === 1 ? '' : 's'})`;
}

function whatNext(dir: string, removed: boolean, out: Output): string {
  const c = out.c;
  const rows: [string, string][] = [
    removed
      ? ['hh-sync demo --keep', 'keep the demo ledger to explore it afterwards']
      : [
          `hh-sync --data-dir ${path.join(dir, 'pgdata')} drift ${FABRIC} --json`,
          'the kept demo ledger (its fake cluster is gone)',
        ],
    ['hh-sync fabric add <name> --kubeconfig <path> --git <repo>', 'track your own fabric'],
    ['hh-sync sync <name> && hh-sync drift <name> --exit-code', 'read both sides; fail CI on drift'],
    ['hh-sync draft apply <name> -f vpc.yaml && hh-sync publish <name> -m "…"', 'change the fabric through Git'],
    ['hh-sync watch <name> --metrics-port 9464', 'keep it in sync continuously'],
  ];
  const width = Math.max(...rows.map(([cmd]) => cmd.length));
  return [c.bold('What next'), ...rows.map(([cmd, what]) => `  ${cmd.padEnd(width)}   ${c.dim(what)}`)].join('\n');
}
