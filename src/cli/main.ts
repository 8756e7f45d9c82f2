/**
 * hh-sync entry point (bin/hh-sync.js calls main with process.argv.slice(2)).
 * Minimal dispatcher: the CLI is extended command by command.
 */
import { Command, CommanderError } from 'commander';
import { configureDoctorCommand, runDoctor, type DoctorCommandOptions } from './doctor-command.js';

/** Exit code 2 for usage errors, as every hh-sync command. */
export const USAGE_EXIT = 2;

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('hh-sync')
    .description('PostgreSQL ledger of a Hedgehog Open Network Fabric')
    .exitOverride()
    .showHelpAfterError();
  configureDoctorCommand(program.command('doctor')).action(async (options: DoctorCommandOptions) => {
    exitCode = await runDoctor(options);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : USAGE_EXIT;
    }
    throw err;
  }
  return exitCode;
}
