import { Option } from 'commander';
import { errorBody, escapeTerminalControls, exitCodeOf, PalyraError } from '../core/base/index.ts';

/** Options every command shares, resolved from the global flags. */
export interface OutputOptions {
  json: boolean;
}

/**
 * Whether to colour output: only on a TTY, never with NO_COLOR (any value), and
 * FORCE_COLOR as chalk and Node read it: `0` or `false` turns colour off even on a TTY,
 * any other value (`1`, `true`, empty) on, for people piping into `less -R`.
 */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  const force = process.env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  return stream.isTTY === true;
}

/**
 * What the CLI prints comes from journals, tapes and a model's output, which an attacker
 * may have written: terminal controls are printed as escapes (see escapeTerminalControls),
 * newlines and tabs kept; `colour`: keep SGR sequences, the ones the CLI adds itself.
 */
export function terminalSafe(text: string, colour = true): string {
  return escapeTerminalControls(text, { keepLayout: true, keepColour: colour });
}

/**
 * Prints a value as one JSON document on stdout. JSON escapes C0 controls itself; the rest
 * of the terminal controls occur only inside strings, where `\uXXXX` is the same value.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${terminalSafe(JSON.stringify(value, null, 2), false)}\n`);
}

/** Prints one JSON line (for streams such as `journal tail --json`); escaped as printJson. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${terminalSafe(JSON.stringify(value), false)}\n`);
}

/** Prints human text on stdout, terminal controls escaped (see terminalSafe). */
export function printText(text: string): void {
  const safe = terminalSafe(text);
  process.stdout.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

/**
 * Reports an error on stderr as one sentence (or a JSON body with --json) and returns
 * the exit code. Stack traces are shown only for internal errors, and only with
 * PALYRA_DEBUG set, because a user mistake is never a crash.
 */
export function reportError(error: unknown, json: boolean): 1 | 2 {
  if (json) {
    process.stderr.write(`${terminalSafe(JSON.stringify(errorBody(error)), false)}\n`);
  } else {
    // Messages quote input (a path, a key, a journal's text): escaped like printed text.
    const message = terminalSafe(errorBody(error).error.message, false);
    process.stderr.write(`palyrad: ${message}\n`);
    if (!(error instanceof PalyraError) && process.env.PALYRA_DEBUG && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    }
  }
  return exitCodeOf(error);
}

/**
 * Prints a warning on stderr: `palyrad: warning: …`, or with `--json` anywhere on the
 * command line one `{"warning":{"message"}}` line, so a script reading stderr as JSON
 * lines is not broken by text.
 */
export function printWarning(message: string): void {
  if (process.argv.includes('--json')) process.stderr.write(`${terminalSafe(JSON.stringify({ warning: { message } }), false)}\n`);
  else process.stderr.write(`palyrad: warning: ${terminalSafe(message, false)}\n`);
}

/**
 * The error for a flag whose value is not JSON. Says where, never what: V8's message
 * quotes the text around the fault, which may be a secret, and differs between runtimes.
 */
export function invalidJsonError(flag: string, error: unknown): PalyraError {
  const at = /position (\d+)/.exec((error as Error).message)?.[1];
  return new PalyraError('PALYRA_INVALID_JSON', `${flag} is not valid JSON${at === undefined ? '' : ` (at character ${at})`}`);
}

/** The `--json` flag every command that prints data takes. */
export function jsonOption(): Option {
  return new Option('--json', 'print machine-readable JSON');
}
