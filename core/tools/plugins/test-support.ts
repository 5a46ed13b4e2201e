/**
 * Test helpers: compile WebAssembly text with wabt and install a plugin (module and
 * manifest with its real sha256) into a plugins directory. Used by tests only; wabt is a
 * dev dependency and never reaches the bundle.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';
import { sha256Hex } from '../../base/index.ts';
import type { ToolContext } from '../tool.ts';

/** Compiles `.wat` text to a validated `.wasm` binary. */
export async function compileWat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('test.wat', text);
  try {
    module.resolveNames();
    module.validate();
    return Uint8Array.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

/**
 * The ABI boilerplate most test plugins share: memory `(1 max)` exported and a bump `alloc`
 * that traps when memory cannot grow. `body` adds the `run` export and anything else.
 */
export function watModule(body: string, options: { imports?: string; memory?: string } = {}): string {
  return `(module
  ${options.imports ?? ''}
  (memory (export "memory") ${options.memory ?? '1 16'})
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (global.get $heap) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1)) (then unreachable))))
    (local.get $ptr))
  ${body})`;
}

/** Installs plugin `name` compiled from `wat`; `manifest` overrides fields of a valid default. */
export async function installPlugin(
  pluginsDir: string,
  name: string,
  options: { wat: string; manifest?: Record<string, unknown> },
): Promise<{ dir: string; sha256: string }> {
  const bytes = await compileWat(options.wat);
  const dir = join(pluginsDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.wasm`), bytes);
  const sha256 = sha256Hex(bytes);
  const manifest = {
    manifestVersion: 1,
    name,
    version: '0.1.0',
    description: `Test plugin ${name}.`,
    module: `${name}.wasm`,
    sha256,
    hostFunctions: [],
    limits: { memoryPages: 16 },
    ...options.manifest,
  };
  writeFileSync(join(dir, 'plugin.json'), JSON.stringify(manifest, null, 2));
  return { dir, sha256 };
}

/** A tool context for calls in tests. */
export function toolContext(dir: string, signal: AbortSignal = new AbortController().signal): ToolContext {
  return { workspace: dir, stateDir: dir, signal, sessionId: null };
}
