/**
 * Loads a plugin from `<pluginsDir>/<name>/` and decides whether it may run: manifest
 * valid, module bytes matching the manifest's sha256, imports only granted host
 * functions, memory and tables bounded. Everything here happens before any plugin code
 * runs; the worker only ever receives a module that passed all of it.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PalyraError, sha256Hex, type ErrorCode } from '../../base/index.ts';
import { compileInputCheck, type InputCheck } from './input-schema.ts';
import { HOST_FUNCTIONS, PLUGIN_NAME_PATTERN, parseManifest, type HostFunctionName, type PluginManifest } from './manifest.ts';
import { wasmApi, type WasmModule } from './wasm-api.ts';
import { readWasmStorage, type WasmLimits } from './wasm-limits.ts';

/** Memory cap of any plugin when the host sets none: 256 pages = 16 MiB. */
export const DEFAULT_MAX_MEMORY_PAGES = 256;
/** Largest module file loaded (16 MiB). */
export const MAX_MODULE_BYTES = 16 * 1024 * 1024;
/**
 * Most table elements a module may declare, per table and summed over all its tables
 * (a funcref is 8 bytes). Instantiation allocates and fills every table in one
 * uninterruptible call (~16 ms and ~3 MB per 100000 elements, measured), which neither
 * the time limit nor `terminate()` can cut short; so the total, not only each table, is
 * capped.
 */
export const MAX_TABLE_ELEMENTS = 100_000;
/** Most tables a module may define (imported tables are refused with the other imports). */
export const MAX_TABLES = 16;
const MAX_MANIFEST_BYTES = 64 * 1024;

/** A plugin that passed every check and may be run. */
export interface LoadedPlugin {
  manifest: PluginManifest;
  /** Compiled from exactly the bytes whose hash was checked. */
  module: WasmModule;
  /** The module's declared memory maximum, in pages; within the manifest's and the host's cap. */
  memoryMaxPages: number;
  /** Validates input against the manifest's `input` schema (a no-op without one). */
  checkInput: InputCheck;
}

/**
 * Loads and verifies plugin `name`.
 * @throws PalyraError: PALYRA_TOOL_INPUT_INVALID (bad name), PALYRA_TOOL_NOT_FOUND,
 *   PALYRA_TOOL_FAILED (bad manifest naming the field, unreadable or invalid module),
 *   PALYRA_TOOL_FORBIDDEN (hash mismatch, ungranted import, unbounded memory or table,
 *   too many tables or too many table elements in total).
 */
export async function loadPlugin(pluginsDir: string, name: string, options: { maxMemoryPages?: number } = {}): Promise<LoadedPlugin> {
  // Security: the name becomes a path segment; the pattern admits no separator, dot or "..".
  if (!PLUGIN_NAME_PATTERN.test(name)) {
    throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', `Plugin name "${name}" is invalid: use [a-z0-9][a-z0-9_-]{0,63}`, { details: { field: 'plugin' } });
  }
  const dir = join(pluginsDir, name);
  const manifest = parseManifest(parseJson(name, await readCapped(name, join(dir, 'plugin.json'), MAX_MANIFEST_BYTES, true)), name);
  const bytes = await readCapped(name, join(dir, manifest.module), MAX_MODULE_BYTES, false);
  // Security: hash and compile the same in-memory bytes, so the file cannot change in between.
  const actual = sha256Hex(bytes);
  if (actual !== manifest.sha256) {
    throw fail('PALYRA_TOOL_FORBIDDEN', name, `module "${manifest.module}" does not match its manifest: sha256 is ${actual}, the manifest says ${manifest.sha256}`);
  }
  let module: WasmModule;
  try {
    module = await wasmApi().compile(bytes);
  } catch (error) {
    throw fail('PALYRA_TOOL_FAILED', name, `module "${manifest.module}" is not valid WebAssembly: ${(error as Error).message}`);
  }
  checkImports(name, module, manifest.hostFunctions);
  checkExports(name, module);
  const memoryMaxPages = checkStorage(name, bytes, Math.min(manifest.limits.memoryPages, options.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES));
  let checkInput: InputCheck = () => undefined;
  if (manifest.input !== null) {
    try {
      checkInput = compileInputCheck(name, manifest.input);
    } catch (error) {
      throw new PalyraError('PALYRA_TOOL_FAILED', `Plugin "${name}" manifest is invalid: field "input" is not a usable JSON Schema: ${(error as Error).message}`, {
        details: { plugin: name, field: 'input' },
      });
    }
  }
  return { manifest, module, memoryMaxPages, checkInput };
}

function checkImports(name: string, module: WasmModule, granted: readonly HostFunctionName[]): void {
  for (const imp of wasmApi().Module.imports(module)) {
    const what = `"${imp.module}"."${imp.name}" (${imp.kind})`;
    // Security: the only import namespace is "palyra", and only functions of the fixed set.
    if (imp.module !== 'palyra' || imp.kind !== 'function' || !HOST_FUNCTIONS.includes(imp.name as HostFunctionName)) {
      throw fail('PALYRA_TOOL_FORBIDDEN', name, `imports ${what}, which is not a host function; plugins may import only ${HOST_FUNCTIONS.map((f) => `"palyra"."${f}"`).join(', ')}`);
    }
    if (!granted.includes(imp.name as HostFunctionName)) {
      throw fail('PALYRA_TOOL_FORBIDDEN', name, `imports host function "${imp.name}", which its manifest does not grant (hostFunctions)`);
    }
  }
}

function checkExports(name: string, module: WasmModule): void {
  const kinds = new Map(wasmApi().Module.exports(module).map((e) => [e.name, e.kind]));
  for (const [exp, kind] of [['memory', 'memory'], ['alloc', 'function'], ['run', 'function']] as const) {
    if (kinds.get(exp) !== kind) throw fail('PALYRA_TOOL_FAILED', name, `does not export ${kind} "${exp}" (see docs/plugins.md, ABI)`);
  }
}

function checkStorage(name: string, bytes: Uint8Array, capPages: number): number {
  let storage;
  try {
    storage = readWasmStorage(bytes);
  } catch (error) {
    if (error instanceof PalyraError) throw fail(error.code, name, error.message);
    throw error;
  }
  // Imported memories were refused above, so the exported memory is this one.
  const [memory, ...more] = storage.memories;
  if (memory === undefined || more.length > 0) throw fail('PALYRA_TOOL_FAILED', name, `must define exactly one memory, found ${storage.memories.length}`);
  if (memory.max === null) throw fail('PALYRA_TOOL_FORBIDDEN', name, `declares its memory without a maximum; declare one of at most ${capPages} pages`);
  if (memory.max > capPages) throw fail('PALYRA_TOOL_FORBIDDEN', name, `declares a memory maximum of ${memory.max} pages, above its limit of ${capPages} pages`);
  checkTables(name, storage.tables);
  return memory.max;
}

function checkTables(name: string, tables: readonly WasmLimits[]): void {
  if (tables.length > MAX_TABLES) throw fail('PALYRA_TOOL_FORBIDDEN', name, `declares ${tables.length} tables, above the limit of ${MAX_TABLES}`);
  let minTotal = 0;
  let maxTotal = 0;
  for (const table of tables) {
    if (table.max === null || table.max > MAX_TABLE_ELEMENTS) {
      throw fail('PALYRA_TOOL_FORBIDDEN', name, `declares a table with no maximum or one above ${MAX_TABLE_ELEMENTS} elements`);
    }
    minTotal += table.min;
    maxTotal += table.max;
  }
  // Invariant: a valid module has min <= max per table, so the maximum total bounds both
  // what instantiation allocates (the minimums) and what table.grow can reach.
  const total = Math.max(minTotal, maxTotal);
  if (total > MAX_TABLE_ELEMENTS) {
    throw fail('PALYRA_TOOL_FORBIDDEN', name, `declares tables of ${total} elements in total, above the limit of ${MAX_TABLE_ELEMENTS}`);
  }
}

async function readCapped(name: string, path: string, cap: number, isManifest: boolean): Promise<Uint8Array> {
  try {
    const size = (await stat(path)).size;
    if (size > cap) throw fail('PALYRA_TOOL_FAILED', name, `file ${path} is ${size} bytes, above the limit of ${cap}`);
    return await readFile(path);
  } catch (error) {
    if (error instanceof PalyraError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (isManifest && (code === 'ENOENT' || code === 'ENOTDIR')) {
      throw new PalyraError('PALYRA_TOOL_NOT_FOUND', `Plugin "${name}" is not installed: no ${path}`, { details: { plugin: name } });
    }
    throw fail('PALYRA_TOOL_FAILED', name, `cannot read ${path}: ${code ?? (error as Error).message}`);
  }
}

function parseJson(name: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw fail('PALYRA_TOOL_FAILED', name, `manifest plugin.json is not valid JSON: ${(error as Error).message}`);
  }
}

function fail(code: ErrorCode, name: string, what: string): PalyraError {
  return new PalyraError(code, `Plugin "${name}" ${what}`, { details: { plugin: name } });
}
