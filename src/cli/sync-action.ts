/** The work of `hh-sync sync` (loaded when it runs). */
import { FabricNotFoundError, otherRefProblem } from '../sync/fabric-sync-service.js';
import type { SyncRunReport } from '../sync/run-recorder.js';
import { openLedgerFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT, UsageError, classifyError, errorJson } from './cli-errors.js';
import type { Ledger } from '../ledger.js';
import type { HedgehogFabric } from '../entities/index.js';
import { shellArg } from './terminal-text.js';
import { summaryLine } from './drift-table.js';
import { onInterrupt } from './interrupt.js';
import { runJson } from './json-shapes.js';
import type { SyncFlags } from './sync-command.js';
import { SyncProgress } from './sync-progress.js';
import {
  describeRun,
  failureLine,
  followRuns,
  partialLine,
  progressLedgerOptions,
  runDirections,
  type Direction,
} from './sync-runner.js';

/** The exit code a set of runs deserves, and the lines explaining it. */
export function runsOutcome(
  reports: SyncRunReport[],
  drifted: number,
  exitCodeFlag: boolean,
): { code: number; failures: string[]; warnings: string[] } {
  const failures = reports.filter((r) => r.status === 'failed').map(failureLine);
  const warnings = reports.filter((r) => r.status === 'partial').map(partialLine);
  if (failures.length) return { code: EXIT.failure, failures, warnings };
  if (exitCodeFlag && (warnings.length || drifted > 0)) return { code: EXIT.findings, failures, warnings };
  return { code: EXIT.ok, failures, warnings };
}

/**
 * True when the fabric names no cluster (no kubeconfig, no context, not in-cluster) and the default
 * kubeconfig cannot be loaded either: a Git-only fabric, whose `sync` reads the desired side only.
 */
function hasNoCluster(ledger: Ledger, fabric: HedgehogFabric): boolean {
  if (fabric.kubeconfigPath || fabric.kubeContext || fabric.inCluster) return false;
  try {
    ledger.sync.kubeConfigFor(fabric);
    return false;
  } catch (err) {
    return (err as Error).name === 'KubeConfigError';
  }
}

/** The directions that can run for this fabric, with a note for one left out (no Git source, no cluster). */
function runnableDirections(ledger: Ledger, fabric: HedgehogFabric, directions: Direction[], out: Output): Direction[] {
  if (directions.length < 2) return directions;
  const name = shellArg(fabric.name);
  if (!fabric.gitRepository) {
    // A cluster-only fabric: nothing to read from Git, and that is not a failure.
    out.info(
      `${fabric.name}: no Git source, reading the cluster only (add one with \`hh-sync fabric set ${name} --git <path-or-url>\`)`,
    );
    return ['actual'];
  }
  if (hasNoCluster(ledger, fabric)) {
    out.info(
      `${fabric.name}: no cluster configured, reading the desired state from Git only (add one with \`hh-sync fabric set ${name} --kubeconfig <path>\`)`,
    );
    return ['desired'];
  }
  return directions;
}

/** `--json`: the run(s) as documented — an array for both directions, one object for one. */
function printRunsJson(out: Output, reports: SyncRunReport[], directions: Direction[]): void {
  if (directions.length > 1) out.printData(reports.map(runJson));
  else if (reports[0]) out.printData(runJson(reports[0]));
  // Interrupted before the one run started: stdout still holds one document.
  else
    out.printData(
      errorJson({ code: EXIT.interrupted, kind: 'interrupted', line: 'interrupted before the run started' }),
    );
}

/** `sync` with its flags checked: `directions` in the order they run (desired first). */
export async function runSync(
  name: string,
  directions: Direction[],
  flags: SyncFlags,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const progress = new SyncProgress(out);
  const ledger = await openLedgerFor(g, out, context, { ledger: progressLedgerOptions(progress) });
  const interrupt = onInterrupt((sig) => {
    progress.stop();
    out.warn(`${sig}: stopping after the current step (press Ctrl-C again to quit at once)`);
  });
  const unfollow = followRuns(ledger, progress);
  const reports: SyncRunReport[] = [];
  try {
    const fabric = await ledger.fabrics.get(name);
    if (!fabric) throw new FabricNotFoundError(name);
    const refProblem = otherRefProblem(fabric, flags.ref);
    if (refProblem) throw new UsageError(refProblem);
    await runDirections(
      ledger,
      fabric,
      runnableDirections(ledger, fabric, directions, out),
      { ref: flags.ref, signal: interrupt.signal },
      reports,
    );
    unfollow();
    const report = await ledger.driftReport(fabric);
    const drifted = report.summary.total - report.summary.byStatus.in_sync - report.summary.unchecked;
    if (out.structured) printRunsJson(out, reports, directions);
    else {
      for (const r of reports) out.result(describeRun(r, out.c, out.verbose, out.wide));
      out.result(
        `drift: ${summaryLine(report, out.c)}${drifted > 0 ? ` — details: hh-sync drift ${shellArg(name)}` : ''}`,
      );
    }
    if (interrupt.received()) {
      out.error(`interrupted by ${interrupt.received()}; the runs above were recorded`);
      return EXIT.interrupted;
    }
    const outcome = runsOutcome(reports, drifted, flags.exitCode === true);
    for (const w of outcome.warnings) out.warn(w);
    for (const f of outcome.failures) out.error(f);
    return outcome.code;
  } catch (err) {
    // The runs done before the failure are recorded: they are printed with it, never lost.
    if (reports.length && !out.wroteStdout) {
      if (out.structured) out.printData({ runs: reports.map(runJson), ...errorJson(classifyError(err)) });
      else for (const r of reports) out.result(describeRun(r, out.c, out.verbose, out.wide));
    }
    throw err;
  } finally {
    unfollow();
    interrupt.dispose();
    // A database that went away mid-run must not replace the run's own error with a close error.
    await ledger.close().catch((err: unknown) => out.debug(`closing the ledger: ${(err as Error).message}`));
  }
}
