/**
 * The work of `hh-sync watch` (loaded when it runs). The continuous mode itself (informers, leases, metrics,
 * SIGINT/SIGTERM/SIGHUP) is src/watch's runWatchUntilSignal; this opens the ledger and gives the watch a pino
 * logger on stderr: JSON lines for a collector, readable lines on a terminal (--log-format).
 */
import { pino, type DestinationStream } from 'pino';
import { runWatchUntilSignal } from '../watch/run-until-signal.js';
import { openLedgerFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import { colorsFor, type GlobalOptions, type Output } from './cli-output.js';
import { resolveLogFormat, textLogLine, type LogFormat } from './watch-log-format.js';

/** Where the watch's log lines go: stderr, as JSON lines or as readable text. */
export function watchLogDestination(context: Pick<CliContext, 'stderr'>, format: LogFormat): DestinationStream {
  const stderr = context.stderr;
  if (resolveLogFormat(format, stderr.isTTY) === 'text') {
    const colors = colorsFor(stderr);
    return { write: (line: string) => void stderr.write(textLogLine(line, colors)) };
  }
  // The process's own stderr is written synchronously (a log line must not be lost at exit); another
  // stream (the CLI driven in-process) gets the lines as they come.
  return stderr === process.stderr
    ? pino.destination({ fd: 2, sync: true })
    : { write: (line: string) => void stderr.write(line) };
}

/** `watch` with its flags checked: runs until SIGINT/SIGTERM (src/watch handles the signals). */
export async function runWatch(
  names: string[],
  metrics: { port?: number; host?: string },
  g: GlobalOptions,
  out: Output,
  context: CliContext,
  logFormat: LogFormat = 'auto',
): Promise<number> {
  const logger = pino(
    { name: 'hh-sync', level: out.verbose ? 'debug' : out.quiet ? 'warn' : 'info' },
    watchLogDestination(context, logFormat),
  );
  const ledger = await openLedgerFor(g, out, context);
  try {
    return await runWatchUntilSignal({ em: ledger.em, sync: ledger.sync, embedded: ledger.embedded }, names, {
      metricsPort: metrics.port,
      metricsHost: metrics.host,
      logger,
      onStart: (handle) => {
        const served = handle.metrics ? `; metrics on ${handle.metrics.url} (probes: /healthz, /readyz)` : '';
        out.info(
          `watching ${names.join(', ')} (lease: ${handle.lease})${served}; Ctrl-C to stop, SIGHUP to re-read Git now`,
        );
      },
    });
  } finally {
    await ledger.close();
  }
}
