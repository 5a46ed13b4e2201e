/** WebAssembly plugins: the `plugin.run` tool, the manifest, and the operator's listing. */
export { createPluginRunTool } from './plugin-run-tool.ts';
export type { PluginRunInput, PluginRunOutput, PluginRunToolOptions } from './plugin-run-tool.ts';
export { listPlugins } from './list-plugins.ts';
export type { PluginInfo } from './list-plugins.ts';
export { loadPlugin, DEFAULT_MAX_MEMORY_PAGES } from './plugin-loader.ts';
export type { LoadedPlugin } from './plugin-loader.ts';
export { runPluginCall, pluginWorkerCounts, MAX_INPUT_BYTES } from './plugin-worker.ts';
export type { PluginCallOptions, PluginCallResult } from './plugin-worker.ts';
export { parseManifest, HOST_FUNCTIONS, MANIFEST_VERSION, PLUGIN_NAME_PATTERN, DEFAULT_PLUGIN_TIMEOUT_MS } from './manifest.ts';
export type { PluginManifest, HostFunctionName } from './manifest.ts';
