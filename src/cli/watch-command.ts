/**
 * `hh-sync watch <fabric…> [--metrics-port N] [--metrics-host H] [--log-format auto|json|text]`: continuous mode
 * (the work: watch-action.ts).
 */
import type { Command } from 'commander';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';
import { LOG_FORMATS, type LogFormat } from './watch-log-format.js';

export interface WatchFlags {
  metricsPort?: string;
  metricsHost?: string;
  logFormat?: string;
}

function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined) return 'auto';
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new UsageError(`--log-format ${value}: must be one of ${LOG_FORMATS.join(', ')}`);
}

export function parsePort(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`${flag} ${value}: must be a port number from 0 to 65535 (0 picks a free one)`);
  }
  return n;
}

export function registerWatchCommand(program: Command, runner: CommandRunner): void {
  const command = program
    .command('watch')
    .argument('<fabric...>', 'the fabrics to keep in sync (replicas started with the same list share them)')
    .description('keep fabrics in sync continuously: cluster watches, periodic Git reads, failover between replicas')
    .option('--metrics-port <port>', 'serve /metrics, /healthz and /readyz on this port (0: any free port)')
    .option('--metrics-host <host>', 'address the metrics server binds (default 0.0.0.0)')
    .option('--log-format <format>', 'auto (text on a terminal, else JSON lines), json or text', 'auto');
  examples(command, [
    ['hh-sync watch dc1', 'runs until Ctrl-C / SIGTERM (finishes the batch in flight, records the run)'],
    ['hh-sync watch dc1 dc2 --metrics-port 9464', 'two fabrics, metrics at http://<host>:9464/metrics'],
    ['kill -HUP <pid>', "re-read every held fabric's Git source now"],
    ['hh-sync watch dc1 --log-format json 2>>watch.log', 'JSON lines (pino) even on a terminal'],
  ]).action((names: string[], flags: WatchFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      // The watch prints nothing on stdout (no object, no report): its logs go to stderr, as JSON lines or text.
      if (out.format !== 'table')
        throw new UsageError(
          `-o ${out.format}: \`hh-sync watch\` prints no objects or report on stdout, only logs on stderr; for JSON log lines use --log-format json`,
        );
      const port = flags.metricsPort !== undefined ? parsePort('--metrics-port', flags.metricsPort) : undefined;
      if (flags.metricsHost !== undefined && port === undefined)
        throw new UsageError('--metrics-host needs --metrics-port');
      const logFormat = parseLogFormat(flags.logFormat);
      return (await import('./watch-action.js')).runWatch(
        names,
        { port, host: flags.metricsHost },
        g,
        out,
        context,
        logFormat,
      );
    }),
  );
}
