/**
 * Exit codes of every hh-sync command, and how a thrown error becomes ONE line saying what to do.
 *
 *   0 success · 1 drift or findings (only with --exit-code; `doctor` always) · 2 usage error · 3 runtime failure
 */
import { CommanderError } from 'commander';
import { databaseFailureKind, databaseHint, errorText, failureSource } from '../sync/error-text.js';
import { safeText } from './terminal-text.js';

// The library's errors are recognised by name, so this module (loaded for every command, help included)
// pulls in no database or Kubernetes code.
const USAGE_ERRORS = new Set([
  'FabricNotFoundError',
  'FabricExistsError',
  'InvalidFabricSettingsError',
  'KubeConfigError',
]);

export const EXIT = { ok: 0, findings: 1, usage: 2, failure: 3, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A problem with what the user typed: exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Something went wrong while doing the work: exit 3. `hint` says what to do about it. */
export class RuntimeFailure extends Error {
  override name = 'RuntimeFailure';
  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown; kind?: string },
  ) {
    super(message, options);
    this.kind = options?.kind ?? 'failure';
  }
  /** The failure's kind in `--json`'s error object (database, cluster, git, failure). */
  readonly kind: string;
}

export interface ClassifiedError {
  code: ExitCode;
  /** One line, without the "hh-sync:" prefix. */
  line: string;
  /** What kind of failure, for `--json`'s error object: usage, database, cluster, git, failure. */
  kind: string;
}

const MAX_LINE = 600;
/** A command that could not reach its database (the run-level hint, DATABASE_CONNECTION_HINT, also says nothing was stored). */
export const DATABASE_HINT =
  'check --database-url / HH_SYNC_DATABASE_URL / DATABASE_URL and that PostgreSQL is running';

/** Maps anything thrown by a command to its exit code and the one line shown for it. */
export function classifyError(err: unknown): ClassifiedError {
  const c = classify(err);
  const line = safeText(c.line).replace(/[\r\n]+/g, ' ');
  // One line a person reads: a message kilobytes long is cut (--verbose has all of it).
  return {
    ...c,
    line: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}… (run again with --verbose for all of it)` : line,
  };
}

function classify(err: unknown): ClassifiedError {
  const name = (err as Error | null | undefined)?.name;
  if (err instanceof UsageError) return { code: EXIT.usage, kind: 'usage', line: err.message };
  if (name !== undefined && USAGE_ERRORS.has(name))
    return { code: EXIT.usage, kind: 'usage', line: errorText((err as Error).message) };
  if (err instanceof RuntimeFailure)
    return { code: EXIT.failure, kind: err.kind, line: err.hint ? `${err.message}; ${err.hint}` : err.message };
  if (err instanceof CommanderError) return { code: EXIT.usage, kind: 'usage', line: err.message };
  if (name === 'DatabaseMissingError')
    return { code: EXIT.failure, kind: 'database', line: missingDatabaseLine(err as Error) };
  // One line, the server's own message first, no SQL (errorText); the rest belongs to --verbose.
  const message = errorText(err);
  const source = failureSource(err);
  if (source === 'git')
    return {
      code: EXIT.failure,
      kind: 'git',
      line: `${message}; check the fabric's Git source with \`hh-sync fabric list\``,
    };
  if (source === 'database') {
    // Only a lost or unreachable server is told to check PostgreSQL; a lock wait's message is its own advice.
    const kind = databaseFailureKind(err);
    const hint = kind === 'connection' ? DATABASE_HINT : databaseHint(kind);
    return { code: EXIT.failure, kind: 'database', line: hint ? `${message}; ${hint}` : message };
  }
  if (source === 'cluster')
    return {
      code: EXIT.failure,
      kind: 'cluster',
      line: `${message}; check that the cluster is reachable with the fabric's kubeconfig`,
    };
  return { code: EXIT.failure, kind: 'failure', line: `${message}; run again with --verbose for details` };
}

/** `database "x" does not exist on host:port — create it, or run hh-sync migrate --create-database` */
export function missingDatabaseLine(err: Error): string {
  const e = err as Error & { database?: string; server?: string };
  return `database "${e.database}" does not exist on ${e.server} — create it, or run hh-sync migrate --create-database`;
}

/** What `--json` prints on stdout when a command fails before it has a result: one document, always. */
export function errorJson(c: ClassifiedError): { error: { message: string; code: string; exitCode: number } } {
  return { error: { message: c.line, code: c.kind, exitCode: c.code } };
}
