/**
 * Loads sql.js (SQLite compiled to WebAssembly) once per process.
 *
 * sql.js is imported lazily so commands that never touch SQLite (`--version`, `--help`)
 * do not pay for parsing it. The wasm bytes come from wasm-assets.ts, never from a path
 * beside the script, so the same code runs under tsx, in the bundle and in the SEA.
 */
import type { SqlJsStatic } from 'sql.js';
import { sqlJsWasm } from './wasm-assets.ts';

type InitSqlJs = (config?: { wasmBinary?: ArrayBufferLike | Uint8Array }) => Promise<SqlJsStatic>;

let loading: Promise<SqlJsStatic> | undefined;

/** The initialised sql.js module; concurrent and later callers share one instance. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  loading ??= init().catch((error: unknown) => {
    // Forget a failed attempt so a later call can retry instead of failing forever.
    loading = undefined;
    throw error;
  });
  return loading;
}

async function init(): Promise<SqlJsStatic> {
  const mod: unknown = await import('sql.js');
  return initFunction(mod)({ wasmBinary: sqlJsWasm() });
}

/**
 * sql.js is CommonJS (`module.exports = initSqlJs`, plus `.default`). Depending on the
 * loader (Node ESM interop under tsx, esbuild's __toESM in the bundle, Deno) the dynamic
 * import yields the function itself, `{ default: fn }` or `{ default: { default: fn } }`.
 */
function initFunction(mod: unknown): InitSqlJs {
  let candidate = mod;
  for (let depth = 0; depth < 3; depth++) {
    if (typeof candidate === 'function') return candidate as InitSqlJs;
    candidate = (candidate as { default?: unknown } | null)?.default;
  }
  throw new Error('Cannot load sql.js: the module exports no init function');
}
