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

  /** Replaced once the global settings are resolved (main.ts): by then their variables are out of its env. */
  constructor(public context: CliContext = cliContext()) {}

  /** Output for these flags on this invocation's streams. */
  output(g: GlobalOptions): Output {
    return new Output(g, this.context.stdout, this.context.stderr, this.context.env);
  }

  async run(command: Command, work: CommandWork): Promise<void> {
    const g = command.optsWithGlobals<GlobalOptions>();
    let out: Output;
    try {
      out = this.output(g);
    } catch (err) {
      // --json with -o yaml: the one usage error that exists before there is an Output to print it.
      out = this.output({ ...g, output: undefined, json: true });
      out.error(classifyError(err).line);
      out.printData(errorJson(classifyError(err)));
      this.exitCode = classifyError(err).code;
      return;
    }
    if (out.format === 'yaml') out.yamlStringify = await yamlStringifier();
    try {
      this.exitCode = await work(g, out, this.context);
    } catch (err) {
      const classified = classifyError(err);
      out.error(classified.line);
      if (out.verbose && err instanceof Error && err.stack) out.debug(err.stack);
      // With -o json|yaml, stdout holds one document whatever happened: the error when there is no result.
      if (out.structured && !out.wroteStdout) out.printData(errorJson(classified));
      this.exitCode = classified.code;
    }
  }
}

/** YAML as `kubectl get -o yaml` prints it: block style, no line folding, keys in the document's order. */
export async function yamlStringifier(): Promise<(value: unknown) => string> {
  const { stringify } = await import('yaml');
  return (value) => stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** `Examples:` help section shown after a command's own help. */
export function examples(command: Command, lines: [string, string][]): Command {
  const body = lines.map(([cmd, what]) => `${what ? `  # ${what}\n` : ''}  $ ${cmd}`).join('\n');
  return command.addHelpText('after', `\nExamples:\n${body}`);
}
