import { join } from 'node:path';
import { createEchoTool } from './builtin/echo.ts';
import { createFsListTool } from './builtin/fs-list.ts';
import { createFsReadTool } from './builtin/fs-read.ts';
import { createFsWriteTool } from './builtin/fs-write.ts';
import { createMemoryTools } from './builtin/memory-tools.ts';
import { createProcessRunTool, type ProcessRunOptions } from './builtin/process-run.ts';
import { createSleepTool } from './builtin/sleep.ts';
import { createHttpFetchTool, type HttpFetchOptions } from './http/index.ts';
import type { MemoryStore } from './memory/memory-store.ts';
import { createPluginRunTool, type PluginRunToolOptions } from './plugins/index.ts';
import { ToolRegistry } from './registry.ts';

/** What the built-in tools need from the daemon's configuration. */
export interface BuiltinToolsOptions {
  /** The state directory: plugins live in its `plugins/` folder. */
  stateDir: string;
  memoryStore: MemoryStore;
  /** Executables `process.run` may start; empty means the tool refuses everything. */
  process: ProcessRunOptions;
  http?: HttpFetchOptions;
  plugins?: Omit<PluginRunToolOptions, 'pluginsDir'>;
}

/** A registry holding every built-in tool, configured from `options`. */
export function createBuiltinRegistry(options: BuiltinToolsOptions): ToolRegistry {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  registry.register(createSleepTool());
  registry.register(createFsReadTool());
  registry.register(createFsWriteTool());
  registry.register(createFsListTool());
  registry.register(createProcessRunTool(options.process));
  registry.register(createHttpFetchTool(options.http));
  registry.register(createPluginRunTool({ ...options.plugins, pluginsDir: join(options.stateDir, 'plugins') }));
  for (const tool of createMemoryTools(options.memoryStore)) registry.register(tool);
  return registry;
}
