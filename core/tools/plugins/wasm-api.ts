/**
 * Types for the parts of the global `WebAssembly` object plugins use.
 *
 * Why local: the project compiles without the DOM lib (which is where TypeScript declares
 * `WebAssembly`), and a global declaration here would clash the day the DOM lib or newer
 * Node types are added. Module-scoped types cannot clash.
 */

/** A compiled module (opaque; structured-cloneable into a worker). */
export interface WasmModule {
  readonly __wasmModule: unique symbol;
}

/** A linear memory; `buffer` is replaced (the old one detached) whenever it grows. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** An instantiated module. */
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

/** One import or export a module declares. */
export interface WasmDescriptor {
  module?: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

/** The subset of the `WebAssembly` global used here. */
export interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Module: {
    imports(module: WasmModule): Array<WasmDescriptor & { module: string }>;
    exports(module: WasmModule): WasmDescriptor[];
  };
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  RuntimeError: new (...args: never[]) => Error;
  LinkError: new (...args: never[]) => Error;
}

/** The host's `WebAssembly`, typed. */
export function wasmApi(): WasmApi {
  return (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
}
