/** The work of `hh-sync fabric show <name>` (loaded when it runs). */
import { DRIFT_SEVERITIES, DRIFT_STATUSES } from '../drift/types.js';
import { FabricNotFoundError } from '../fabrics/fabric-not-found.js';
import type { FabricOverview, WatchLeaseState } from '../reads/ledger-reads.js';
import { openReaderFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { Colors, GlobalOptions, Output } from './cli-output.js';
import { describeFabric } from './fabric-actions.js';
import { REPORT_FORMATS, requireFormat } from './output-format.js';
import { runsTable, shownTime } from './reads-actions.js';
import { fabricShowJson } from './reads-json.js';
import { safeLine, shellArg } from './terminal-text.js';

export async function showFabric(name: string, g: GlobalOptions, out: Output, context: CliContext): Promise<number> {
  requireFormat('fabric show', out.format, REPORT_FORMATS);
  const ledger = await openReaderFor(g, out, context);
  let overview: FabricOverview;
  try {
    const fabric = await ledger.fabrics.get(name);
    if (!fabric) throw new FabricNotFoundError(name);
    overview = await ledger.fabricOverview(fabric);
  } finally {
    await ledger.close();
  }
  if (out.structured) out.printData(fabricShowJson(overview));
  else out.result(fabricShowText(overview, out));
  return 0;
}

function fabricShowText(o: FabricOverview, out: Output): string {
  const c = out.c;
  const f = o.fabric;
  const lines = [describeFabric(f, out)];
  const lastSync = f.lastSync ? shownTime(new Date(f.lastSync)) : 'never';
  lines.push(
    `  sync        ${f.syncStatus} · last sync ${lastSync}${f.desiredCommit ? ` · commit ${f.desiredCommit}` : ''}`,
  );
  if (f.lastSyncError) lines.push(`  last error  ${c.yellow(safeLine(f.lastSyncError.split('\n')[0]!))}`);
  lines.push(
    `  rows        ${o.rows.objects} objects, ${o.rows.runs} runs, ${o.rows.transitions} history rows, ${o.rows.crdSchemas} CRD schemas`,
  );
  lines.push(`  drift       ${driftLine(o.drift)}`);
  lines.push(`  watch lease ${leaseLine(o.lease, c)}`);
  lines.push('');
  if (o.lastRuns.length === 0) lines.push(`No runs yet: \`hh-sync sync ${shellArg(f.name)}\` records one.`);
  else {
    lines.push(`Last ${o.lastRuns.length} runs (all of them: \`hh-sync runs ${shellArg(f.name)}\`):`);
    lines.push(...runsTable(o.lastRuns, out));
  }
  return lines.join('\n');
}

/** "58 objects: 57 in_sync, 1 spec_drift · severity: 1 high" — only the counts that are not zero. */
function driftLine(d: FabricOverview['drift']): string {
  if (d.total === 0) return 'no objects';
  const statuses = DRIFT_STATUSES.filter((s) => d.byStatus[s] > 0).map((s) => `${d.byStatus[s]} ${s}`);
  if (d.unchecked) statuses.push(`${d.unchecked} not compared`);
  const severities = DRIFT_SEVERITIES.filter((s) => s !== 'none' && d.bySeverity[s] > 0).map(
    (s) => `${d.bySeverity[s]} ${s}`,
  );
  return `${d.total} objects: ${statuses.join(', ')}${severities.length ? ` · severity: ${severities.join(', ')}` : ''}`;
}

/** Who holds the watch lease; never a holder that is gone (an expired lease says so). */
function leaseLine(l: WatchLeaseState, c: Colors): string {
  if (l.state === 'none') return 'no watch holds the lease';
  if (l.state === 'unknown') return c.dim(`unknown: ${l.reason}`);
  const who = `${safeLine(l.group)} (pid ${l.pid} on ${safeLine(l.host)}, session since ${l.since ? shownTime(l.since) : 'unknown'})`;
  const renewed = l.renewedAt ? `renewed ${shownTime(l.renewedAt)}` : 'never renewed';
  if (l.state === 'held') return `held by ${who}, ${renewed}, expires ${l.expiresAt ? shownTime(l.expiresAt) : '-'}`;
  return c.red(
    `expired: ${who} stopped renewing it (${renewed}); frozen or cut off, another replica may take the fabric over`,
  );
}
