/** `hh-sync migrate`: create or upgrade the ledger schema (every other command does it on open too). */
import type { Command } from 'commander';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';
import { STRUCTURED_FORMATS, requireFormat } from './output-format.js';

async function migrate(cmd: Command, runner: CommandRunner, flags: { createDatabase?: boolean }): Promise<void> {
  await runner.run(cmd, async (g, out, { env, cwd }) => {
    requireFormat('migrate', out.format, STRUCTURED_FORMATS);
    if (g.databaseUrl && g.dataDir)
      throw new UsageError('--database-url and --data-dir exclude each other: one ledger at a time');
    const [{ openDatabase }, { ledgerLocation, connectTimeoutMs, statementTimeoutMs, openFailure }] = await Promise.all(
      [import('../db/open-database.js'), import('./cli-ledger.js')],
    );
    const where = ledgerLocation(g, env, cwd);
    if (flags.createDatabase && !where.url)
      throw new UsageError(
        '--create-database is for a --database-url (the embedded ledger directory is created anyway)',
      );
    let db;
    try {
      db = await openDatabase({
        url: where.url,
        dataDir: where.dataDir,
        embedded: !where.url,
        migrate: true,
        createDatabase: flags.createDatabase === true,
        connectTimeoutMs: connectTimeoutMs(g, env),
        statementTimeoutMs: statementTimeoutMs(g, env),
        logger: out.verbose ? (m) => out.debug(m) : undefined,
      });
    } catch (err) {
      throw openFailure(err, where, 'migrate');
    }
    try {
      const applied = db.appliedMigrations;
      if (out.structured) out.printData({ database: where.display, applied });
      else if (applied.length)
        out.result(
          `${out.c.green('✓')} ${where.display}: applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}`,
        );
      else out.result(`${out.c.green('✓')} ${where.display}: the ledger schema is up to date`);
      return 0;
    } finally {
      await db.close();
    }
  });
}

export function registerMigrateCommand(program: Command, runner: CommandRunner): void {
  const command = program
    .command('migrate')
    .description(
      'create the ledger tables or apply pending migrations (other commands also migrate when they open the ledger)',
    )
    .option('--create-database', 'create the database the URL names if it does not exist (no other command does)');
  examples(command, [
    [
      'hh-sync migrate --create-database --database-url postgres://hh@db.example.com/hh_sync',
      'a new database on an existing server',
    ],
    ['hh-sync migrate --database-url postgres://hh@db.example.com/hh_sync', ''],
    ['HH_SYNC_DATABASE_URL=postgres://localhost/hh hh-sync migrate --json', '{"database": …, "applied": [names]}'],
  ]).action((flags: { createDatabase?: boolean }, cmd: Command) => migrate(cmd, runner, flags));
}
