/**
 * The one place a command's work is run: global flags merged, output set up, any error turned into its
 * exit code and one line (the stack only with --verbose).
 */
import type { Command } from 'commander';
import { cliContext, type CliContext } from './cli-context.js';
import { Output, type GlobalOptions } from './cli-output.js';
import { classifyError, errorJson } from './cli-errors.js';

export type CommandWork = (g: GlobalOptions, out: Output, context: CliContext) => Promise<number>;

export class CommandRunner {
  exitCode = 0;

  constructor(readonly context: CliContext = cliContext()) {}

  /** Output for these flags on this invocation's streams. */
  output(g: GlobalOptions): Output {
    return new Output(g, this.context.stdout, this.context.stderr, this.context.env);
  }

  async run(command: Command, work: CommandWork): Promise<void> {
    const g = command.optsWithGlobals<GlobalOptions>();
    const out = this.output(g);
    try {
      this.exitCode = await work(g, out, this.context);
    } catch (err) {
      const classified = classifyError(err);
      out.error(classified.line);
      if (out.verbose && err instanceof Error && err.stack) out.debug(err.stack);
      // With --json, stdout holds one JSON document whatever happened: the error when there is no result.
      if (out.json && !out.wroteStdout) out.printJson(errorJson(classified));
      this.exitCode = classified.code;
    }
  }
}

/** `Examples:` help section shown after a command's own help. */
export function examples(command: Command, lines: [string, string][]): Command {
  const body = lines.map(([cmd, what]) => `${what ? `  # ${what}\n` : ''}  $ ${cmd}`).join('\n');
  return command.addHelpText('after', `\nExamples:\n${body}`);
}
