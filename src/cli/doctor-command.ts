/**
 * `hh-sync doctor [--database-url URL] [--schema S] [--table T] [--json] [--fix] [--dry-run]`
 *
 * Exit codes: 0 healthy (after --fix, if it repaired everything), 1 findings,
 * 2 usage error, 3 the database could not be examined.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { DEFAULT_DATA_DIR } from '../db/embedded-postgres.js';
import { openDatabase } from '../db/open-database.js';
import { redactDatabaseUrl, resolveDatabaseUrl } from '../db/database-url.js';
import { formatDoctorReport, runSchemaDoctor } from '../db/schema-doctor.js';
import { errorText } from '../sync/error-text.js';

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
}

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIO: CommandIO = {
  stdout: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  stderr: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export const DOCTOR_EXIT = { healthy: 0, findings: 1, usage: 2, error: 3 } as const;

/** Runs the doctor with already-parsed options; returns the exit code. */
export async function runDoctor(options: DoctorCommandOptions, io: CommandIO = defaultIO): Promise<number> {
  if (!resolveDatabaseUrl(options.databaseUrl)) {
    // Examining an embedded ledger that does not exist would create an empty one.
    const dir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
    if (!existsSync(join(dir, 'db'))) {
      io.stderr(`hh-sync doctor: no database to examine: pass --database-url, set HH_SYNC_DATABASE_URL or DATABASE_URL, or use --data-dir (no embedded ledger at ${dir})`);
      return DOCTOR_EXIT.usage;
    }
  }
  let db;
  try {
    db = await openDatabase({ url: options.databaseUrl, dataDir: options.dataDir, migrate: false });
  } catch (err) {
    const message = `cannot open the database: ${errorText(err)}`;
    io.stderr(`hh-sync doctor: ${message}`);
    // --json: stdout holds one JSON document, also when there is no report (docs/cli.md, JSON output).
    if (options.json) io.stdout(JSON.stringify({ error: { message, code: 'database', exitCode: DOCTOR_EXIT.error } }, null, 2));
    return DOCTOR_EXIT.error;
  }
  try {
    const report = await runSchemaDoctor(db.orm, {
      schema: options.schema,
      table: options.table,
      fix: options.fix,
      dryRun: options.dryRun,
    });
    const database = db.embedded ? `embedded (${db.url})` : redactDatabaseUrl(db.url);
    if (options.json) {
      io.stdout(JSON.stringify({ database, ...report }, null, 2));
    } else {
      io.stdout(`hh-sync doctor: ${database}\n${formatDoctorReport(report, options)}`);
    }
    return report.healthy ? DOCTOR_EXIT.healthy : DOCTOR_EXIT.findings;
  } catch (err) {
    io.stderr(`hh-sync doctor: ${(err as Error).message.split(db.url).join(redactDatabaseUrl(db.url))}`);
    return DOCTOR_EXIT.error;
  } finally {
    await db.close();
  }
}

/** Declares the doctor's options on a commander command (used by the hh-sync CLI). */
export function configureDoctorCommand(command: Command): Command {
  return command
    .description('find NOT NULL columns without a default (any PostgreSQL database) and ledger schema drift; --fix repairs our defaults')
    .option('--database-url <url>', 'PostgreSQL URL (default: HH_SYNC_DATABASE_URL, DATABASE_URL, else the embedded ledger)')
    .option('--data-dir <dir>', 'embedded ledger directory when no URL is configured (default .hh-sync/pgdata)')
    .option('--schema <schema>', 'only this schema')
    .option('--table <table>', 'only this table')
    .option('--json', 'print the report as JSON')
    .option('--fix', 'apply the SQL that restores the entity defaults, in one transaction')
    .option('--dry-run', 'with --fix: show what would be applied, change nothing');
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
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : DOCTOR_EXIT.usage;
    }
    throw err;
  }
  return runDoctor(command.opts<DoctorCommandOptions>(), io);
}
