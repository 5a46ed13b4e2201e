/**
 * The WebAssembly binaries palyrad runs (SQLite via sql.js, the Cedar policy engine).
 *
 * This is the source version, used under tsx: it reads the files from node_modules.
 * build.mjs replaces this whole module in the bundle by one that embeds both files
 * (brotli, base64) and decodes each on first call, so the bundle needs no files beside it.
 * Invariant: both versions export the same functions with the same signatures.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let sqlJsBytes: Uint8Array | undefined;
let cedarBytes: Uint8Array | undefined;

/** Resolves a module specifier the way `import` would, from this file. */
function resolvePath(specifier: string): string {
  return fileURLToPath(import.meta.resolve(specifier));
}

/** The sql.js SQLite engine (`sql.js/dist/sql-wasm.wasm`), read once and cached. */
export function sqlJsWasm(): Uint8Array {
  // sql.js exports `./dist/*`, so the .wasm resolves directly.
  sqlJsBytes ??= readFileSync(resolvePath('sql.js/dist/sql-wasm.wasm'));
  return sqlJsBytes;
}

/** The Cedar engine of `@cedar-policy/cedar-wasm/web`, read once and cached. */
export function cedarWasm(): Uint8Array {
  // The exports map hides the .wasm, but it sits beside the exported `web` entry file.
  cedarBytes ??= readFileSync(join(dirname(resolvePath('@cedar-policy/cedar-wasm/web')), 'cedar_wasm_bg.wasm'));
  return cedarBytes;
}
