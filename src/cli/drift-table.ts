/**
 * The drift report for people: a summary line and a table of kind, name, status, severity and the
 * first differing paths with their values (cluster → Git). Pure: report in, text out.
 */
import { DRIFT_STATUSES, type DriftOp, type DriftSeverity, type DriftStatus } from '../drift/types.js';
import type { DriftReport, DriftedResource } from '../sync/drift-report.js';

/** A drift report as the printers accept it: one built by an older caller (or by hand) has no `unreadable`. */
export type PrintableDriftReport = Omit<DriftReport, 'unreadable'> & Partial<Pick<DriftReport, 'unreadable'>>;
import type { Colors } from './cli-output.js';
import { jsonOrString } from '../common/values.js';
import { fitLine, renderTable, truncate, visibleLength } from './text-table.js';
import { shortRef } from './object-ref.js';
import { safeLine, shellArg } from './terminal-text.js';

export interface DriftTableOptions {
  /** Differing paths shown per object (default 3). */
  maxPaths?: number;
  /** Characters of a value shown before "…" (default 40). */
  maxValue?: number;
  /** Display columns every line must fit in (cells cut with "…"); default: no limit. */
  width?: number;
  /** `-o wide`: every differing path, whole values, nothing cut (overrides the three above). */
  wide?: boolean;
}

interface TableSettings {
  maxPaths: number;
  maxValue: number;
  width: number | undefined;
}

function tableSettings(options: DriftTableOptions): TableSettings {
  if (options.wide) return { maxPaths: Infinity, maxValue: Infinity, width: undefined };
  return { maxPaths: options.maxPaths ?? 3, maxValue: options.maxValue ?? 40, width: options.width };
}

const STATUS_WORDS: Record<DriftStatus, string> = {
  in_sync: 'in sync',
  spec_drift: 'spec drift',
  desired_only: 'only in Git',
  actual_only: 'only in cluster',
  creation_pending: 'creation pending',
  deletion_pending: 'deletion pending',
};

/** What an object-level difference (path '') means, by status. */
const WHOLE_OBJECT: Record<DriftStatus, string> = {
  in_sync: '',
  spec_drift: '',
  desired_only: 'declared in Git, missing from the cluster',
  actual_only: 'in the cluster, declared nowhere in Git',
  creation_pending: 'new in Git; the cluster was not read since',
  deletion_pending: 'removed from Git; the cluster was not read since',
};

function severityColor(c: Colors, s: DriftSeverity): (t: string) => string {
  switch (s) {
    case 'critical':
      return (t) => c.bold(c.red(t));
    case 'high':
      return c.red;
    case 'medium':
      return c.yellow;
    case 'low':
      return c.cyan;
    default:
      return c.green;
  }
}

function valueText(v: unknown, max: number): string {
  if (v === undefined) return '∅';
  // JSON escapes C0 controls but not C1 ones (U+0080–U+009F): those are removed.
  return truncate(safeLine(typeof v === 'string' ? JSON.stringify(v) : jsonOrString(v)), max);
}

/** `/spec/subnets/default/vlan: 1000 → 1100` (cluster → Git). */
export function describeDifference(d: DriftOp, status: DriftStatus, maxValue = 40): string {
  if (d.path === '') return WHOLE_OBJECT[status] || (d.op === 'add' ? 'only in Git' : 'only in the cluster');
  // Paths are keys from Git or the cluster (values are JSON, whose escaping already makes them inert).
  const path = safeLine(d.path);
  switch (d.op) {
    case 'replace':
      return `${path}: ${valueText(d.actual, maxValue)} → ${valueText(d.desired, maxValue)}`;
    case 'add':
      return `${path}: missing in cluster (Git: ${valueText(d.desired, maxValue)})`;
    case 'remove':
      return `${path}: not in Git (cluster: ${valueText(d.actual, maxValue)})`;
  }
}

function differencesCell(r: DriftedResource, o: TableSettings, c: Colors): string {
  if (r.differences.length === 0) return r.driftStatus === 'in_sync' ? '' : c.dim('(no details)');
  const shown = r.differences.slice(0, o.maxPaths).map((d) => describeDifference(d, r.driftStatus, o.maxValue));
  const more = r.differences.length - shown.length;
  if (more > 0) shown.push(c.dim(`… ${more} more (-o wide)`));
  return shown.join('\n');
}

/** "59 objects: 56 in sync, 1 spec drift, 1 only in Git, 1 only in cluster". */
export function summaryLine(report: PrintableDriftReport, c: Colors): string {
  const s = report.summary;
  const parts = DRIFT_STATUSES.filter((st) => s.byStatus[st] > 0).map((st) => {
    const text = `${s.byStatus[st]} ${STATUS_WORDS[st]}`;
    return st === 'in_sync' ? c.green(text) : c.yellow(text);
  });
  if (s.unchecked) parts.push(`${s.unchecked} not checked yet`);
  return `${s.total} object${s.total === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/**
 * The title and summary: one line when it fits the width, else the title above the summary (wrapped if need be).
 */
function headLines(report: PrintableDriftReport, c: Colors, width: number | undefined): string[] {
  const title = c.bold(`Drift of fabric ${safeLine(report.fabric)}`);
  const summary = summaryLine(report, c);
  const oneLine = `${title} — ${summary}`;
  if (width === undefined || visibleLength(oneLine) <= width) return [oneLine];
  return [...fitLine(title, width), ...fitLine(summary, width)];
}

/** The whole report: summary line, then the table of drifted objects (or a line saying there is none). */
export function formatDriftReport(report: PrintableDriftReport, c: Colors, options: DriftTableOptions = {}): string {
  const o = tableSettings(options);
  const lines = headLines(report, c, o.width);
  if (report.resources.length === 0) {
    lines.push(
      ...fitLine(
        report.summary.total === 0
          ? `The ledger holds no objects of this fabric yet: run \`hh-sync sync ${shellArg(report.fabric)}\`.`
          : (report.unreadable ?? []).length
            ? 'No object differs as far as the ledger knows (with these filters).'
            : c.green('Nothing to show: no object differs (with these filters).'),
        o.width,
      ),
    );
    return [...lines, ...unreadableLines(report, c, o.width)].join('\n');
  }
  lines.push('', ...driftTable(report.resources, o, c));
  return [...lines, ...unreadableLines(report, c, o.width)].join('\n');
}

/** Kind, (namespace), name, status, severity and differences; NAME and DIFFERENCES are cut first to fit. */
function driftTable(resources: DriftedResource[], o: TableSettings, c: Colors): string[] {
  const showNamespace = resources.some((r) => r.namespace !== 'default');
  const header = [
    'KIND',
    ...(showNamespace ? ['NAMESPACE'] : []),
    'NAME',
    'STATUS',
    'SEVERITY',
    'DIFFERENCES (cluster → Git)',
  ].map((h) => c.dim(h));
  const rows = resources.map((r) => [
    safeLine(r.kind),
    ...(showNamespace ? [safeLine(r.namespace)] : []),
    safeLine(r.name),
    STATUS_WORDS[r.driftStatus],
    severityColor(c, r.driftSeverity)(r.driftSeverity),
    differencesCell(r, o, c),
  ]);
  const name = showNamespace ? 2 : 1;
  return renderTable(header, rows, { width: o.width, shrinkable: [name, header.length - 1] });
}

/** `-o name`: `Kind/name` (`Kind/namespace/name` outside `default`) per object listed, as `draft` commands take them. */
export function driftNames(report: PrintableDriftReport): string {
  return report.resources.map((r) => `${safeLine(shortRef(r))}\n`).join('');
}

/**
 * The footnote naming objects whose current version could not be read: their rows (shown above or not) are as of
 * the last version read, so "no drift" would be a claim the ledger cannot make for them.
 */
function unreadableLines(report: PrintableDriftReport, c: Colors, width?: number): string[] {
  const unreadable = report.unreadable ?? []; // a report built by an older caller has none
  const n = unreadable.length;
  if (n === 0) return [];
  return [
    '',
    ...fitLine(
      c.yellow(`${n} object${n === 1 ? '' : 's'} could not be read (their drift is as of an older version):`),
      width,
    ),
    ...unreadable.flatMap((u) =>
      fitLine(`  ${safeLine(u.kind)} ${safeLine(u.namespace)}/${safeLine(u.name)} — ${safeLine(u.reason)}`, width),
    ),
  ];
}
