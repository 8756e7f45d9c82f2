/** `hh-sync migrate`: create or upgrade the ledger schema (every other command does it on open too). */
import type { Command } from 'commander';
import { RuntimeFailure, UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';

async function migrate(cmd: Command, runner: CommandRunner): Promise<void> {
  await runner.run(cmd, async (g, out) => {
    if (g.databaseUrl && g.dataDir) throw new UsageError('--database-url and --data-dir exclude each other: one ledger at a time');
    const [{ openDatabase }, { ledgerLocation }] = await Promise.all([import('../db/open-database.js'), import('./cli-ledger.js')]);
    const where = ledgerLocation(g);
    let db;
    try {
      db = await openDatabase({
        url: where.url,
        dataDir: where.dataDir,
        embedded: !where.url,
        migrate: true,
        logger: out.verbose ? (m) => out.debug(m) : undefined,
      });
    } catch (err) {
      const message = ((err as Error).message ?? String(err)).split('\n')[0];
      throw new RuntimeFailure(
        `cannot migrate the ledger (${where.display}): ${message}`,
        where.url ? 'check --database-url / HH_SYNC_DATABASE_URL / DATABASE_URL, that PostgreSQL is running and that the user may create tables' : 'check the --data-dir directory',
        { cause: err },
      );
    }
    try {
      const applied = db.appliedMigrations;
      if (out.json) out.printJson({ database: where.display, applied });
      else if (applied.length) out.result(`${out.c.green('✓')} ${where.display}: applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}`);
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
    .description('create the ledger tables or apply pending migrations (other commands also migrate when they open the ledger)');
  examples(command, [
    ['hh-sync migrate --database-url postgres://hh@db.example.com/hh_sync', ''],
    ['HH_SYNC_DATABASE_URL=postgres://localhost/hh hh-sync migrate --json', '{"database": …, "applied": [names]}'],
  ]).action((_opts: unknown, cmd: Command) => migrate(cmd, runner));
}
