/**
 * What every command shares: the global flags, and where output goes — machine output on stdout,
 * everything else on stderr, colours only on a terminal. Light on purpose: no database or Kubernetes
 * code, so help and usage errors answer at once.
 */
import { format } from 'node:util';
import pc from 'picocolors';
import type { Logger } from '../sync/logger.js';
import { safeText } from './terminal-text.js';

/** Flags every command accepts (declared once on the program). */
export interface GlobalOptions {
  databaseUrl?: string;
  dataDir?: string;
  json?: boolean;
  /** Seconds one database connection attempt may take (--connect-timeout; default HH_SYNC_CONNECT_TIMEOUT, then 10). */
  connectTimeout?: string;
  /** Seconds one database statement may take (--statement-timeout; default HH_SYNC_STATEMENT_TIMEOUT, then 300). */
  statementTimeout?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export type Colors = ReturnType<typeof pc.createColors>;

export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Colours only when the stream is a terminal (picocolors alone also turns them on for `CI=1` and on
 * Windows pipes). NO_COLOR wins; FORCE_COLOR forces them.
 */
export function colorsFor(stream: Stream, env: NodeJS.ProcessEnv = process.env): Colors {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const enabled = !env.NO_COLOR && (forced || (stream.isTTY === true && env.TERM !== 'dumb'));
  return pc.createColors(enabled);
}

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** Colours for what goes to stdout / stderr. */
  readonly c: Colors;
  readonly ce: Colors;
  /** Something was printed on stdout (with --json: the one document it may hold). */
  wroteStdout = false;

  constructor(
    opts: GlobalOptions,
    readonly stdout: Stream = process.stdout,
    readonly stderr: Stream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.json = opts.json === true;
    this.quiet = opts.quiet === true;
    this.verbose = opts.verbose === true;
    this.c = colorsFor(stdout, env);
    this.ce = colorsFor(stderr, env);
  }

  /** A progress display makes sense: stderr is a terminal and nobody asked for silence. */
  get interactive(): boolean {
    return this.stderr.isTTY === true && !this.quiet;
  }

  /** The command's result for people (suppressed by --json: stdout then holds JSON only). */
  result(text: string): void {
    if (this.json) return;
    this.wroteStdout = true;
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The command's result for machines. */
  printJson(value: unknown): void {
    this.wroteStdout = true;
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Progress and side notes: stderr, silenced by --quiet. Foreign text in them is made inert (terminal-text.ts). */
  info(text: string): void {
    if (this.quiet) return;
    const safe = safeText(text);
    this.stderr.write(safe.endsWith('\n') ? safe : `${safe}\n`);
  }

  /** Detail only --verbose wants. */
  debug(text: string): void {
    if (!this.verbose) return;
    this.stderr.write(this.ce.dim(text.endsWith('\n') ? text : `${text}\n`));
  }

  /** Worth knowing even with --quiet. */
  warn(text: string): void {
    this.stderr.write(`${this.ce.yellow('hh-sync:')} ${safeText(text)}\n`);
  }

  /** The one line of a failure. */
  error(text: string): void {
    this.stderr.write(`${this.ce.red('hh-sync:')} ${safeText(text)}\n`);
  }

  /** A pino-compatible logger for the library, writing readable lines to stderr (only with --verbose). */
  logger(): Logger | undefined {
    if (!this.verbose) return undefined;
    const line = (level: string) => (obj: object | string, msg?: string) => {
      const text = typeof obj === 'string' ? obj : `${msg ?? ''} ${format('%j', obj)}`.trim();
      this.stderr.write(this.ce.dim(`[${level}] ${text}\n`));
    };
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  }
}
