/**
 * The `plugin.run` tool: runs a WebAssembly plugin installed by the operator in the
 * plugins directory, JSON in, JSON out. See docs/plugins.md for the manifest and the ABI.
 */
import { PalyraError, type JsonValue } from '../../base/index.ts';
import { DEFAULT_LIMITS, type ToolDefinition } from '../tool.ts';
import { DEFAULT_MAX_MEMORY_PAGES, loadPlugin } from './plugin-loader.ts';
import { runPluginCall } from './plugin-worker.ts';

/** Input of `plugin.run`. */
export interface PluginRunInput {
  plugin: string;
  input: JsonValue;
}

/** Output of `plugin.run`: which module ran (for the receipt) and what it returned. */
export type PluginRunOutput = {
  plugin: string;
  version: string;
  sha256: string;
  output: JsonValue;
  logs: string[];
};

/** Options of `createPluginRunTool`. */
export interface PluginRunToolOptions {
  /** Directory holding one folder per plugin (usually `<state>/plugins`). */
  pluginsDir: string;
  /** Host cap on any plugin's memory, in 64 KiB pages (default 256 = 16 MiB). */
  maxMemoryPages?: number;
  /** Host cap on any call's wall-clock time (default 10 s); a manifest may only ask for less. */
  timeoutMs?: number;
  /** Cap on a plugin's output JSON (default 1 MiB). */
  maxOutputBytes?: number;
}

/**
 * Creates the `plugin.run` tool. Each call re-reads and re-verifies the plugin (manifest,
 * sha256, imports, memory limits), so replacing a plugin on disk takes effect at once and
 * a tampered module is refused the next time it is asked for.
 */
/** Room in the result for the plugin's name, version, sha256 and logs beside its output. */
const ENVELOPE_BYTES = 256 * 1024;

export function createPluginRunTool(options: PluginRunToolOptions): ToolDefinition<PluginRunInput> {
  const timeoutCap = options.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes;
  const maxMemoryPages = options.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES;
  return {
    name: 'plugin.run',
    description:
      'Run an installed WebAssembly plugin on JSON input and return its JSON output. ' +
      'Plugins run sandboxed with memory and time limits and only the host functions their manifest grants.',
    inputSchema: {
      type: 'object',
      properties: {
        plugin: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'Name of the installed plugin.' },
        input: { description: 'JSON value passed to the plugin.' },
      },
      required: ['plugin', 'input'],
      additionalProperties: false,
    },
    capabilities: ['plugin'],
    risk: 'medium',
    parallelSafe: true,
    // The plugin's own output is capped at maxOutputBytes (in the worker); the result the
    // registry measures also holds the envelope and up to 32 log lines of 1 KiB, which JSON
    // escaping can grow sixfold.
    limits: { timeoutMs: timeoutCap, maxOutputBytes: maxOutputBytes + ENVELOPE_BYTES },
    async run(input, context): Promise<JsonValue> {
      if (typeof input?.plugin !== 'string' || input.input === undefined) {
        throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', 'Input of "plugin.run" is invalid: fields "plugin" (string) and "input" are required', {
          details: { field: input?.plugin === undefined ? 'plugin' : 'input' },
        });
      }
      const plugin = await loadPlugin(options.pluginsDir, input.plugin, { maxMemoryPages });
      plugin.checkInput(input.input);
      const { manifest } = plugin;
      const timeoutMs = Math.min(manifest.limits.timeoutMs, timeoutCap);
      const result = await runPluginCall(plugin, input.input, { timeoutMs, maxOutputBytes, signal: context.signal });
      const output: PluginRunOutput = {
        plugin: manifest.name,
        version: manifest.version,
        sha256: manifest.sha256,
        output: result.output,
        logs: result.logs,
      };
      return output;
    },
  };
}
