/**
 * Exit codes of every hh-sync command, and how a thrown error becomes ONE line saying what to do.
 *
 *   0 success · 1 drift or findings (only with --exit-code; `doctor` always) · 2 usage error · 3 runtime failure
 */
import { CommanderError } from 'commander';

// The library's errors are recognised by name, so this module (loaded for every command, help included)
// pulls in no database or Kubernetes code.
const USAGE_ERRORS = new Set(['FabricNotFoundError', 'FabricExistsError', 'InvalidFabricSettingsError', 'KubeConfigError']);

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
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ClassifiedError {
  code: ExitCode;
  /** One line, without the "hh-sync:" prefix. */
  line: string;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', '28P01', '3D000', '28000']);

/** Only the first line of a message: the rest (SQL, stacks, snippets) belongs to --verbose. */
function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim() !== '') ?? message;
  return line.trim();
}

/** Maps anything thrown by a command to its exit code and the one line shown for it. */
export function classifyError(err: unknown): ClassifiedError {
  const name = (err as Error)?.name;
  if (err instanceof UsageError) return { code: EXIT.usage, line: err.message };
  if (USAGE_ERRORS.has(name)) return { code: EXIT.usage, line: (err as Error).message };
  if (err instanceof RuntimeFailure) return { code: EXIT.failure, line: err.hint ? `${err.message}; ${err.hint}` : err.message };
  if (name === 'FabricBusyError') return { code: EXIT.failure, line: (err as Error).message };
  if (name === 'DesiredSourceError') {
    return { code: EXIT.failure, line: `${firstLine((err as Error).message)}; check the fabric's Git source with \`hh-sync fabric list\`` };
  }
  if (err instanceof CommanderError) return { code: EXIT.usage, line: err.message };
  const code = (err as { code?: unknown })?.code;
  const message = firstLine((err as Error)?.message ?? String(err));
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
    return { code: EXIT.failure, line: `cannot reach the ledger database (${message}); check --database-url / HH_SYNC_DATABASE_URL and that PostgreSQL is running` };
  }
  return { code: EXIT.failure, line: `${message}; run again with --verbose for details` };
}
