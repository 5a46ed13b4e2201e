import { setFlagsFromString } from 'node:v8';

/**
 * Wasm functions are optimized only once they are very hot (a tiering budget 100× V8's
 * default of 1.8M). By default V8 re-compiles with TurboFan whatever Cedar and SQLite run
 * a little of while the daemon starts (validating the policies, rebuilding the index);
 * the memory those compilations used is freed but kept by glibc, and was most of an idle
 * daemon's footprint. Measured with the bundle (docs/decisions.md §16): idle RSS 163–174
 * → 120–125 MiB, added latency per message unchanged (interleaved, 4 pairs), runs/s
 * within the noise; what stays hot under load (SQLite's inserts) is still optimized.
 * For `serve` only, before any wasm is compiled; an explicit `--wasm-tiering-budget` on
 * the node command line wins (so would one in NODE_OPTIONS, where a runtime accepts it;
 * Node 20 refuses it there). Costs nothing per message.
 */
export const DAEMON_WASM_TIERING_BUDGET = 180_000_000;

/** True when the operator chose a tiering budget of their own. */
export function tieringBudgetGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((arg) => /^--wasm[-_]tiering[-_]budget\b/.test(arg));
}

/** Applies the daemon's V8 settings (Node only; Deno ships its own V8 and flags). */
export function tuneV8ForDaemon(): void {
  if (typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined') return;
  if (tieringBudgetGiven(process.execArgv, process.env['NODE_OPTIONS'])) return;
  try {
    setFlagsFromString(`--wasm-tiering-budget=${DAEMON_WASM_TIERING_BUDGET}`);
  } catch {
    // A runtime without the flag keeps its default tiering.
  }
}
