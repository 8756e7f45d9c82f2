/** The work of `hh-sync diff` (loaded when it runs): the library's read-only diff, printed. */
import path from 'node:path';
import { FabricNotFoundError } from '../fabrics/fabric-not-found.js';
import { DiffInputError, NoActualStateError, type FabricDiffReport } from '../sync/fabric-diff.js';
import { openLedgerFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT, RuntimeFailure, UsageError } from './cli-errors.js';
import type { DiffRequest } from './diff-command.js';
import { diffNames, formatDiffReport, refusedText } from './diff-table.js';
import { shellArg } from './terminal-text.js';

export async function runDiff(
  name: string,
  request: DiffRequest,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const ledger = await openLedgerFor(g, out, context);
  try {
    const fabric = await ledger.fabrics.get(name);
    if (!fabric) throw new FabricNotFoundError(name);
    const report = await ledger
      .diff(fabric, {
        local: request.local === undefined ? undefined : path.resolve(context.cwd, request.local),
        ref: request.ref,
        live: request.live,
        kinds: request.kinds,
        namespaces: request.namespaces,
      })
      .catch((err: unknown) => {
        throw commandError(err, name, request);
      });
    print(report, request, out);
    for (const e of report.refused) out.warn(`refused ${refusedText(e)}`);
    // An object not compared is not known to be equal: CI must not read "nothing differs" into it.
    const findings = report.summary.differing + report.summary.notCompared + report.refused.length;
    return request.exitCode && findings > 0 ? EXIT.findings : EXIT.ok;
  } finally {
    await ledger.close();
  }
}

function print(report: FabricDiffReport, request: DiffRequest, out: Output): void {
  if (out.structured) out.printData(report);
  else if (out.format === 'name') {
    const names = diffNames(report);
    if (names) out.result(names);
  } else
    out.result(formatDiffReport(report, out.c, { localAsGiven: request.local, wide: out.wide, width: out.tableWidth }));
}

/** The library's refusals as the command's: the flag at fault named (exit 2), a missing actual state with what to do. */
function commandError(err: unknown, fabric: string, request: DiffRequest): unknown {
  if (err instanceof DiffInputError) {
    if (err.option === 'local') return new UsageError(`--local ${request.local}: ${err.message}`);
    if (err.option === 'ref') return new UsageError(`--ref ${request.ref}: ${err.message}`);
    return new UsageError(
      `fabric "${fabric}" has no Git source: give --local <dir>, or set one with \`hh-sync fabric set ${shellArg(fabric)} --git <path-or-url>\``,
    );
  }
  if (err instanceof NoActualStateError)
    return new RuntimeFailure(
      err.message,
      `run \`hh-sync sync ${shellArg(fabric)} --actual\` first, or compare with the cluster now: \`hh-sync diff ${shellArg(fabric)} --live\``,
      { cause: err, kind: 'failure' },
    );
  return err;
}
