/**
 * The work of `hh-sync watch` (loaded when it runs). The continuous mode itself (informers, leases, metrics,
 * SIGINT/SIGTERM/SIGHUP) is src/watch's runWatchUntilSignal; this opens the ledger and gives the watch a pino
 * logger on stderr — a daemon's logs are for a collector.
 */
import { pino } from 'pino';
import { runWatchUntilSignal } from '../watch/run-until-signal.js';
import { openLedgerFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';

/** `watch` with its flags checked: runs until SIGINT/SIGTERM (src/watch handles the signals). */
export async function runWatch(
  names: string[],
  metrics: { port?: number; host?: string },
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const logger = pino(
    { name: 'hh-sync', level: out.verbose ? 'debug' : out.quiet ? 'warn' : 'info' },
    // The process's own stderr is written synchronously (a log line must not be lost at exit); another
    // stream (the CLI driven in-process) gets the lines as they come.
    context.stderr === process.stderr
      ? pino.destination({ fd: 2, sync: true })
      : { write: (line: string) => context.stderr.write(line) },
  );
  const ledger = await openLedgerFor(g, out, context);
  try {
    return await runWatchUntilSignal({ em: ledger.em, sync: ledger.sync, embedded: ledger.embedded }, names, {
      metricsPort: metrics.port,
      metricsHost: metrics.host,
      logger,
      onStart: (handle) => {
        const served = handle.metrics ? `; metrics on ${handle.metrics.url}` : '';
        out.info(
          `watching ${names.join(', ')} (lease: ${handle.lease})${served}; Ctrl-C to stop, SIGHUP to re-read Git now`,
        );
      },
    });
  } finally {
    await ledger.close();
  }
}
