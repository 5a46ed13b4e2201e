import { Command, CommanderError, Option } from 'commander';
import { PalyraError } from '../core/base/index.ts';
import { colourEnabled, reportError } from './output.ts';
import { PALYRA_VERSION } from './version.ts';
import { registerJournalCommands } from './commands/journal.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerTapeCommands } from './commands/tape.ts';
import { registerClientCommands } from './commands/client.ts';
import { registerSessionCommands } from './commands/sessions.ts';
import { registerWorkerCommands } from './commands/worker.ts';

/** Exit codes shared by every command; printed in `--help`. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the checked thing failed (for example, journal integrity)
  2  usage or I/O error (bad flags, bad input, locked or unreadable state)`;

/** Holds what a command's action sets, so runProgram can return it. */
export interface CliRun {
  exitCode: number;
}

/** Builds the commander program with every command registered. */
export function buildProgram(): { program: Command; run: CliRun } {
  const run: CliRun = { exitCode: 0 };
  const program = new Command('palyrad')
    .description('palyrad: a gateway daemon for AI agents with a tamper-evident journal.')
    .version(PALYRA_VERSION, '-V, --version', 'print the version and exit')
    .addOption(
      new Option('--state <dir>', 'state directory (default: $PALYRA_STATE_DIR, $XDG_STATE_HOME/palyra or ~/.local/state/palyra)'),
    )
    .showSuggestionAfterError(true)
    // Every subcommand takes --state too (before or after its name): list it in their help.
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXIT_CODES_HELP);
  program.exitOverride();
  program.configureOutput({
    // Commander's own error messages are replaced by ours (runProgram); help it prints
    // because a subcommand is missing still goes to stderr.
    outputError: () => undefined,
    // Our own reading of NO_COLOR/FORCE_COLOR, not the stream's: asking Node's hasColors()
    // with both set prints a Node warning on stderr (text, even with --json).
    getOutHasColors: () => colourEnabled(process.stdout),
    getErrHasColors: () => colourEnabled(process.stderr),
  });
  registerServeCommand(program, run);
  registerJournalCommands(program, run);
  registerDoctorCommand(program, run);
  registerPolicyCommands(program, run);
  registerConfigCommands(program, run);
  registerTapeCommands(program, run);
  registerSessionCommands(program, run);
  registerClientCommands(program, run);
  registerWorkerCommands(program, run);
  return { program, run };
}

/** Parses argv, runs the chosen command and returns the process exit code. */
export async function runProgram(built: { program: Command; run: CliRun }, argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  try {
    await built.program.parseAsync(argv);
    return built.run.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // Help shown because no subcommand was given: a usage error, after the help itself.
      // Asked for with `palyrad help [command]`, it is the command's answer: success.
      if (error.code === 'commander.help') {
        const args = argv.slice(2);
        const at = args.indexOf('help');
        // `help NAME` for a command that does not exist printed the main help as if asked for it.
        const named = at === -1 ? undefined : args[at + 1];
        // `journal help verify` names a subcommand of the group before `help`.
        const isNamed = (c: Command, name: string): boolean => c.name() === name || c.aliases().includes(name);
        let group: Command = built.program;
        for (const word of args.slice(0, Math.max(at, 0))) group = group.commands.find((c) => isNamed(c, word)) ?? group;
        if (named !== undefined && !named.startsWith('-') && !group.commands.some((c) => isNamed(c, named))) {
          const path = ['palyrad', ...commandPath(group)].join(' ');
          return reportError(new PalyraError('PALYRA_USAGE', `Unknown command '${named}'. See '${path} --help'.`), wantsJson);
        }
        return at !== -1 ? 0 : 2;
      }
      // One sentence, one line: commander puts its "(Did you mean ...?)" on a line of its own.
      const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/\.?$/, '.');
      const sentence = message.charAt(0).toUpperCase() + message.slice(1);
      return reportError(new PalyraError('PALYRA_USAGE', `${sentence} See 'palyrad --help'.`), wantsJson);
    }
    return reportError(error, wantsJson);
  }
}

/** The names from the program down to `command` (empty for the program itself). */
function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

/**
 * Wraps a command action: runs it, records its exit code, and reports errors in the
 * command's output mode. Actions return the exit code (default 0).
 */
export function action<A extends unknown[]>(
  run: CliRun,
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    const json = Boolean(command.optsWithGlobals?.().json);
    try {
      run.exitCode = (await fn(...args)) ?? 0;
    } catch (error) {
      run.exitCode = reportError(error, json);
    }
  };
}
