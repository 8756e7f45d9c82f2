/**
 * hh-sync entry point (bin/hh-sync.js calls main with process.argv.slice(2) and exits with its result).
 *
 * Exit codes: 0 success, 1 drift or findings (with --exit-code; `doctor` on findings; objects left out by `draft …`
 * and `publish`), 2 usage error, 3 runtime failure, 130 interrupted. docs/cli.md is the reference.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import type { DoctorCommandOptions } from './doctor-command.js';
import { EXIT, classifyError, errorJson } from './cli-errors.js';
import { cliContext, type CliContext } from './cli-context.js';
import {
  applySettings,
  commandLineSettings,
  outputFormatFromSettings,
  resolveSettings,
  settingsOrigins,
  withoutSettingVariables,
} from './cli-config.js';
import { registerCompletionCommand } from './completion-command.js';
import { CommandRunner, examples, yamlStringifier } from './command-runner.js';
import { registerDemoCommand } from './demo-command.js';
import { registerDiffCommand } from './diff-command.js';
import { registerDraftCommands } from './draft-command.js';
import { registerDriftCommand } from './drift-command.js';
import { registerFabricCommand } from './fabric-command.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerReadCommands } from './reads-command.js';
import { registerSyncCommand } from './sync-command.js';
import { registerWatchCommand } from './watch-command.js';
import { STRUCTURED_FORMATS, formatInArgv, outputOption, requireFormat } from './output-format.js';
import type { Output } from './cli-output.js';

/** Exit code 2 for usage errors, as every hh-sync command. */
export const USAGE_EXIT = EXIT.usage;

/** The package version (package.json sits above both src/cli and dist/src/cli). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'hedgehog-fabric-sync') return pkg.version ?? '0.0.0';
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

type DoctorModule = typeof import('./doctor-command.js');

/**
 * Builds the command tree. Command modules are light (flags, help); their work is imported when they run.
 * The doctor's options come from doctor-command.ts, which loads the database code: it is imported only
 * when the command line mentions `doctor` (otherwise the listing needs just its name and summary).
 */
export function buildProgram(runner: CommandRunner, doctorModule?: DoctorModule): Command {
  const { stdout, stderr } = runner.context;
  const program = new Command('hh-sync')
    .description(
      'A PostgreSQL ledger of a Hedgehog Open Network Fabric: desired state from Git, actual state from Kubernetes, and the drift between them.',
    )
    // Set before the subcommands are added: they inherit these settings.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => stdout.write(text),
      writeErr: (text) => stderr.write(text),
      // main() prints a usage error itself, as one line (commander's may span three: message, suggestion, hint).
      outputError: () => {},
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .option('-V, --version', 'print the version (with -o json: {"version": "…"})')
    .on('option:version', () => {
      // Printed by main(), in the output format the rest of the command line asks for.
      throw new CommanderError(EXIT.ok, 'commander.version', packageVersion());
    })
    .option(
      '--config <file>',
      'configuration file of global settings (default: HH_SYNC_CONFIG, then hh-sync.yaml in the working directory if there)',
    )
    .option(
      '--database-url <url>',
      'PostgreSQL URL of the ledger (default: HH_SYNC_DATABASE_URL, then DATABASE_URL, then the configuration file, then the embedded ledger)',
    )
    .option(
      '--data-dir <dir>',
      'embedded ledger directory when no URL is configured (default: HH_SYNC_DATA_DIR, the configuration file, then .hh-sync/pgdata)',
    )
    .option('--json', 'machine-readable output on stdout (logs and progress stay on stderr); on failure {"error": {…}}')
    .addOption(outputOption())
    .option(
      '--connect-timeout <seconds>',
      'how long one database connection attempt may take (default: HH_SYNC_CONNECT_TIMEOUT, the configuration file, then 10)',
    )
    .option(
      '--statement-timeout <seconds>',
      'how long one database statement may go unanswered before its connection is given up (default: HH_SYNC_STATEMENT_TIMEOUT, the configuration file, then 300)',
    )
    .addOption(
      new Option(
        '-q, --quiet',
        'no progress or notes; only results, warnings and errors (also HH_SYNC_QUIET=1)',
      ).conflicts('verbose'),
    )
    .option('-v, --verbose', 'debug logs and stack traces on stderr (also HH_SYNC_VERBOSE=1)');
  program.hook('preAction', (_program, actionCommand) => settleGlobalSettings(program, actionCommand, runner));
  examples(program, [
    ['hh-sync demo', 'the whole job on a fake cluster, nothing to install'],
    ['hh-sync fabric add dc1 --kubeconfig ~/.kube/dc1 --git ./dc1-fabric', ''],
    ['hh-sync sync dc1', ''],
    ['hh-sync drift dc1 --exit-code', ''],
    ['hh-sync draft apply dc1 -f vpc-2.yaml && hh-sync publish dc1 -m "Add vpc-2"', 'change Git through the ledger'],
  ]);
  program.addHelpText(
    'after',
    '\n\nSettings: flag > HH_SYNC_* environment variable > configuration file (--config, HH_SYNC_CONFIG, ./hh-sync.yaml) > default.\nExit codes: 0 success, 1 drift/findings (with --exit-code) or objects left out (draft, publish), 2 usage error, 3 runtime failure.\nReference: docs/cli.md\n',
  );

  registerMigrateCommand(program, runner);

  if (doctorModule) {
    const doctor = doctorModule.configureDoctorCommand(program.command('doctor'), { standalone: false });
    examples(doctor, [
      ['hh-sync doctor', 'the embedded ledger'],
      [
        'hh-sync doctor --database-url postgres://db/app --schema public',
        'any PostgreSQL database: NOT NULL columns without a default',
      ],
      ['hh-sync doctor --fix --dry-run', 'show the SQL that restores our defaults'],
      [
        'hh-sync doctor --database-url postgres://db/app --schema app --table orders --fix --dry-run --out fix.sql',
        'type defaults for another table, as a migration file',
      ],
    ]).action(async (_opts: DoctorCommandOptions, cmd: Command) => {
      // --database-url, --data-dir, --json and -o are parsed as global flags: optsWithGlobals has them all.
      await runner.run(cmd, async (_g, out, context) => {
        requireFormat('doctor', out.format, STRUCTURED_FORMATS);
        const options = { ...cmd.optsWithGlobals<DoctorCommandOptions>(), json: out.structured };
        return doctorModule.runDoctor(options, doctorIO(context, out));
      });
    });
  } else {
    program
      .command('doctor')
      .description('find NOT NULL columns without a default and ledger schema drift; --fix repairs our defaults');
  }

  registerFabricCommand(program, runner);
  registerSyncCommand(program, runner);
  registerDriftCommand(program, runner);
  registerDiffCommand(program, runner);
  registerReadCommands(program, runner);
  registerDraftCommands(program, runner);
  registerWatchCommand(program, runner);
  registerDemoCommand(program, runner);
  registerCompletionCommand(program, runner, async () =>
    buildProgram(new CommandRunner(runner.context), await import('./doctor-command.js')),
  );
  return program;
}

/**
 * The doctor's line-oriented IO on this invocation's streams (it predates Output and keeps its own); its document
 * goes through Output, as JSON or YAML.
 */
function doctorIO(context: CliContext, out: Output): import('./doctor-command.js').CommandIO {
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  return {
    stdout: (text) => context.stdout.write(line(text)),
    stderr: (text) => context.stderr.write(line(text)),
    env: context.env,
    cwd: context.cwd,
    data: (value) => out.printData(value),
  };
}

/** `hh-sync … | head`: the reader went away; stop quietly instead of crashing on EPIPE. */
function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

/**
 * Before any command's work: the global settings from the command line, the environment and the configuration file
 * (cli-config.ts), put into the program's options. The command then sees an environment without those variables,
 * so nothing reads them a second time. `completion` needs none of it (and must work whatever the directory holds).
 */
async function settleGlobalSettings(program: Command, actionCommand: Command, runner: CommandRunner): Promise<void> {
  if (actionCommand.name() === 'completion') return;
  const { env, cwd } = runner.context;
  const resolved = await resolveSettings(commandLineSettings(program), env, cwd);
  applySettings(program, resolved);
  runner.context = { ...runner.context, env: withoutSettingVariables(env) };
  const out = runner.output(actionCommand.optsWithGlobals());
  for (const warning of resolved.warnings) out.warn(warning);
  out.debug(settingsOrigins(resolved));
}

/**
 * The command a raw command line names (`['fabric', 'add']`), as far as it names one: for the help hint of a usage
 * error commander found before any action ran.
 */
function commandPathIn(program: Command, argv: readonly string[]): string[] {
  const path: string[] = [];
  let current = program;
  for (const word of argv) {
    if (word === '--') break;
    const sub = current.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) continue;
    path.push(sub.name());
    current = sub;
  }
  return path;
}

/** commander's message (`error: unknown command 'x'\n(Did you mean sync?)`) as one line with where to look. */
function usageLine(err: CommanderError, program: Command, argv: readonly string[]): string {
  const message = err.message
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
    .replace('(Did you mean', '(did you mean')
    .replace(/\.$/, '');
  return `${message}; see \`${['hh-sync', ...commandPathIn(program, argv), '--help'].join(' ')}\``;
}

/** `--version`: the bare version, or `{"version": …}` with -o json / yaml. */
function printVersion(out: import('./cli-output.js').Output, version: string): void {
  if (out.structured) out.printData({ version });
  else out.result(version);
}

/**
 * Runs one command line; returns the exit code. `given` replaces parts of the process the command would
 * otherwise use (streams, environment, working directory, the ledger opener): tests run the CLI in-process
 * through it.
 */
export async function main(argv: string[], given: Partial<CliContext> = {}): Promise<number> {
  // Only this process's own streams can lose their reader (and only then may the process exit).
  if (!given.stdout && !given.stderr) exitQuietlyOnBrokenPipe();
  const runner = new CommandRunner(cliContext(given));
  const program = buildProgram(runner, argv.includes('doctor') ? await import('./doctor-command.js') : undefined);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    // Usage errors never reach the runner: with --json or -o json|yaml (typed, from HH_SYNC_OUTPUT or from the
    // settings file), stdout still gets its one document.
    const format = formatInArgv(argv) ?? (await outputFormatFromSettings(argv, runner.context.env, runner.context.cwd));
    const structured = format === 'json' || format === 'yaml';
    const out = runner.output({ output: format });
    if (format === 'yaml') out.yamlStringify = await yamlStringifier();
    if (err instanceof CommanderError) {
      if (err.code === 'commander.version') printVersion(out, err.message);
      if (err.exitCode === 0) return EXIT.ok;
      // A command group without its subcommand: commander has shown the group's help on stderr already.
      const helpShown = err.code === 'commander.help';
      const line = helpShown
        ? `a subcommand is needed; see \`${['hh-sync', ...commandPathIn(program, argv), '--help'].join(' ')}\``
        : usageLine(err, program, argv);
      if (!helpShown) out.error(line);
      if (structured) out.printData(errorJson({ code: EXIT.usage, kind: 'usage', line }));
      return EXIT.usage;
    }
    const classified = classifyError(err);
    out.error(classified.line);
    if (structured) out.printData(errorJson(classified));
    return classified.code;
  }
  return runner.exitCode;
}
