/**
 * The code that runs inside a plugin's worker thread.
 *
 * Why a function turned into a string: a single executable (Node SEA) can start workers
 * only from code (`eval: true`), never from a file path, and the same must work from
 * source under tsx and in the bundle under Node and Deno. So `pluginWorkerMain` is
 * self-contained (no imports, no outer variables; only `require` of built-ins), and its
 * `.toString()` is the worker's program in every one of those settings.
 */
import type { JsonValue } from '../../base/index.ts';
import type { HostFunctionName } from './manifest.ts';
import type { WasmApi, WasmMemory, WasmModule } from './wasm-api.ts';

/** What the parent sends (as `workerData`). */
export interface WorkerJob {
  module: WasmModule;
  /** UTF-8 JSON of the plugin's input. */
  input: Uint8Array;
  hostFunctions: HostFunctionName[];
  /** The module's declared memory maximum, in pages. */
  memoryMaxPages: number;
  maxOutputBytes: number;
  /** Log lines kept per call, and bytes kept per line: a chatty plugin cannot flood the host. */
  maxLogLines: number;
  maxLogLineBytes: number;
}

/** The one message a worker sends back. */
export type WorkerReply =
  | { ok: true; output: JsonValue; logs: string[] }
  | { ok: false; code: 'PALYRA_TOOL_FAILED' | 'PALYRA_TOOL_LIMIT_EXCEEDED'; message: string; logs: string[] };

/**
 * Worker entry: instantiates the module with the granted host functions, copies the
 * input in through `alloc`, calls `run`, and replies with the parsed JSON output or a
 * classified failure. Runs only inside a worker (see `pluginWorkerCode`).
 */
export function pluginWorkerMain(): void {
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const job = threads.workerData as WorkerJob;
  const reply = (message: WorkerReply): void => threads.parentPort?.postMessage(message);
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const logs: string[] = [];
  const PAGE = 65_536;
  let memory: WasmMemory | undefined;
  let initialPages = 0;

  const view = (ptr: number, len: number, what: string): Uint8Array => {
    if (memory === undefined || ptr + len > memory.buffer.byteLength) throw new RangeError(`${what} lies outside the plugin's memory`);
    return new Uint8Array(memory.buffer, ptr, len);
  };
  const host: Record<HostFunctionName, (...args: number[]) => number | void> = {
    log: (ptr = 0, len = 0) => {
      if (logs.length >= job.maxLogLines) return;
      const bytes = view(ptr >>> 0, Math.min(len >>> 0, job.maxLogLineBytes), 'log message');
      logs.push(new TextDecoder().decode(bytes));
    },
    now_ms: () => Date.now(),
    random_u32: () => globalThis.crypto.getRandomValues(new Uint32Array(1))[0] ?? 0,
  };
  const granted: Record<string, unknown> = {};
  // Security: only the functions the manifest grants are visible; the parent already refused
  // modules importing anything else, so a missing grant here is a link error, not a leak.
  for (const name of job.hostFunctions) granted[name] = host[name];

  try {
    const instance = new wasm.Instance(job.module, { palyra: granted });
    memory = instance.exports.memory as WasmMemory;
    const alloc = instance.exports.alloc as (len: number) => number;
    const run = instance.exports.run as (ptr: number, len: number) => unknown;
    initialPages = memory.buffer.byteLength / PAGE;

    const inPtr = alloc(job.input.length) >>> 0;
    view(inPtr, job.input.length, `input buffer from alloc (${inPtr}, ${job.input.length} bytes)`).set(job.input);
    const packed = run(inPtr, job.input.length);
    if (typeof packed !== 'bigint') throw new TypeError('"run" must return an i64 (output pointer << 32 | length)');
    const outPtr = Number(BigInt.asUintN(64, packed) >> 32n);
    const outLen = Number(BigInt.asUintN(32, packed));
    if (outLen > job.maxOutputBytes) {
      reply({ ok: false, code: 'PALYRA_TOOL_LIMIT_EXCEEDED', message: `output is ${outLen} bytes, above the limit of ${job.maxOutputBytes}`, logs });
      return;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(view(outPtr, outLen, `output (${outPtr}, ${outLen} bytes)`));
    } catch (error) {
      if (error instanceof RangeError) throw error;
      throw new TypeError('output is not valid UTF-8');
    }
    let output: JsonValue;
    try {
      output = JSON.parse(text) as JsonValue;
    } catch (error) {
      throw new TypeError(`output is not valid JSON: ${(error as Error).message}`);
    }
    reply({ ok: true, output, logs });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const pages = memory === undefined ? 0 : memory.buffer.byteLength / PAGE;
    if (error instanceof wasm.RuntimeError && pages >= job.memoryMaxPages && pages > initialPages) {
      // memory.grow returned -1 at the declared maximum and the plugin then trapped.
      reply({ ok: false, code: 'PALYRA_TOOL_LIMIT_EXCEEDED', message: `trapped after growing its memory to the limit of ${pages} pages: ${message}`, logs });
    } else if (error instanceof RangeError && /call stack/i.test(message)) {
      reply({ ok: false, code: 'PALYRA_TOOL_LIMIT_EXCEEDED', message: `exceeded the stack limit: ${message}`, logs });
    } else if (error instanceof wasm.RuntimeError) {
      reply({ ok: false, code: 'PALYRA_TOOL_FAILED', message: `trapped: ${message}`, logs });
    } else if (error instanceof wasm.LinkError) {
      reply({ ok: false, code: 'PALYRA_TOOL_FAILED', message: `cannot be linked (wrong host function signature?): ${message}`, logs });
    } else {
      reply({ ok: false, code: 'PALYRA_TOOL_FAILED', message: `failed: ${message}`, logs });
    }
  }
}

/**
 * The worker's program text. tsx (from source) wraps nested functions in `__name(...)`
 * calls to keep their names; the bundle does not. A local no-op `__name` makes the same
 * text run in both.
 */
export function pluginWorkerCode(): string {
  return `"use strict";\nvar __name = (fn) => fn;\n(${pluginWorkerMain.toString()})();\n`;
}
