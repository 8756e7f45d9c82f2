/** `hh-sync sync <fabric> [--desired] [--actual] [--ref <ref>] [--exit-code]` */
import type { Command } from 'commander';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';
import { REPORT_FORMATS, requireFormat } from './output-format.js';

export type Direction = 'desired' | 'actual';

export interface SyncFlags {
  desired?: boolean;
  actual?: boolean;
  ref?: string;
  exitCode?: boolean;
}

/** Which directions run, desired first; both when neither flag is given. Checks the flags that go with them. */
export function syncDirections(flags: SyncFlags): Direction[] {
  const both = !flags.desired && !flags.actual;
  const directions: Direction[] = both
    ? ['desired', 'actual']
    : [...(flags.desired ? ['desired' as const] : []), ...(flags.actual ? ['actual' as const] : [])];
  if (flags.ref !== undefined && !directions.includes('desired'))
    throw new UsageError('--ref chooses what to read from Git: use it with --desired (or without --actual)');
  if (flags.ref !== undefined && flags.ref.trim() === '') throw new UsageError('--ref needs a branch, tag or commit');
  return directions;
}

export function registerSyncCommand(program: Command, runner: CommandRunner): void {
  const command = program
    .command('sync')
    .argument('<fabric>', 'the fabric to sync')
    .description(
      'read the desired state from Git, then the actual state from the cluster, into the ledger (both unless a flag picks one)',
    )
    .option('--desired', "only read the desired state from the fabric's Git repository")
    .option('--actual', "only read the actual state from the fabric's cluster")
    .option('--ref <ref>', "read this branch, tag or commit instead of the fabric's ref (desired state)")
    .option('--exit-code', 'exit 1 when a run was partial or the fabric has drift afterwards (for CI)');
  examples(command, [
    ['hh-sync sync dc1', 'Git first, then the cluster; prints both runs and the drift summary'],
    ['hh-sync sync dc1 --actual', 'only the cluster'],
    ['hh-sync sync dc1 --desired --ref feature/new-vpc', 'a branch, before it is merged'],
    ['hh-sync sync dc1 --json', 'an array of two run objects'],
    ['hh-sync sync dc1 --exit-code --quiet', 'CI: fail the job on drift'],
  ]).action((fabric: string, flags: SyncFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('sync', out.format, REPORT_FORMATS);
      const directions = syncDirections(flags);
      return (await import('./sync-action.js')).runSync(fabric, directions, flags, g, out, context);
    }),
  );
}
