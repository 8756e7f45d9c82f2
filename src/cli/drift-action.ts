/** The work of `hh-sync drift` (loaded when it runs). */
import type { DriftReportFilter } from '../sync/drift-report.js';
import { FabricNotFoundError } from '../fabrics/fabric-not-found.js';
import { openFabricReadsFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT } from './cli-errors.js';
import { driftNames, formatDriftReport } from './drift-table.js';
import { driftJson } from './json-shapes.js';
import { shellArg } from './terminal-text.js';

/** `drift` with its flags checked. */
export async function runDrift(
  name: string,
  filter: DriftReportFilter,
  o: { maxPaths: number; exitCode: boolean },
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const ledger = await openFabricReadsFor(g, out, context);
  try {
    const fabric = await ledger.get(name);
    if (!fabric) throw new FabricNotFoundError(name);
    const report = await ledger.driftReport(fabric, filter);
    if (out.structured) out.printData(driftJson(report));
    else if (out.format === 'name') {
      if (report.resources.length) out.result(driftNames(report));
    } else
      out.result(formatDriftReport(report, out.c, { maxPaths: o.maxPaths, width: out.tableWidth, wide: out.wide }));
    if (report.summary.total === 0 && !fabric.lastSync)
      out.warn(`fabric ${name} was never synced: run \`hh-sync sync ${shellArg(name)}\` first`);
    const drifted = report.resources.filter((r) => r.driftStatus !== 'in_sync').length;
    // A stale row (its object's current version unreadable) is a finding too: the ledger cannot vouch for it.
    return o.exitCode && drifted + report.unreadable.length > 0 ? EXIT.findings : EXIT.ok;
  } finally {
    await ledger.close();
  }
}
