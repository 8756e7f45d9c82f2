/**
 * Running sync directions for the CLI (`sync` and `demo`): desired first, then actual — so the drift
 * left at the end was computed against a cluster read made after the Git read — with progress, one
 * result line per run, and the exit code the runs deserve.
 */
import type { HedgehogFabric } from '../entities/index.js';
import type { Ledger, LedgerOptions } from '../ledger.js';
import type { RunType, SyncRunReport } from '../sync/run-recorder.js';
import type { Colors } from './cli-output.js';
import { SyncProgress } from './sync-progress.js';
import { DATABASE_CONNECTION_HINT, databaseHint, type DatabaseFailureKind } from '../sync/error-text.js';
import { safeLine, shellArg } from './terminal-text.js';
import { MAX_OTHER_KIND_FILES } from '../gitops/desired-state-reader.js';

export type { Direction } from './sync-command.js';
import type { Direction } from './sync-command.js';

/** Ledger options that feed the cluster reader's pages into `progress`. */
export function progressLedgerOptions(progress: SyncProgress): Pick<LedgerOptions, 'sync'> {
  return { sync: { reader: { onPage: (kind, count) => progress.page(kind.kind, count) } } };
}

/** Subscribes `progress` to the service's events; returns the unsubscribe function. */
export function followRuns(ledger: Ledger, progress: SyncProgress): () => void {
  const onStart = (e: { fabric: string; type: RunType }) => progress.runStarted(e.fabric, e.type);
  const onEnd = () => progress.runEnded();
  const onResource = () => progress.objectWritten();
  ledger.sync.on('run:start', onStart);
  ledger.sync.on('run:end', onEnd);
  ledger.sync.on('resource', onResource);
  return () => {
    ledger.sync.off('run:start', onStart);
    ledger.sync.off('run:end', onEnd);
    ledger.sync.off('resource', onResource);
    progress.stop();
  };
}

export async function runDirections(
  ledger: Ledger,
  fabric: HedgehogFabric,
  directions: readonly Direction[],
  opts: { ref?: string; signal?: AbortSignal },
  /** Receives each report as its run ends, so a caller still has the earlier runs when a later one throws. */
  reports: SyncRunReport[] = [],
): Promise<SyncRunReport[]> {
  for (const d of directions) {
    if (opts.signal?.aborted) break;
    reports.push(
      d === 'desired'
        ? await ledger.sync.syncDesiredState(fabric, { ref: opts.ref })
        : await ledger.sync.syncActualState(fabric, { signal: opts.signal }),
    );
  }
  return reports;
}

const MAX_ERRORS_SHOWN = 10;

function seconds(r: SyncRunReport): string {
  if (!r.finishedAt) return '';
  return `${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)} s`;
}

/** The lines a person reads for one run (stdout); `verbose` adds the files behind the summaries. */
export function describeRun(r: SyncRunReport, c: Colors, verbose = false, wide = false): string {
  const mark = r.status === 'failed' ? c.red('✗') : r.status === 'completed' ? c.green('✓') : c.yellow('!');
  const status =
    r.status === 'completed' ? c.green(r.status) : r.status === 'partial' ? c.yellow(r.status) : c.red(r.status);
  const n = r.counts;
  const counts = `${n.listed} listed, ${n.created} created, ${n.updated} updated, ${n.unchanged} unchanged, ${n.cleared} cleared, ${n.failed} failed`;
  const extra = [r.commit ? `commit ${r.commit.slice(0, 12)}` : '', seconds(r)].filter(Boolean).join(', ');
  const lines = [`${mark} ${r.type.padEnd(7)} ${status}  ${counts}${extra ? c.dim(`  (${extra})`) : ''}`];
  // Names, files and reasons come from Git content or the cluster: made inert before printing.
  if (r.status === 'failed' && r.errorMessage) lines.push(`    ${c.red(safeLine(r.errorMessage.split('\n')[0]!))}`);
  for (const [reason, kinds] of groupSkipped(r))
    lines.push(c.dim(`    skipped ${kinds.join(', ')}: ${safeLine(reason)}`));
  lines.push(...schemaLines(r, c), ...otherKindLines(r, c, verbose || wide));
  // `-o wide` lists every problem; the table stops at MAX_ERRORS_SHOWN.
  const shown = wide ? r.errors.length : MAX_ERRORS_SHOWN;
  for (const e of r.errors.slice(0, shown)) {
    const where = e.file ? `${e.file}${e.line ? `:${e.line}` : ''} ` : '';
    const what = e.kind ? `${e.kind}${e.name ? ` ${e.namespace ? `${e.namespace}/` : ''}${e.name}` : ''}: ` : '';
    lines.push(`    ${c.yellow(safeLine(`${where}${what}`))}${safeLine(e.reason)}`);
  }
  if (r.errors.length > shown)
    lines.push(c.dim(`    … ${r.errors.length - shown} more (-o wide or --json lists them all)`));
  return lines.join('\n');
}

/** Where the CRD schemas of a desired run came from, and the kinds it had none for; said loudly when any went unchecked. */
function schemaLines(r: SyncRunReport, c: Colors): string[] {
  if (r.type !== 'desired' || r.status === 'failed') return [];
  const source = r.details.schemaSource;
  if (source === 'none') {
    const problem = typeof r.details.schemaProblem === 'string' ? r.details.schemaProblem : undefined;
    const why = problem
      ? `the last actual sync could not read the CRDs: ${safeLine(problem)}; fix that, or set --crds`
      : 'run an actual sync, or set --crds';
    return [c.yellow(`    schemas: none known, documents were NOT checked against the CRD schemas (${why})`)];
  }
  const against = SCHEMA_SOURCES[String(source)];
  if (!against) return [];
  const checked = stringList(r.details.schemaChecked);
  const unchecked = stringList(r.details.schemaUnchecked);
  if (unchecked.length === 0) return [c.dim(`    schemas: checked against ${against}`)];
  const them = unchecked.length === 1 ? 'it' : 'them';
  const line = checked.length
    ? `checked against ${against}; NOT checked: ${unchecked.join(', ')} (no CRD schema for ${them})`
    : `NOT checked: ${unchecked.join(', ')} (no CRD schema for ${them} in ${against})`;
  return [c.yellow(`    schemas: ${line}`)];
}

const SCHEMA_SOURCES: Record<string, string> = {
  'crds-dir': "the fabric's CRD directory (--crds)",
  cluster: 'the CRD schemas this process read from the cluster',
  stored: 'the CRD schemas last read from the cluster',
};

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map(safeLine) : [];
}

/** Documents of kinds the ledger does not track: counted by kind, with their files under --verbose. */
function otherKindLines(r: SyncRunReport, c: Colors, verbose: boolean): string[] {
  const kinds = Object.entries(r.otherKinds);
  if (kinds.length === 0) return [];
  const total = kinds.reduce((n, [, count]) => n + count, 0);
  const lines = [
    c.dim(
      `    not tracked (${total} document${total === 1 ? '' : 's'} of other kinds): ${kinds.map(([k, n]) => `${k} ×${n}`).join(', ')}`,
    ),
  ];
  const files = r.details.otherKindFiles ?? {};
  for (const [k] of verbose ? kinds : []) {
    const listed = files[k] ?? [];
    lines.push(
      c.dim(
        safeLine(
          `      ${k}: ${listed.join(', ')}${listed.length >= MAX_OTHER_KIND_FILES ? `, … (the first ${MAX_OTHER_KIND_FILES} files)` : ''}`,
        ),
      ),
    );
  }
  return lines;
}

/** Skipped kinds grouped by reason (discovery fails per API group: one line per group, not per kind). */
function groupSkipped(r: SyncRunReport): Map<string, string[]> {
  const byReason = new Map<string, string[]>();
  for (const s of r.skippedKinds) {
    const list = byReason.get(s.reason) ?? [];
    list.push(s.kind);
    byReason.set(s.reason, list);
  }
  return byReason;
}

/** A report as the one-line summaries read it: one assembled by hand (or by an older caller) may lack counts or details. */
type LenientRunReport = Omit<SyncRunReport, 'counts' | 'details'> & {
  counts?: Partial<SyncRunReport['counts']>;
  details?: SyncRunReport['details'];
};

/** Whose fault a failed run was, as the run envelope recorded it (details.failure.source, and .database for a database failure). */
function failureOf(r: LenientRunReport): { source?: string; database?: DatabaseFailureKind } {
  return (r.details?.failure as { source?: string; database?: DatabaseFailureKind } | undefined) ?? {};
}

/** What to do about a failed run's database failure: a lock wait says it itself; only a lost server gets "is PostgreSQL running". */
function databaseRunHint(kind: DatabaseFailureKind | undefined): string {
  const hint = kind === undefined || kind === 'connection' ? DATABASE_CONNECTION_HINT : databaseHint(kind);
  return hint ? `${hint}; nothing of this run was stored` : 'nothing of this run was stored';
}

/** What to do about a failed run, in one line; the hint follows whose fault it was (never "check the cluster" for a database error). */
export function failureLine(r: SyncRunReport): string {
  const reason = safeLine((r.errorMessage ?? 'unknown error').split('\n')[0]!);
  const fabric = shellArg(r.fabric);
  const badRef = /^ref '.*' is not a branch, tag or commit/.test(reason);
  const failure = failureOf(r);
  const hints: Record<string, string> = {
    git: badRef
      ? `check the fabric's ref with \`hh-sync fabric list\` (change it with \`hh-sync fabric set ${fabric} --ref <branch|tag|commit>\`)`
      : `check the Git source with \`hh-sync fabric list\` (change it with \`hh-sync fabric set ${fabric} --git …\`)`,
    cluster: `check that the cluster is reachable with the fabric's kubeconfig (\`hh-sync fabric set ${fabric} --kubeconfig … --context …\`)`,
    database: databaseRunHint(failure.database),
  };
  const hint = hints[failure.source ?? (badRef ? 'git' : '')] ?? 'run again with --verbose for details';
  return `${r.type} sync of fabric ${safeLine(r.fabric)} failed: ${reason}${reason.includes('hh-sync ') ? '' : `; ${hint}`}`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * The line saying a run was only partly done. It names the same number as the run line's "N failed" (objects
 * refused, counts.failed) and, when they differ, how many messages say why: one message may cover several
 * refused objects (a duplicate declared 4 times), and one object may have several (schema problems).
 */
export function partialLine(r: LenientRunReport): string {
  const refused = r.counts?.failed ?? 0;
  const messages = plural(r.errors.length, 'problem', 'problems');
  const objects = plural(refused, 'object refused', 'objects refused');
  const what =
    refused === 0 || refused === r.errors.length
      ? `${messages} (listed above)`
      : `${objects}; ${messages} listed above`;
  return `${r.type} sync of fabric ${safeLine(r.fabric)} was partial: ${what}; everything else was stored`;
}
