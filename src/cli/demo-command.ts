/** `hh-sync demo [--dir D] [--keep]` (the work: demo-action.ts, loaded when it runs). */
import type { Command } from 'commander';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';
import { typedOnCommandLine } from './cli-config.js';
import { REPORT_FORMATS, requireFormat } from './output-format.js';

export interface DemoFlags {
  dir?: string;
  keep?: boolean;
}

export function registerDemoCommand(program: Command, runner: CommandRunner): void {
  const command = program
    .command('demo')
    .description(
      'the whole job on embedded defaults: fake cluster, Git repository with deliberate drift, both syncs, drift report',
    )
    .option('--dir <dir>', 'work in this directory and keep it (default: a temporary directory, removed afterwards)')
    .option('--keep', 'keep the temporary directory (embedded ledger, kubeconfig, Git repository)');
  examples(command, [
    ['hh-sync demo', 'about 8 s; leaves nothing behind'],
    ['hh-sync demo --dir ./demo', 'then: hh-sync --data-dir ./demo/pgdata drift demo'],
    ['hh-sync demo --json', '{"directory", "kept", "runs": [desired, actual], "drift": {…}}'],
  ]).action((flags: DemoFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('demo', out.format, REPORT_FORMATS);
      // Only what was typed is refused: a URL from the environment or the settings file is simply not used.
      if (typedOnCommandLine(cmd, 'databaseUrl') || typedOnCommandLine(cmd, 'dataDir')) {
        throw new UsageError(
          'the demo always uses its own embedded ledger: leave out --database-url and --data-dir (use --dir to choose where)',
        );
      }
      return (await import('./demo-action.js')).runDemo(flags, g, out, context);
    }),
  );
}
