/**
 * Runs one call of a loaded plugin in its own worker thread, under a wall-clock limit,
 * a memory cap, an output cap and the caller's AbortSignal.
 *
 * One worker per call, no pool: the only way to stop wasm that loops is to terminate its
 * thread, so a pooled worker would be thrown away after every bad call anyway; a fresh
 * isolate also means no state leaks from one call (or one plugin) into the next. The
 * price is the worker start, ~10-30 ms, small beside a model turn.
 */
import { Worker } from 'node:worker_threads';
import { PalyraError, type JsonValue } from '../../base/index.ts';
import type { LoadedPlugin } from './plugin-loader.ts';
import { pluginWorkerCode, type WorkerJob, type WorkerReply } from './worker-body.ts';

/** Limits of one call. */
export interface PluginCallOptions {
  /** Wall-clock limit, from worker start to reply. */
  timeoutMs: number;
  /** Cap on the output JSON, in bytes. */
  maxOutputBytes: number;
  /** Aborting it terminates the worker: the call fails with PALYRA_TOOL_CANCELLED. */
  signal?: AbortSignal;
}

/** What a call returns: the plugin's output and what it logged through `log`. */
export interface PluginCallResult {
  output: JsonValue;
  logs: string[];
}

/** Largest input accepted, as UTF-8 JSON. */
export const MAX_INPUT_BYTES = 1024 * 1024;

// Security: the JS heap of the worker (our glue code, log lines, output parsing) is
// bounded too; wasm memory is bounded separately by the module's declared maximum.
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 };

const counts = { started: 0, live: 0 };
let code: string | undefined;

/** Plugin worker threads started since the process began, and alive now (for tests and health checks). */
export function pluginWorkerCounts(): { started: number; live: number } {
  return { ...counts };
}

/**
 * Runs `plugin` on `input` in a fresh worker. Settles only after the worker has exited,
 * so a timed-out or cancelled plugin is gone, not merely forgotten.
 * @throws PalyraError PALYRA_TOOL_TIMEOUT, PALYRA_TOOL_CANCELLED, PALYRA_TOOL_LIMIT_EXCEEDED,
 *   PALYRA_TOOL_FAILED (trap, invalid output), PALYRA_TOOL_INPUT_INVALID (input too large).
 */
export async function runPluginCall(plugin: LoadedPlugin, input: JsonValue, options: PluginCallOptions): Promise<PluginCallResult> {
  const name = plugin.manifest.name;
  const fail = (code: PalyraError['code'], what: string): PalyraError => new PalyraError(code, `Plugin "${name}" ${what}`, { details: { plugin: name } });
  const inputBytes = new TextEncoder().encode(JSON.stringify(input));
  if (inputBytes.length > MAX_INPUT_BYTES) {
    throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', `Input of plugin "${name}" is ${inputBytes.length} bytes, above the limit of ${MAX_INPUT_BYTES}`, {
      details: { plugin: name, field: 'input' },
    });
  }
  if (options.signal?.aborted) throw fail('PALYRA_TOOL_CANCELLED', 'was cancelled before it started');

  const job: WorkerJob = {
    module: plugin.module,
    input: inputBytes,
    hostFunctions: plugin.manifest.hostFunctions,
    memoryMaxPages: plugin.memoryMaxPages,
    maxOutputBytes: options.maxOutputBytes,
    maxLogLines: 32,
    maxLogLineBytes: 1024,
  };
  // Security: `env: {}` - the worker sees none of the daemon's environment (secrets).
  const worker = new Worker((code ??= pluginWorkerCode()), { eval: true, workerData: job, env: {}, resourceLimits: RESOURCE_LIMITS });
  counts.started++;
  counts.live++;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  void exited.then(() => counts.live--);

  let outcome: PluginCallResult | PalyraError | undefined;
  const settle = (value: PluginCallResult | PalyraError): void => {
    outcome ??= value;
    void worker.terminate();
  };
  const timer = setTimeout(() => settle(fail('PALYRA_TOOL_TIMEOUT', `exceeded its time limit of ${options.timeoutMs} ms and was stopped`)), options.timeoutMs);
  const onAbort = (): void => settle(fail('PALYRA_TOOL_CANCELLED', 'was cancelled and stopped'));
  options.signal?.addEventListener('abort', onAbort, { once: true });

  worker.on('message', (reply: WorkerReply) => {
    settle(reply.ok ? { output: reply.output, logs: reply.logs } : fail(reply.code, reply.message));
  });
  worker.on('messageerror', (error) => settle(fail('PALYRA_TOOL_FAILED', `sent an unreadable reply: ${error.message}`)));
  worker.on('error', (error: Error & { code?: string }) => {
    settle(
      error.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? fail('PALYRA_TOOL_LIMIT_EXCEEDED', `exceeded the worker's heap limit: ${error.message}`)
        : fail('PALYRA_TOOL_FAILED', `worker failed: ${error.message}`),
    );
  });
  worker.once('exit', (exitCode) => settle(fail('PALYRA_TOOL_FAILED', `worker exited with code ${exitCode} without a result`)));

  try {
    await exited;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  // Invariant: every path to 'exit' calls settle first, or the exit handler does.
  if (outcome instanceof PalyraError || outcome === undefined) throw outcome ?? fail('PALYRA_INTERNAL', 'ended without an outcome');
  return outcome;
}
