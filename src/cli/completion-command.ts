/**
 * `hh-sync completion bash|zsh`: prints a shell completion script (the work: completion-script.ts). The script is
 * derived from the command tree itself, so it lists exactly the commands and flags this build has.
 */
import { Argument, type Command } from 'commander';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** `fullProgram` builds the whole tree, the doctor's flags included (the listing program loads them lazily). */
export function registerCompletionCommand(
  program: Command,
  runner: CommandRunner,
  fullProgram: () => Promise<Command>,
): void {
  const command = program
    .command('completion')
    .description('print a shell completion script: commands, subcommands, flags and their choices')
    .addArgument(new Argument('<shell>', 'the shell to complete for').choices(COMPLETION_SHELLS));
  examples(command, [
    ['source <(hh-sync completion bash)', 'bash, this shell (add the line to ~/.bashrc to keep it)'],
    [
      'hh-sync completion zsh > "${fpath[1]}/_hh-sync"',
      'zsh: a file named _hh-sync in a directory of $fpath (then start a new shell)',
    ],
  ]).action((shell: CompletionShell, _flags: unknown, cmd: Command) =>
    runner.run(cmd, async (_g, out) => {
      // A script is neither a table nor a document: any other format is a mistake worth saying.
      if (out.format !== 'table')
        throw new UsageError(`-o ${out.format}: \`hh-sync completion\` prints a shell script; leave out -o/--json`);
      const { completionScript } = await import('./completion-script.js');
      out.result(completionScript(shell, await fullProgram()));
      return 0;
    }),
  );
}
