/** The work of `hh-sync draft apply|delete|discard|diff` and `hh-sync drafts` (loaded when one of them runs). */
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Draft, DraftCallResult } from '../drafts/drafts.js';
import type { Ledger } from '../ledger.js';
import { keyOf, type ObjectError } from '../observations.js';
import type { DriftOp } from '../drift/types.js';
import { openLedgerFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT, UsageError } from './cli-errors.js';
import type { DraftApplyFlags, DraftDiscardFlags } from './draft-command.js';
import { draftDiff, formatDraftDiffs } from './draft-diff.js';
import { draftCallJson, draftDiffJson, draftListJson } from './json-shapes.js';
import { resourceName, shortRef, type ObjectRef } from './object-ref.js';
import { fitLine, renderTable } from './text-table.js';
import { safeLine, shellArg } from './terminal-text.js';

/** The name stdin is reported under in problems (`<stdin>:3: …`). */
export const STDIN_NAME = '<stdin>';

/** `--actor`, else the OS user name (an account without a passwd entry has none: then no actor is recorded). */
export function actorOf(given: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (given !== undefined) {
    if (given.trim() === '') throw new UsageError('--actor must not be empty');
    return given.trim();
  }
  try {
    return os.userInfo().username || undefined;
  } catch {
    return env.USER || env.LOGNAME || undefined;
  }
}

/** The text of `-f <file>` (relative to the working directory) or of stdin for `-f -`, and its name for problems. */
export async function readDraftInput(
  filename: string,
  context: Pick<CliContext, 'cwd' | 'stdin'>,
  note: (text: string) => void = () => {},
): Promise<{ text: string; source: string }> {
  if (filename === '-') {
    // Like kubectl, a terminal on stdin is read until Ctrl-D; say so rather than seem to hang.
    if ((context.stdin as { isTTY?: boolean }).isTTY) note('reading YAML from stdin (end with Ctrl-D)');
    const chunks: Buffer[] = [];
    for await (const chunk of context.stdin)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return { text: Buffer.concat(chunks).toString('utf8'), source: STDIN_NAME };
  }
  if (filename.trim() === '') throw new UsageError('-f needs a file name, or - for stdin');
  const abs = path.resolve(context.cwd, filename);
  const info = await stat(abs).catch(() => null);
  if (!info) throw new UsageError(`-f ${filename}: ${abs} does not exist`);
  if (info.isDirectory()) throw new UsageError(`-f ${filename}: ${abs} is a directory, not a file`);
  return { text: await readFile(abs, 'utf8'), source: filename };
}

/** Opens the ledger, runs `work`, closes it. */
async function withLedger(
  g: GlobalOptions,
  out: Output,
  context: CliContext,
  work: (ledger: Ledger) => Promise<number>,
): Promise<number> {
  const ledger = await openLedgerFor(g, out, context);
  try {
    return await work(ledger);
  } finally {
    await ledger.close();
  }
}

/** A call whose every object was refused throws DraftRefusedError: here it is the same result with nothing done. */
async function draftCall(fabric: string, call: () => Promise<DraftCallResult>): Promise<DraftCallResult> {
  try {
    return await call();
  } catch (err) {
    if ((err as Error | null)?.name !== 'DraftRefusedError') throw err;
    return { fabric, results: [], refused: [...(err as Error & { refused: ObjectError[] }).refused] };
  }
}

type CallKind = 'apply' | 'delete' | 'discard';

function outcomeWords(kind: CallKind, r: DraftCallResult['results'][number]): string {
  if (r.outcome === 'unchanged') return kind === 'apply' ? 'unchanged (already so)' : 'unchanged';
  if (r.outcome === 'discarded')
    return kind === 'delete' ? 'draft discarded (Git does not declare it)' : 'draft discarded';
  return `${kind === 'delete' ? 'deletion drafted' : 'drafted'} (${r.outcome})`;
}

/** `file:line Kind/name: reason`, as much of it as is known. */
export function refusedLine(e: ObjectError): string {
  const where = e.file ? `${e.file}${e.line ? `:${e.line}` : ''}` : '';
  const what = !e.kind
    ? ''
    : e.name
      ? shortRef({ kind: e.kind, namespace: e.namespace ?? 'default', name: e.name })
      : e.kind;
  const head = [where, what].filter(Boolean).join(' ');
  return `${head ? `${head}: ` : ''}refused: ${e.reason}`;
}

/** Prints a draft call's result; exit 1 when anything was refused (left out), else 0. */
function reportCall(kind: CallKind, result: DraftCallResult, out: Output): number {
  if (out.structured) out.printData(draftCallJson(result));
  else if (out.format === 'name') {
    if (result.results.length) out.result(result.results.map((r) => safeLine(shortRef(r))).join('\n'));
  } else {
    for (const r of result.results) out.result(`${safeLine(resourceName(r))} ${outcomeWords(kind, r)}`);
    if (result.results.length === 0 && result.refused.length === 0) out.result('No drafts to discard.');
  }
  for (const e of result.refused) out.error(refusedLine(e));
  if (result.refused.length && !out.structured)
    out.info(
      `${result.refused.length} object(s) left out; the others above were ${kind === 'discard' ? 'discarded' : 'drafted'}`,
    );
  return result.refused.length ? EXIT.findings : EXIT.ok;
}

export async function applyDrafts(
  fabric: string,
  flags: DraftApplyFlags,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const actor = actorOf(flags.actor, context.env);
  const { text, source } = await readDraftInput(flags.filename, context, (t) => out.info(t));
  return withLedger(g, out, context, async (ledger) => {
    const result = await draftCall(fabric, () => ledger.drafts.apply(fabric, text, { actor, source }));
    return reportCall('apply', result, out);
  });
}

export async function deleteDrafts(
  fabric: string,
  refs: ObjectRef[],
  flags: { actor?: string },
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const actor = actorOf(flags.actor, context.env);
  return withLedger(g, out, context, async (ledger) => {
    const result = await draftCall(fabric, () => ledger.drafts.delete(fabric, refs, { actor }));
    return reportCall('delete', result, out);
  });
}

export async function discardDrafts(
  fabric: string,
  refs: ObjectRef[] | 'all',
  flags: DraftDiscardFlags,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const actor = actorOf(flags.actor, context.env);
  return withLedger(g, out, context, async (ledger) => {
    const result = await draftCall(fabric, () => ledger.drafts.discard(fabric, refs, { actor }));
    return reportCall('discard', result, out);
  });
}

const when = (d: Date | null): string =>
  d
    ? new Date(d)
        .toISOString()
        .replace('T', ' ')
        .replace(/:\d\d\.\d+Z$/, '')
    : '-';

/** How the drafts table is laid out: cut to a width (default: none), or `-o wide` with its extra columns. */
export interface DraftListLayout {
  width?: number;
  wide?: boolean;
}

/** The drafts as a table cut to the terminal's width, and a line on what to do about conflicts. */
export function formatDraftList(fabric: string, drafts: Draft[], c: Output['c'], layout: DraftListLayout = {}): string {
  if (drafts.length === 0) return `No drafts in fabric ${safeLine(fabric)}.`;
  const rows = drafts.map((d) => [
    safeLine(shortRef(d)),
    d.operation,
    d.conflictStatus === 'detected' ? c.red('CONFLICT') : d.conflictStatus === 'none' ? '-' : d.conflictStatus,
    when(d.updated),
    safeLine(d.updatedBy ?? '-'),
    ...(layout.wide
      ? [safeLine(d.desiredFilePath ?? '-'), d.base.commit ? d.base.commit.slice(0, 12) : '-', d.effectiveSyncDirection]
      : []),
  ]);
  const header = [
    'OBJECT',
    'OP',
    'CONFLICT',
    'UPDATED (UTC)',
    'BY',
    ...(layout.wide ? ['FILE', 'BASE', 'DIRECTION'] : []),
  ];
  const lines = renderTable(
    header.map((h) => c.dim(h)),
    rows,
    { width: layout.wide ? undefined : layout.width, shrinkable: [0, 4] },
  );
  const deletes = drafts.filter((d) => d.operation === 'delete').length;
  lines.push('', `${drafts.length} draft(s): ${drafts.length - deletes} to apply, ${deletes} to delete`);
  const conflicts = drafts.filter((d) => d.conflictStatus === 'detected').length;
  if (conflicts)
    lines.push(
      ...fitLine(
        c.yellow(
          `${conflicts} in conflict with Git: see \`hh-sync draft diff ${shellArg(fabric)}\`; publish with --strategy ours|theirs, or discard them`,
        ),
        layout.wide ? undefined : layout.width,
      ),
    );
  return lines.join('\n');
}

/** `drafts`: the fabric's drafts, those in `namespaces` when given (-n). */
export async function listDrafts(
  fabric: string,
  namespaces: string[] | undefined,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  return withLedger(g, out, context, async (ledger) => {
    const drafts = (await ledger.drafts.list(fabric)).filter((d) => !namespaces || namespaces.includes(d.namespace));
    if (out.structured) out.printData(draftListJson(fabric, drafts));
    else if (out.format === 'name') {
      if (drafts.length) out.result(drafts.map((d) => safeLine(shortRef(d))).join('\n'));
    } else out.result(formatDraftList(fabric, drafts, out.c, { width: out.tableWidth, wide: out.wide }));
    return EXIT.ok;
  });
}

/** The drift differences of the drafted objects (those whose drift was computed), by key. */
async function driftOf(ledger: Ledger, fabric: string, drafts: Draft[]): Promise<Map<string, DriftOp[]>> {
  if (drafts.length === 0) return new Map();
  const kinds = [...new Set(drafts.map((d) => d.kind))];
  const report = await ledger.driftReport(fabric, { kind: kinds, includeInSync: true });
  return new Map(report.resources.map((r) => [keyOf(r), r.differences]));
}

/** `draft diff`: every draft, or the named ones (one that holds no draft is reported, exit 1). */
export async function diffDrafts(
  fabric: string,
  refs: ObjectRef[],
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  return withLedger(g, out, context, async (ledger) => {
    let drafts: Draft[];
    const missing: ObjectRef[] = [];
    if (refs.length === 0) drafts = await ledger.drafts.list(fabric);
    else {
      drafts = [];
      for (const ref of refs) {
        const d = await ledger.drafts.get(fabric, ref);
        if (d) drafts.push(d);
        else missing.push(ref);
      }
    }
    const drift = await driftOf(ledger, fabric, drafts);
    const diffs = drafts.map((d) => draftDiff(d, drift.get(keyOf(d))));
    if (out.structured) out.printData(draftDiffJson(fabric, diffs, missing));
    else if (diffs.length || !missing.length) out.result(formatDraftDiffs(diffs, out.c));
    for (const m of missing) out.error(`${safeLine(shortRef(m))}: holds no draft in fabric ${safeLine(fabric)}`);
    return missing.length ? EXIT.findings : EXIT.ok;
  });
}
