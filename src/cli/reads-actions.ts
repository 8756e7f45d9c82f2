/** The work of `hh-sync runs`, `hh-sync history` and `hh-sync get` (loaded when one of them runs). */
import { FabricNotFoundError } from '../fabrics/fabric-not-found.js';
import type { LedgerReader } from '../ledger-reader.js';
import type { LedgerObject, ObjectHistoryEntry, RunRecord } from '../reads/ledger-reads.js';
import { openReaderFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { Colors, GlobalOptions, Output } from './cli-output.js';
import { UsageError } from './cli-errors.js';
import type { ObjectRef } from './object-ref.js';
import { shortRef } from './object-ref.js';
import { OBJECT_FORMATS, REPORT_FORMATS, requireFormat } from './output-format.js';
import type { GetQuery, RunsQuery } from './reads-command.js';
import { historyJson, objectJson, runRecordJson, type ObjectListJson, type RunsJson } from './reads-json.js';
import { safeLine, shellArg } from './terminal-text.js';
import { renderTable, truncate } from './text-table.js';

/** A time as the tables show it: UTC to the second. */
export function shownTime(d: Date): string {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** 850ms, 12.3s, 4m05s, 2h03m. */
export function shownDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The reader for a command naming a fabric: FabricNotFoundError (exit 2) when the ledger has none of that name. */
async function withFabric<T>(
  name: string,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
  work: (ledger: LedgerReader) => Promise<T>,
): Promise<T> {
  const ledger = await openReaderFor(g, out, context);
  try {
    if (!(await ledger.fabrics.get(name))) throw new FabricNotFoundError(name);
    return await work(ledger);
  } finally {
    await ledger.close();
  }
}

// ---------------------------------------------------------------- runs

/** A run's STATUS cell: the recorded status, or for one in progress whether it still is. */
function runStatus(r: RunRecord, c: Colors): string {
  if (r.status === 'completed') return c.green('completed');
  if (r.status === 'failed') return c.red('failed');
  if (r.status === 'partial') return c.yellow('partial');
  if (r.progress === 'running') return c.cyan('running');
  if (r.progress === 'abandoned') return c.red('abandoned');
  return c.yellow(r.status === 'in_progress' ? 'in_progress?' : r.status);
}

/** A run's DURATION cell: how long it took, or has been running; none for an abandoned run. */
function runDuration(r: RunRecord): string {
  if (r.durationMs === null) return '-';
  if (r.progress === 'unknown') return `${shownDuration(r.durationMs)}?`;
  return r.progress === 'running' ? `${shownDuration(r.durationMs)}…` : shownDuration(r.durationMs);
}

/** A run's ERROR cell: why it failed, or its first object error with how many there were; one line. */
function runError(r: RunRecord): string {
  if (r.progress === 'abandoned')
    return 'abandoned: no process holds the fabric; the next sync (or watch) records it as failed';
  const first = r.errorMessage ?? r.errors[0]?.reason;
  if (!first) return '';
  const objects = r.errors.length > 1 ? ` (+${r.errors.length - 1} more object errors)` : '';
  return `${safeLine(first.split('\n')[0]!)}${objects}`;
}

/**
 * The run table of `runs` and `fabric show` (`-o wide`: more columns, nothing cut). Not fitted to the terminal's
 * width: its columns are times and counts, which a cut would make wrong; only ERROR is cut (80 characters).
 */
export function runsTable(runs: readonly RunRecord[], out: Output): string[] {
  const { c, wide } = out;
  const header = ['ID', 'TYPE', 'STATUS', 'STARTED', 'DURATION', 'LISTED', 'CREATED', 'UPDATED', 'CLEARED', 'FAILED'];
  if (wide) header.push('UNCHANGED', 'FINISHED', 'COMMIT');
  header.push('ERROR');
  const rows = runs.map((r) => {
    const row = [
      String(r.id),
      r.type,
      runStatus(r, c),
      shownTime(r.startedAt),
      runDuration(r),
      String(r.counts.listed),
      String(r.counts.created),
      String(r.counts.updated),
      String(r.counts.cleared),
      String(r.counts.failed),
    ];
    if (wide) row.push(String(r.counts.unchanged), r.finishedAt ? shownTime(r.finishedAt) : '-', r.commit ?? '-');
    const error = runError(r);
    row.push(wide ? error : truncate(error, 80));
    return row;
  });
  return renderTable(
    header.map((h) => c.dim(h)),
    rows,
  );
}

export async function listRuns(
  fabric: string,
  query: RunsQuery,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  requireFormat('runs', out.format, REPORT_FORMATS);
  const runs = await withFabric(fabric, g, out, context, (ledger) => ledger.runs(fabric, query));
  if (out.structured) {
    out.printData({ fabric, runs: runs.map(runRecordJson) } satisfies RunsJson);
    return 0;
  }
  if (runs.length === 0) {
    const filtered = query.type || query.status;
    out.result(
      filtered
        ? `No runs of fabric ${fabric} match the filters.`
        : `No runs recorded for fabric ${fabric} yet: \`hh-sync sync ${shellArg(fabric)}\` records one.`,
    );
    return 0;
  }
  out.result(runsTable(runs, out).join('\n'));
  return 0;
}

// ---------------------------------------------------------------- history

function transitionReason(e: ObjectHistoryEntry): string {
  const uids =
    e.context.oldUid || e.context.newUid ? ` (uid ${e.context.oldUid ?? '?'} → ${e.context.newUid ?? '?'})` : '';
  return safeLine(`${e.reason}${uids}`);
}

export async function showHistory(
  fabric: string,
  ref: ObjectRef,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  requireFormat('history', out.format, REPORT_FORMATS);
  const history = await withFabric(fabric, g, out, context, (ledger) => ledger.history(fabric, ref));
  if (history.entries.length === 0) {
    throw new UsageError(
      `fabric ${fabric} has no history of ${shortRef(ref)}: the ledger never held it (list what it holds with \`hh-sync get ${shellArg(fabric)} ${ref.kind.toLowerCase()}\`)`,
    );
  }
  if (out.structured) {
    out.printData(historyJson(fabric, history));
    return 0;
  }
  const c = out.c;
  const last = history.entries[history.entries.length - 1]!;
  const where = history.present
    ? 'in the ledger'
    : last.to === 'deleted'
      ? `deleted from the ledger ${shownTime(last.at)}`
      : 'no longer in the ledger';
  out.result(`${c.bold(shortRef(ref))} in fabric ${fabric}: ${where}`);
  const rows = history.entries.map((e) => [
    shownTime(e.at),
    e.from ?? '(new)',
    e.to === 'deleted' ? c.red(e.to) : e.to,
    e.trigger,
    e.runId === null ? '-' : `${e.runId}${e.runType ? ` ${e.runType}` : ''}`,
    e.commit ? (out.wide ? e.commit : e.commit.slice(0, 12)) : '-',
    out.wide ? transitionReason(e) : truncate(transitionReason(e), 80),
  ]);
  out.result(
    renderTable(
      ['WHEN', 'FROM', 'TO', 'TRIGGER', 'RUN', 'COMMIT', 'REASON'].map((h) => c.dim(h)),
      rows,
    ).join('\n'),
  );
  return 0;
}

// ---------------------------------------------------------------- get

function driftCell(o: LedgerObject): string {
  const status = o.drift.status ?? 'unchecked';
  return o.lastSyncError ? `${status} (stale)` : status;
}

function objectsTable(objects: readonly LedgerObject[], out: Output): string[] {
  const { c, wide } = out;
  const header = ['KIND', 'NAMESPACE', 'NAME', 'STATE', 'DRIFT', 'SEVERITY'];
  if (wide) header.push('COMMIT', 'FILE', 'CLUSTER VERSION', 'LAST SEEN', 'DRAFT');
  const rows = objects.map((o) => {
    const row = [
      o.kind,
      safeLine(o.namespace),
      safeLine(o.name),
      o.state,
      o.drift.status === 'in_sync' && !o.lastSyncError ? c.green(driftCell(o)) : driftCell(o),
      o.drift.severity,
    ];
    if (wide) {
      const file = o.desired.file ? `${o.desired.file}${o.desired.line !== null ? `:${o.desired.line}` : ''}` : '-';
      row.push(
        o.desired.commit ?? '-',
        safeLine(file),
        o.actual.resourceVersion ?? '-',
        // Only an object the cluster has was seen there (a row's cluster side is also written when found absent).
        o.actual.spec !== null && o.actual.updatedAt ? shownTime(o.actual.updatedAt) : '-',
        o.draft ?? '-',
      );
    }
    return row;
  });
  return renderTable(
    header.map((h) => c.dim(h)),
    rows,
    // Fitted to the terminal like `drift`'s table: NAME is narrowed first.
    { width: out.tableWidth, shrinkable: [2] },
  );
}

export async function getObjects(
  fabric: string,
  query: GetQuery,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  requireFormat('get', out.format, OBJECT_FORMATS);
  const objects = await withFabric(fabric, g, out, context, (ledger) =>
    ledger.objects(fabric, { kind: query.kind, name: query.name, namespaces: query.namespaces }),
  );
  if (query.single) {
    const what = `${query.kind}/${query.name}${query.namespaces ? ` in namespace ${query.namespaces[0]}` : ''}`;
    if (objects.length === 0)
      throw new UsageError(
        `fabric ${fabric} holds no ${what} (list what it holds with \`hh-sync get ${shellArg(fabric)} ${query.kind!.toLowerCase()}\`)`,
      );
    if (objects.length > 1)
      throw new UsageError(
        `${query.kind}/${query.name} is in namespaces ${objects.map((o) => o.namespace).join(', ')} of fabric ${fabric}: name one with -n or ${query.kind}/<namespace>/${query.name}`,
      );
  }
  if (out.structured) {
    if (query.single) out.printData(objectJson(objects[0]!));
    else out.printData({ fabric, items: objects.map(objectJson) } satisfies ObjectListJson);
    return 0;
  }
  if (out.format === 'name') {
    if (objects.length) out.result(objects.map((o) => safeLine(shortRef(o))).join('\n'));
    return 0;
  }
  if (objects.length === 0) {
    out.result(`No objects in fabric ${fabric}${query.kind || query.namespaces ? ' match' : ' yet'}.`);
    return 0;
  }
  out.result(objectsTable(objects, out).join('\n'));
  return 0;
}
