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
import { CommandRunner, examples, yamlStringifier } from './command-runner.js';
import { registerDemoCommand } from './demo-command.js';
import { registerDraftCommands } from './draft-command.js';
import { registerDriftCommand } from './drift-command.js';
import { registerFabricCommand } from './fabric-command.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerReadCommands } from './reads-command.js';
import { registerSyncCommand } from './sync-command.js';
import { registerWatchCommand } from './watch-command.js';
import { formatInArgv, outputOption } from './output-format.js';

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
    .version(packageVersion(), '-V, --version')
    // Set before the subcommands are added: they inherit these settings.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => stdout.write(text),
      writeErr: (text) => stderr.write(text),
      outputError: (text, write) => write(`hh-sync: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage and examples)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .option(
      '--database-url <url>',
      'PostgreSQL URL of the ledger (default: HH_SYNC_DATABASE_URL, then DATABASE_URL, then the embedded ledger)',
    )
    .option('--data-dir <dir>', 'embedded ledger directory when no URL is configured (default .hh-sync/pgdata)')
    .option('--json', 'machine-readable output on stdout (logs and progress stay on stderr); on failure {"error": {…}}')
    .addOption(outputOption())
    .option(
      '--connect-timeout <seconds>',
      'how long one database connection attempt may take (default: HH_SYNC_CONNECT_TIMEOUT, then 10)',
    )
    .option(
      '--statement-timeout <seconds>',
      'how long one database statement may go unanswered before its connection is given up (default: HH_SYNC_STATEMENT_TIMEOUT, then 300)',
    )
    .addOption(
      new Option('-q, --quiet', 'no progress or notes; only results, warnings and errors').conflicts('verbose'),
    )
    .option('-v, --verbose', 'debug logs and stack traces on stderr');
  examples(program, [
    ['hh-sync demo', 'the whole job on a fake cluster, nothing to install'],
    ['hh-sync fabric add dc1 --kubeconfig ~/.kube/dc1 --git ./dc1-fabric', ''],
    ['hh-sync sync dc1', ''],
    ['hh-sync drift dc1 --exit-code', ''],
    ['hh-sync draft apply dc1 -f vpc-2.yaml && hh-sync publish dc1 -m "Add vpc-2"', 'change Git through the ledger'],
  ]);
  program.addHelpText(
    'after',
    '\n\nExit codes: 0 success, 1 drift/findings (with --exit-code) or objects left out (draft, publish), 2 usage error, 3 runtime failure.\nReference: docs/cli.md\n',
  );

  registerMigrateCommand(program, runner);

  if (doctorModule) {
    const doctor = doctorModule.configureDoctorCommand(program.command('doctor'));
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
      // --database-url, --data-dir and --json are parsed as global flags: optsWithGlobals has them all.
      await runner.run(cmd, (_g, _out, context) =>
        doctorModule.runDoctor(cmd.optsWithGlobals<DoctorCommandOptions>(), doctorIO(context)),
      );
    });
  } else {
    program
      .command('doctor')
      .description('find NOT NULL columns without a default and ledger schema drift; --fix repairs our defaults');
  }

  registerFabricCommand(program, runner);
  registerSyncCommand(program, runner);
  registerDriftCommand(program, runner);
  registerReadCommands(program, runner);
  registerDraftCommands(program, runner);
  registerWatchCommand(program, runner);
  registerDemoCommand(program, runner);
  return program;
}

/** The doctor's line-oriented IO on this invocation's streams (it predates Output and keeps its own). */
function doctorIO(context: CliContext): import('./doctor-command.js').CommandIO {
  const line = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  return {
    stdout: (text) => context.stdout.write(line(text)),
    stderr: (text) => context.stderr.write(line(text)),
    env: context.env,
    cwd: context.cwd,
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
    // Usage errors never reach the runner: with --json or -o json|yaml, stdout still gets its one document.
    const format = formatInArgv(argv);
    const structured = format === 'json' || format === 'yaml';
    const out = runner.output({ output: structured ? format : undefined });
    if (format === 'yaml') out.yamlStringify = await yamlStringifier();
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok;
      if (structured)
        out.printData(errorJson({ code: EXIT.usage, kind: 'usage', line: err.message.replace(/^error: /, '') }));
      return EXIT.usage;
    }
    const classified = classifyError(err);
    out.error(classified.line);
    if (structured) out.printData(errorJson(classified));
    return classified.code;
  }
  return runner.exitCode;
}
