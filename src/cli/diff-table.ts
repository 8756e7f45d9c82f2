/**
 * `hh-sync diff` for people: a line saying what was compared with what (and how old the cluster's side is), a
 * summary, one table line per differing object, and what could not be compared. Pure: report in, text out.
 */
import { DRIFT_STATUSES, type DriftStatus } from '../drift/types.js';
import type { DiffOperation, DiffedObject } from '../sync/diff-sides.js';
import type { FabricDiffReport } from '../sync/fabric-diff.js';
import type { Colors } from './cli-output.js';
import { severityColor, valueText } from './drift-table.js';
import { fitLine, renderTable } from './text-table.js';
import { shortRef } from './object-ref.js';
import { safeLine } from './terminal-text.js';

/** Status words of a diff: its desired side may be a local directory, so none says "Git". */
const STATUS_WORDS: Record<DriftStatus, string> = {
  in_sync: 'in sync',
  spec_drift: 'spec drift',
  desired_only: 'missing from cluster',
  actual_only: 'only in cluster',
  creation_pending: 'creation pending',
  deletion_pending: 'deletion pending',
};

/** What an object-level difference (path '') means, by status. */
const WHOLE_OBJECT: Record<DriftStatus, string> = {
  in_sync: '',
  spec_drift: '',
  desired_only: 'declared, missing from the cluster',
  actual_only: 'in the cluster, declared nowhere',
  creation_pending: 'declared, not in the cluster when it was last read',
  deletion_pending: 'no longer declared, in the cluster when it was last read',
};

export interface DiffTableOptions {
  /** How the user named the local directory (shown as given); default the report's absolute path. */
  localAsGiven?: string;
  /** `-o wide`: every difference, values uncut, score and file columns. */
  wide?: boolean;
  /** Columns the table is cut to (NAME and DIFFERENCES first); none: nothing is cut. */
  width?: number;
}

/** "3 min ago", "2 h 5 min ago": the age of the ledger's actual side. */
export function ageText(seconds: number): string {
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** `2026-12-01 23:10:05Z` */
function timeText(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** "local ./fabric vs the cluster as of the last actual sync 3 min ago (2026-12-01 23:10:05Z)" */
export function comparedLine(report: FabricDiffReport, o: DiffTableOptions = {}): string {
  const d = report.desired;
  const desired =
    d.type === 'local'
      ? `local ${safeLine(o.localAsGiven ?? d.directory)}`
      : `ref ${safeLine(d.ref ?? 'HEAD')}${d.commit ? ` (commit ${d.commit.slice(0, 7)})` : ''}${d.path ? ` path ${safeLine(d.path)}` : ''}`;
  const a = report.actual;
  const actual =
    a.type === 'live'
      ? 'the cluster now'
      : `the cluster as of the last actual sync ${ageText(a.ageSeconds)} (${timeText(a.asOf)})`;
  return `${desired} vs ${actual}`;
}

/** `/spec/subnets/default/vlan: 1000 → 1100` (cluster → declared). */
export function describeOperation(d: DiffOperation, status: DriftStatus, maxValue: number): string {
  if (d.path === '') return WHOLE_OBJECT[status] || (d.op === 'add' ? 'declared only' : 'in the cluster only');
  const path = safeLine(d.path);
  switch (d.op) {
    case 'replace':
      return `${path}: ${valueText(d.actual, maxValue)} → ${valueText(d.value, maxValue)}`;
    case 'add':
      return `${path}: missing in cluster (declared: ${valueText(d.value, maxValue)})`;
    case 'remove':
      return `${path}: not declared (cluster: ${valueText(d.actual, maxValue)})`;
  }
}

function differencesCell(r: DiffedObject, wide: boolean, c: Colors): string {
  const maxPaths = wide ? r.differences.length : 3;
  const maxValue = wide ? Number.MAX_SAFE_INTEGER : 40;
  const shown = r.differences.slice(0, maxPaths).map((d) => describeOperation(d, r.status, maxValue));
  const more = r.differences.length - shown.length;
  if (more > 0) shown.push(c.dim(`… ${more} more (-o wide, or -o json)`));
  return shown.length ? shown.join('\n') : c.dim('(no details)');
}

/** "59 objects compared: 57 in sync, 1 spec drift, 1 missing from cluster" */
export function diffSummaryLine(report: FabricDiffReport, c: Colors): string {
  const s = report.summary;
  const parts = DRIFT_STATUSES.filter((st) => s.byStatus[st] > 0).map((st) => {
    const text = `${s.byStatus[st]} ${STATUS_WORDS[st]}`;
    return st === 'in_sync' ? c.green(text) : c.yellow(text);
  });
  if (s.notCompared) parts.push(c.yellow(`${s.notCompared} not compared`));
  return `${s.total} object${s.total === 1 ? '' : 's'} compared${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** The whole report for a terminal. */
export function formatDiffReport(report: FabricDiffReport, c: Colors, o: DiffTableOptions = {}): string {
  const lines = [
    ...fitLine(`${c.bold(`Diff of fabric ${safeLine(report.fabric)}`)}: ${comparedLine(report, o)}`, o.width),
    ...fitLine(diffSummaryLine(report, c), o.width),
  ];
  if (report.objects.length === 0) {
    lines.push(
      report.summary.notCompared || report.refused.length
        ? 'No compared object differs; some could not be compared (below).'
        : c.green('No difference.'),
    );
  } else {
    const wide = o.wide === true;
    const showNamespace = report.objects.some((r) => r.namespace !== 'default');
    const header = [
      'KIND',
      ...(showNamespace ? ['NAMESPACE'] : []),
      'NAME',
      'STATUS',
      'SEVERITY',
      ...(wide ? ['SCORE', 'FILE'] : []),
      'DIFFERENCES (cluster → declared)',
    ].map((h) => c.dim(h));
    const rows = report.objects.map((r) => [
      safeLine(r.kind),
      ...(showNamespace ? [safeLine(r.namespace)] : []),
      safeLine(r.name),
      STATUS_WORDS[r.status],
      severityColor(c, r.severity)(r.severity),
      ...(wide ? [r.score.toFixed(2), r.file ? `${safeLine(r.file)}:${r.line}` : '-'] : []),
      differencesCell(r, wide, c),
    ]);
    const name = showNamespace ? 2 : 1;
    lines.push('', ...renderTable(header, rows, { width: o.width, shrinkable: [name, header.length - 1] }));
  }
  return [...lines, ...notComparedLines(report, c)].join('\n');
}

/** The footnote of what was not compared: refused files and documents, and objects with a side that was not read. */
function notComparedLines(report: FabricDiffReport, c: Colors): string[] {
  const lines: string[] = [];
  if (report.refused.length) {
    lines.push('', c.yellow(`Refused in the desired read (${report.refused.length}):`));
    for (const e of report.refused) lines.push(`  ${refusedText(e)}`);
  }
  if (report.notCompared.length) {
    lines.push('', c.yellow(`Not compared (${report.notCompared.length}):`));
    for (const n of report.notCompared)
      lines.push(`  ${safeLine(n.kind)} ${safeLine(n.namespace)}/${safeLine(n.name)} — ${safeLine(n.reason)}`);
  }
  return lines;
}

/** `vpcs.yaml:3: reason` (or the object's name when the problem has no file). */
export function refusedText(e: FabricDiffReport['refused'][number]): string {
  const where = e.file
    ? `${safeLine(e.file)}${e.line ? `:${e.line}` : ''}`
    : [e.kind, e.namespace, e.name]
        .filter(Boolean)
        .map((s) => safeLine(s!))
        .join('/');
  return `${where}: ${safeLine(e.reason)}`;
}

/** `-o name`: the differing objects as `Kind/name` (`Kind/namespace/name` outside `default`), as `draft` takes them. */
export function diffNames(report: FabricDiffReport): string {
  return report.objects.map((r) => safeLine(shortRef(r))).join('\n');
}
