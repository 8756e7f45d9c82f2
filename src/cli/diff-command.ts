/** `hh-sync diff <fabric> [--local <dir> | --ref <ref>] [--live] [--exit-code] [-n …|-A] [--kind …]` */
import type { Command } from 'commander';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';
import { collect, resolveKind } from './fabric-options.js';
import {
  OBJECT_FORMATS,
  addNamespaceFilter,
  namespaceFilter,
  requireFormat,
  type NamespaceFlags,
} from './output-format.js';

export interface DiffFlags extends NamespaceFlags {
  local?: string;
  ref?: string;
  live?: boolean;
  kind?: string[];
  exitCode?: boolean;
}

/** What `diff` compares, checked: the library's options and the command's own. */
export interface DiffRequest {
  local?: string;
  ref?: string;
  live: boolean;
  kinds?: string[];
  namespaces?: string[];
  exitCode: boolean;
}

export function diffRequest(flags: DiffFlags): DiffRequest {
  if (flags.local !== undefined && flags.ref !== undefined)
    throw new UsageError('--local and --ref exclude each other: compare a local directory or a ref, not both');
  if (flags.local !== undefined && flags.local.trim() === '') throw new UsageError('--local: give a directory');
  if (flags.ref !== undefined && flags.ref.trim() === '') throw new UsageError('--ref: give a branch, tag or commit');
  return {
    local: flags.local,
    ref: flags.ref,
    live: flags.live === true,
    kinds: flags.kind?.length ? [...new Set(flags.kind.map((k) => resolveKind(k)))] : undefined,
    namespaces: namespaceFilter(flags),
    exitCode: flags.exitCode === true,
  };
}

export function registerDiffCommand(program: Command, runner: CommandRunner): void {
  const command = program
    .command('diff')
    .argument('<fabric>', 'the fabric to compare')
    .description(
      "compare a local directory of manifests or any ref of the fabric's repository with the cluster (as of the last actual sync, or now with --live); writes nothing to the ledger",
    )
    .option(
      '--local <dir>',
      "a directory of manifests as it is on disk (uncommitted work); it stands for the fabric's --path",
    )
    .option('--ref <ref>', "a branch, tag or commit of the fabric's repository (default: the fabric's ref)")
    .option('--live', "read the cluster now instead of the ledger's actual state as of the last actual sync")
    .option('--kind <kind>', 'only these kinds (VPC, Connection, …); repeat or comma-separate', collect)
    .option('--exit-code', 'exit 1 when an object differs or could not be compared (for CI), 0 otherwise');
  addNamespaceFilter(command);
  examples(command, [
    [
      'hh-sync diff dc1 --local ./fabric --exit-code',
      'uncommitted work against the cluster, for CI or a pre-commit hook',
    ],
    ['hh-sync diff dc1 --ref feature/vpc-2', 'a branch before it is merged'],
    ['hh-sync diff dc1 --live', "the fabric's ref against the cluster as it is now"],
    [
      "hh-sync diff dc1 --local ./fabric -o json | jq '.objects[].differences'",
      'the differences as RFC 6902 operations',
    ],
  ]).action((fabric: string, flags: DiffFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('diff', out.format, OBJECT_FORMATS);
      const request = diffRequest(flags);
      return (await import('./diff-action.js')).runDiff(fabric, request, g, out, context);
    }),
  );
}
