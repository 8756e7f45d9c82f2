/**
 * `hh-sync doctor [--database-url URL] [--schema S] [--table T] [--json] [--fix] [--dry-run] [--out FILE]`
 *
 * Exit codes: 0 healthy (after --fix, if it repaired everything), 1 findings,
 * 2 usage error (including a schema or table that does not exist), 3 the
 * database could not be examined.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { DEFAULT_DATA_DIR } from '../db/default-data-dir.js';
import { openDatabase } from '../db/open-database.js';
import { maskDatabaseUrl, redactDatabaseUrl, resolveDatabaseUrl } from '../db/database-url.js';
import { DoctorScopeError, formatDoctorReport, runSchemaDoctor } from '../db/schema-doctor.js';
import { formatRepairMigration } from '../db/default-repair.js';
import { errorText } from '../sync/error-text.js';
import { errorJson } from './cli-errors.js';
import { connectTimeoutMs, statementTimeoutMs } from './cli-ledger.js';

export interface DoctorCommandOptions {
  /** PostgreSQL URL; default HH_SYNC_DATABASE_URL, DATABASE_URL, else the embedded ledger. */
  databaseUrl?: string;
  /** Embedded ledger directory when no URL is configured (default .hh-sync/pgdata). */
  dataDir?: string;
  schema?: string;
  table?: string;
  json?: boolean;
  fix?: boolean;
  dryRun?: boolean;
  /** Write the repair SQL as a migration file here (never overwrites). */
  out?: string;
  /** Seconds one connection attempt may take (the global --connect-timeout; default HH_SYNC_CONNECT_TIMEOUT, then 10). */
  connectTimeout?: string;
  /** Seconds one statement may go unanswered (the global --statement-timeout; default HH_SYNC_STATEMENT_TIMEOUT, then 300). */
  statementTimeout?: string;
}

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Where database URLs and timeouts are read (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** What relative --data-dir and --out paths are resolved against (default: this process's directory). */
  cwd?: string;
  /**
   * Prints the one document of `--json` (default: JSON on stdout); the hh-sync CLI passes its own, which writes YAML
   * for `-o yaml`.
   */
  data?: (value: unknown) => void;
}

/** The report or error document on stdout, through the caller's printer when it has one. */
function printDocument(io: CommandIO, value: unknown): void {
  if (io.data) io.data(value);
  else io.stdout(JSON.stringify(value, null, 2));
}

const defaultIO: CommandIO = {
  stdout: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  stderr: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export const DOCTOR_EXIT = { healthy: 0, findings: 1, usage: 2, error: 3 } as const;

/**
 * Reports a doctor error: one line on stderr and, with --json, the error document every command prints
 * on stdout (docs/cli.md, JSON output), so stdout always holds one JSON document. Returns the exit code.
 */
function fail(
  io: CommandIO,
  options: DoctorCommandOptions,
  message: string,
  exitCode: number,
  code = exitCode === DOCTOR_EXIT.usage ? 'usage' : 'database',
): number {
  const line = message.replace(/[\r\n]+/g, ' ');
  io.stderr(`hh-sync doctor: ${line}`);
  if (options.json) printDocument(io, errorJson({ line, kind: code, code: exitCode as 2 | 3 }));
  return exitCode;
}

/** Runs the doctor with already-parsed options; returns the exit code. */
export async function runDoctor(options: DoctorCommandOptions, io: CommandIO = defaultIO): Promise<number> {
  const env = io.env ?? process.env;
  const cwd = io.cwd ?? process.cwd();
  const outFile = options.out === undefined ? undefined : resolve(cwd, options.out);
  const outProblem = outFile === undefined ? null : checkOutFile(outFile);
  if (outProblem) return fail(io, options, `--out ${options.out}: ${outProblem}`, DOCTOR_EXIT.usage);
  const url = resolveDatabaseUrl(options.databaseUrl, env);
  const dataDir = resolve(cwd, options.dataDir ?? DEFAULT_DATA_DIR);
  if (!url) {
    // Examining an embedded ledger that does not exist would create an empty one.
    if (!existsSync(join(dataDir, 'db'))) {
      const message = `no database to examine: pass --database-url, set HH_SYNC_DATABASE_URL or DATABASE_URL, or use --data-dir (no embedded ledger at ${dataDir})`;
      return fail(io, options, message, DOCTOR_EXIT.usage);
    }
  }
  let timeoutMs: number | undefined;
  let statementMs: number | undefined;
  try {
    timeoutMs = connectTimeoutMs(options, env);
    statementMs = statementTimeoutMs(options, env);
  } catch (err) {
    return fail(io, options, (err as Error).message, DOCTOR_EXIT.usage);
  }
  let db;
  try {
    db = await openDatabase({
      url,
      dataDir,
      embedded: !url,
      migrate: false,
      connectTimeoutMs: timeoutMs,
      statementTimeoutMs: statementMs,
    });
  } catch (err) {
    return fail(io, options, `cannot open the database: ${errorText(err)}`, DOCTOR_EXIT.error);
  }
  try {
    const report = await runSchemaDoctor(db.orm, {
      schema: options.schema,
      table: options.table,
      fix: options.fix,
      dryRun: options.dryRun,
    });
    const database = db.embedded ? `embedded (${db.url})` : redactDatabaseUrl(db.url);
    const migration =
      wantsMigration(options) && report.repairs.length > 0 ? formatRepairMigration(report.repairs, report) : undefined;
    const written = writeMigration(options.out, outFile, migration, io);
    if (options.json) {
      printDocument(io, {
        database,
        ...report,
        ...(migration ? { migration } : {}),
        ...(written ? { migrationFile: written } : {}),
      });
    } else {
      const text = formatDoctorReport(report, { ...options, migration });
      io.stdout(`hh-sync doctor: ${database}\n${text}${written ? `\nWrote the migration to ${written}.` : ''}`);
    }
    return report.healthy ? DOCTOR_EXIT.healthy : DOCTOR_EXIT.findings;
  } catch (err) {
    if (err instanceof DoctorScopeError) return fail(io, options, err.message, DOCTOR_EXIT.usage);
    return fail(io, options, maskDatabaseUrl(errorText(err), db.url), DOCTOR_EXIT.error);
  } finally {
    await db.close();
  }
}

/** Why the migration file cannot be written there (checked before the database is touched), or null. */
function checkOutFile(path: string): string | null {
  if (existsSync(path)) return 'the file exists (the doctor never overwrites one)';
  if (!existsSync(dirname(path))) return `directory ${dirname(path)} does not exist`;
  return null;
}

function wantsMigration(options: DoctorCommandOptions): boolean {
  return options.out !== undefined || Boolean(options.fix && options.dryRun);
}

/** Writes the migration to --out; the absolute path written, or null when there was nothing to write. */
function writeMigration(
  out: string | undefined,
  path: string | undefined,
  migration: string | undefined,
  io: CommandIO,
): string | null {
  if (out === undefined || path === undefined) return null;
  if (migration === undefined) {
    io.stderr(`hh-sync doctor: nothing to repair; ${out} not written`);
    return null;
  }
  writeFileSync(path, migration, { flag: 'wx' });
  return path;
}

/**
 * Declares the doctor's options on a commander command. In the hh-sync CLI (`standalone: false`) `--database-url`,
 * `--data-dir` and `--json` are the program's global flags (`--json` with `-o json|yaml`), so the doctor does not
 * declare them again (its help would list them twice); runDoctorCli, parsing the doctor's arguments alone, does.
 */
export function configureDoctorCommand(command: Command, { standalone = true } = {}): Command {
  command.description(
    'find NOT NULL columns without a default (any PostgreSQL database) and ledger schema drift; --fix repairs our defaults',
  );
  if (standalone)
    command
      .option(
        '--database-url <url>',
        'PostgreSQL URL (default: HH_SYNC_DATABASE_URL, DATABASE_URL, else the embedded ledger)',
      )
      .option('--data-dir <dir>', 'embedded ledger directory when no URL is configured (default .hh-sync/pgdata)');
  command.option('--schema <schema>', 'only this schema').option('--table <table>', 'only this table');
  if (standalone) command.option('--json', 'print the report as JSON');
  return command
    .option(
      '--fix',
      'apply the SQL that restores the entity defaults (with --table, type defaults on any table), in one transaction',
    )
    .option('--dry-run', 'with --fix: print what would be applied as a migration, change nothing')
    .option('--out <file>', 'write the repair SQL as a migration file (never overwrites)');
}

/**
 * Parses `argv` (the arguments after `doctor`) and runs the doctor.
 * Usage errors (unknown option, missing value, stray argument) return 2.
 */
export async function runDoctorCli(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  const command = configureDoctorCommand(new Command('doctor'))
    .exitOverride()
    .configureOutput({ writeOut: (t) => io.stdout(t), writeErr: (t) => io.stderr(t) })
    .allowExcessArguments(false);
  try {
    command.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // commander already wrote the message to stderr; --json still gets its one document on stdout.
      const line = err.message.replace(/^error: /, '');
      if (argv.includes('--json'))
        io.stdout(JSON.stringify(errorJson({ line, kind: 'usage', code: DOCTOR_EXIT.usage }), null, 2));
      return DOCTOR_EXIT.usage;
    }
    throw err;
  }
  return runDoctor(command.opts<DoctorCommandOptions>(), io);
}
