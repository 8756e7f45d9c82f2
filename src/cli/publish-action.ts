/** The work of `hh-sync publish` (loaded when it runs). */
import type { Ledger } from '../ledger.js';
import { openLedgerFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT, RuntimeFailure } from './cli-errors.js';
import { actorOf } from './draft-actions.js';
import type { PublishFlags, PublishStrategy } from './draft-command.js';
import { onInterrupt } from './interrupt.js';
import { resourceName, shortRef } from './object-ref.js';
import { safeLine } from './terminal-text.js';

/*
 * `ledger.publish` as agreed for src/writeback/publish.ts, which is not in main yet: these local types are its
 * signature. When it lands, import PublishOptions/PublishReport from there and drop these.
 */
export interface PublishOptions {
  message: string;
  /** "Name <email>" */
  author?: string;
  branch?: string;
  /** default true */
  push?: boolean;
  strategy?: PublishStrategy;
  actor?: string;
  signal?: AbortSignal;
}

export interface PublishedObject {
  kind: string;
  namespace: string;
  name: string;
  operation: 'apply' | 'delete';
  file: string;
  outcome: 'created' | 'updated' | 'deleted' | 'unchanged';
}

export interface LeftOutObject {
  kind: string;
  namespace: string;
  name: string;
  reason: string;
  conflicts?: { path: string; base?: unknown; ours?: unknown; theirs?: unknown }[];
}

export interface PublishReport {
  fabric: string;
  runId: number | null;
  status: 'completed' | 'partial' | 'failed' | 'nothing';
  commit: string | null;
  branch: string;
  pushed: boolean;
  attempts: number;
  published: PublishedObject[];
  leftOut: LeftOutObject[];
  files: string[];
  error?: string;
  durationMs: number;
}

type Publisher = (fabric: string, options: PublishOptions) => Promise<PublishReport>;

/** The ledger's publish, or a failure saying this build has none. */
function publisherOf(ledger: Ledger): Publisher {
  const publish = (ledger as unknown as { publish?: Publisher }).publish;
  if (typeof publish !== 'function')
    throw new RuntimeFailure('publish is not available in this version of hedgehog-fabric-sync');
  return publish.bind(ledger);
}

/** `hh-sync publish --json`: the report, every key present (null when it has no value). */
export function publishJson(r: PublishReport): Required<Omit<PublishReport, 'error'>> & { error: string | null } {
  return {
    fabric: r.fabric,
    runId: r.runId,
    status: r.status,
    commit: r.commit,
    branch: r.branch,
    pushed: r.pushed,
    attempts: r.attempts,
    published: r.published.map((p) => ({ ...p })),
    leftOut: r.leftOut.map((l) => ({ ...l, conflicts: structuredClone(l.conflicts ?? []) })),
    files: [...r.files],
    error: r.error ?? null,
    durationMs: r.durationMs,
  };
}

/** The report for people: what was published where (stdout), what was left out and why (stderr). */
function printReport(r: PublishReport, out: Output): void {
  const c = out.c;
  if (r.status === 'nothing') out.result(`Nothing to publish in fabric ${safeLine(r.fabric)}.`);
  else if (r.commit) {
    const where = `${safeLine(r.branch)} @ ${r.commit.slice(0, 12)}${r.pushed ? ' (pushed)' : ' (not pushed)'}`;
    out.result(`${c.green('✓')} published ${r.published.length} object(s) to ${where}`);
  }
  for (const p of r.published) out.result(`  ${safeLine(resourceName(p))} ${p.outcome}  ${c.dim(safeLine(p.file))}`);
  for (const l of r.leftOut) {
    const paths = (l.conflicts ?? []).map((x) => x.path).join(', ');
    out.error(`${safeLine(shortRef(l))} left out: ${l.reason}${paths ? ` (conflicting: ${paths})` : ''}`);
  }
  if (r.leftOut.length)
    out.info(
      `${r.leftOut.length} object(s) left out; resolve with --strategy ours|theirs, or \`hh-sync draft discard\``,
    );
  if (r.status === 'failed')
    out.error(`publish of fabric ${safeLine(r.fabric)} failed: ${r.error ?? 'unknown reason'}`);
}

export async function runPublish(
  fabric: string,
  flags: Omit<PublishFlags, 'strategy'> & { strategy?: PublishStrategy },
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const actor = actorOf(flags.actor, context.env);
  const ledger = await openLedgerFor(g, out, context);
  const interrupt = onInterrupt((sig) => out.info(`${sig}: stopping the publish (again to quit at once)`));
  try {
    const report = await publisherOf(ledger)(fabric, {
      message: flags.message,
      ...(flags.author !== undefined ? { author: flags.author } : {}),
      ...(flags.branch !== undefined ? { branch: flags.branch } : {}),
      push: flags.push,
      ...(flags.strategy !== undefined ? { strategy: flags.strategy } : {}),
      ...(actor !== undefined ? { actor } : {}),
      signal: interrupt.signal,
    });
    if (out.json) out.printJson(publishJson(report));
    else printReport(report, out);
    if (out.json) for (const l of report.leftOut) out.error(`${safeLine(shortRef(l))} left out: ${l.reason}`);
    if (report.status === 'failed') return EXIT.failure;
    return report.leftOut.length ? EXIT.findings : EXIT.ok;
  } catch (err) {
    // A push the remote refused (hook, protected branch) is the remote's word: its one line, as a Git failure.
    if ((err as Error | null)?.name === 'PublishRejectedError')
      throw new RuntimeFailure((err as Error).message, undefined, { cause: err, kind: 'git' });
    throw err;
  } finally {
    interrupt.dispose();
    await ledger.close();
  }
}
