/**
 * What every command shares: the global flags, and where output goes — machine output on stdout,
 * everything else on stderr, colours only on a terminal. Light on purpose: no database or Kubernetes
 * code, so help and usage errors answer at once.
 */
import { format } from 'node:util';
import pc from 'picocolors';
import type { Logger } from '../sync/logger.js';
import { safeText } from './terminal-text.js';
import { resolveOutputFormat, type OutputFormat } from './output-format.js';

/** Flags every command accepts (declared once on the program). */
export interface GlobalOptions {
  databaseUrl?: string;
  dataDir?: string;
  /** `--json`: the alias of `-o json`. */
  json?: boolean;
  /** `-o, --output`: table (default), json, yaml, wide, name. */
  output?: string;
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
  /** A terminal's width in columns (Node sets it on a TTY stream; tests give it). */
  columns?: number;
}

/** The default width of tables when neither the terminal nor COLUMNS gives one. */
export const DEFAULT_COLUMNS = 80;

/**
 * How many columns a table on `stream` may take: the terminal's own width, else COLUMNS from the environment (a
 * pipe into a pager, `watch`, CI logs), else 80.
 */
export function terminalColumns(stream: Stream, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY === true && Number.isInteger(stream.columns) && stream.columns! > 0) return stream.columns!;
  const fromEnv = env.COLUMNS?.trim();
  if (fromEnv && /^\d+$/.test(fromEnv) && Number(fromEnv) > 0) return Number(fromEnv);
  return DEFAULT_COLUMNS;
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
  /** What stdout holds: `table` (for people; `wide` and `name` are its variants) or one `json`/`yaml` document. */
  readonly format: OutputFormat;
  /** stdout holds one structured document (JSON or YAML) and nothing else: results for people are suppressed. */
  readonly structured: boolean;
  /**
   * Serializes a value as YAML; set by the runner when `-o yaml` is asked for (the YAML library is loaded only
   * then, so the other commands do not pay for it).
   */
  yamlStringify?: (value: unknown) => string;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** Colours for what goes to stdout / stderr. */
  readonly c: Colors;
  readonly ce: Colors;
  /** Something was printed on stdout (with --json: the one document it may hold). */
  wroteStdout = false;
  /** Columns a table on stdout may take (see terminalColumns). */
  readonly columns: number;

  constructor(
    opts: GlobalOptions,
    readonly stdout: Stream = process.stdout,
    readonly stderr: Stream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.format = resolveOutputFormat(opts);
    this.structured = this.format === 'json' || this.format === 'yaml';
    this.quiet = opts.quiet === true;
    this.verbose = opts.verbose === true;
    this.c = colorsFor(stdout, env);
    this.ce = colorsFor(stderr, env);
    this.columns = terminalColumns(stdout, env);
  }

  /** A progress display makes sense: stderr is a terminal and nobody asked for silence. */
  get interactive(): boolean {
    return this.stderr.isTTY === true && !this.quiet;
  }

  /** `-o wide`: every column, nothing cut to the terminal's width. */
  get wide(): boolean {
    return this.format === 'wide';
  }

  /** The width tables are cut to: the terminal's (columns), or none with `-o wide`. */
  get tableWidth(): number | undefined {
    return this.wide ? undefined : this.columns;
  }

  /** The command's result for people (suppressed by -o json|yaml: stdout then holds that document only). */
  result(text: string): void {
    if (this.structured) return;
    this.wroteStdout = true;
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * The command's result for machines: JSON, or YAML with `-o yaml` (the same document either way, so the JSON
   * shapes in docs/cli.md describe both).
   */
  printData(value: unknown): void {
    this.wroteStdout = true;
    if (this.format === 'yaml' && this.yamlStringify) {
      const text = this.yamlStringify(value);
      this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    } else this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
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
