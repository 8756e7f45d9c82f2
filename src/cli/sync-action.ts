/** The work of `hh-sync sync` (loaded when it runs). */
import { FabricNotFoundError, otherRefProblem } from '../sync/fabric-sync-service.js';
import type { SyncRunReport } from '../sync/run-recorder.js';
import { openLedgerFor } from './cli-ledger.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT, UsageError } from './cli-errors.js';
import { summaryLine } from './drift-table.js';
import { onInterrupt } from './interrupt.js';
import { runJson } from './json-shapes.js';
import type { SyncFlags } from './sync-command.js';
import { SyncProgress } from './sync-progress.js';
import { describeRun, failureLine, followRuns, partialLine, progressLedgerOptions, runDirections, type Direction } from './sync-runner.js';

/** The exit code a set of runs deserves, and the lines explaining it. */
export function runsOutcome(reports: SyncRunReport[], drifted: number, exitCodeFlag: boolean): { code: number; failures: string[]; warnings: string[] } {
  const failures = reports.filter((r) => r.status === 'failed').map(failureLine);
  const warnings = reports.filter((r) => r.status === 'partial').map(partialLine);
  if (failures.length) return { code: EXIT.failure, failures, warnings };
  if (exitCodeFlag && (warnings.length || drifted > 0)) return { code: EXIT.findings, failures, warnings };
  return { code: EXIT.ok, failures, warnings };
}

/** `sync` with its flags checked: `directions` in the order they run (desired first). */
export async function runSync(name: string, directions: Direction[], flags: SyncFlags, g: GlobalOptions, out: Output): Promise<number> {
  const both = directions.length > 1;
  const progress = new SyncProgress(out);
  const ledger = await openLedgerFor(g, out, { ledger: progressLedgerOptions(progress) });
  const interrupt = onInterrupt((sig) => {
    progress.stop();
    out.warn(`${sig}: stopping after the current step (press Ctrl-C again to quit at once)`);
  });
  const unfollow = followRuns(ledger, progress);
  try {
    const fabric = await ledger.fabrics.get(name);
    if (!fabric) throw new FabricNotFoundError(name);
    const refProblem = otherRefProblem(fabric, flags.ref);
    if (refProblem) throw new UsageError(refProblem);
    let run = directions;
    if (both && !fabric.gitRepository) {
      // A cluster-only fabric: nothing to read from Git, and that is not a failure.
      out.info(`${name}: no Git source, reading the cluster only (add one with \`hh-sync fabric set ${name} --git <path-or-url>\`)`);
      run = ['actual'];
    }
    const reports = await runDirections(ledger, fabric, run, { ref: flags.ref, signal: interrupt.signal });
    unfollow();
    const report = await ledger.driftReport(fabric);
    const drifted = report.summary.total - report.summary.byStatus.in_sync - report.summary.unchecked;
    if (out.json) {
      if (directions.length > 1) out.printJson(reports.map(runJson));
      else if (reports[0]) out.printJson(runJson(reports[0]));
    } else {
      for (const r of reports) out.result(describeRun(r, out.c, out.verbose));
      out.result(`drift: ${summaryLine(report, out.c)}${drifted > 0 ? ` — details: hh-sync drift ${name}` : ''}`);
    }
    if (interrupt.received) {
      out.error(`interrupted by ${interrupt.received}; the runs above were recorded`);
      return EXIT.interrupted;
    }
    const outcome = runsOutcome(reports, drifted, flags.exitCode === true);
    for (const w of outcome.warnings) out.warn(w);
    for (const f of outcome.failures) out.error(f);
    return outcome.code;
  } finally {
    unfollow();
    interrupt.dispose();
    await ledger.close();
  }
}

