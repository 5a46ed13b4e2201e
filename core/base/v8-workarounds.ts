import { setFlagsFromString } from 'node:v8';

/**
 * Works around a V8 bug in Node 20 (V8 11.3): when a lazy deoptimization hits a function
 * that TurboFan had compiled with an inlined JS→Wasm call, the deoptimizer aborts the
 * process ("Fatal error … unreachable code" in DoComputeBuiltinContinuation). Cedar's
 * policy engine is Wasm and runs on every tool call, so a busy daemon met it: measured,
 * `npm run bench:agent` crashed in 6 of 8 runs, and in 0 of 6 with the inlining off.
 * Call before any policy is evaluated; only Node's V8 11 is touched (Deno and newer
 * Node ship later V8s).
 */
export function applyV8Workarounds(): void {
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';
  const v8Major = Number((process.versions.v8 ?? '').split('.')[0]);
  if (isDeno || v8Major !== 11) return;
  try {
    setFlagsFromString('--no-turbo-inline-js-wasm-calls');
  } catch {
    // A runtime without the flag cannot have the bug it avoids.
  }
}
