/** The work of `hh-sync publish` (loaded when it runs). */
import { onInterrupt } from './interrupt.js';
import path from 'node:path';
import type { PublishReport } from '../writeback/publish.js';
import { openLedgerFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { EXIT, RuntimeFailure } from './cli-errors.js';
import { actorOf } from './draft-actions.js';
import type { PublishFlags, PublishStrategy } from './draft-command.js';
import { publishJson } from './json-shapes.js';
import { resourceName, shortRef } from './object-ref.js';
import { safeLine } from './terminal-text.js';

/** The report for people: what was published where (stdout), what was left out and why (stderr). */
function printReport(r: PublishReport, out: Output): void {
  const c = out.c;
  // out.result is silent with --json: only the stderr lines below are printed then.
  if (r.status === 'nothing') out.result(`Nothing to publish in fabric ${safeLine(r.fabric)}.`);
  else if (r.commit) {
    const where = `${safeLine(r.branch)} @ ${r.commit.slice(0, 12)}${r.pushed ? ' (pushed)' : ' (not pushed)'}`;
    out.result(`${c.green('✓')} published ${r.published.length} object(s) to ${where}`);
  }
  for (const p of r.published)
    out.result(`  ${safeLine(resourceName(p))} ${p.outcome}  ${c.dim(safeLine(p.file ?? '-'))}`);
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
  // Publish clones go under the invocation's directory, beside the embedded ledger, as the sync's Git cache does.
  const gitCacheDir = path.join(context.cwd, '.hh-sync', 'git-cache');
  const ledger = await openLedgerFor(g, out, context, { ledger: { sync: { gitCacheDir } } });
  // Ctrl-C stops the publish between steps (never inside a push); a second one quits at once.
  const interrupt = onInterrupt((sig) => out.warn(`${sig}: stopping the publish before its next step`));
  try {
    const report = await ledger.publish(fabric, {
      signal: interrupt.signal,
      message: flags.message,
      ...(flags.author !== undefined ? { author: flags.author } : {}),
      ...(flags.branch !== undefined ? { branch: flags.branch } : {}),
      push: flags.push,
      ...(flags.strategy !== undefined ? { strategy: flags.strategy } : {}),
      ...(actor !== undefined ? { actor } : {}),
    });
    if (out.structured) out.printData(publishJson(report));
    printReport(report, out);
    if (report.status === 'failed') return EXIT.failure;
    return report.leftOut.length ? EXIT.findings : EXIT.ok;
  } catch (err) {
    if (interrupt.received()) {
      out.error(`interrupted by ${interrupt.received()}: ${(err as Error).message}`);
      return EXIT.interrupted;
    }
    throw publishFailure(err);
  } finally {
    interrupt.dispose();
    await ledger.close();
  }
}

/**
 * A push the remote refused (hook, protected branch) and a publishing clone that failed are Git's doing: their
 * one line, as a Git failure (exit 3), not "run again with --verbose".
 */
function publishFailure(err: unknown): unknown {
  const name = (err as Error | null)?.name;
  if (name === 'PublishRejectedError')
    return new RuntimeFailure((err as Error).message, 'the drafts stay drafts', { cause: err, kind: 'git' });
  if (name === 'GitPublishError')
    return new RuntimeFailure((err as Error).message, "check the fabric's Git repository and access to it", {
      cause: err,
      kind: 'git',
    });
  return err;
}
