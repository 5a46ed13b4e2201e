// The public surface of core/tools. Other folders import only this file.
export { DEFAULT_LIMITS } from './tool.ts';
export type { Capability, RiskLevel, ToolContext, ToolDefinition, ToolLimits, ToolResult } from './tool.ts';
export { ToolRegistry } from './registry.ts';
export type { PreparedTool, ToolInfo, ToolRegistryOptions } from './registry.ts';
export { describeViolation } from './input-validator.ts';
export { failureReceipt, successReceipt } from './receipt.ts';

export { createEchoTool } from './builtin/echo.ts';
export type { EchoInput } from './builtin/echo.ts';
export { createSleepTool } from './builtin/sleep.ts';
export type { SleepInput } from './builtin/sleep.ts';
export { createFsReadTool } from './builtin/fs-read.ts';
export type { FsReadInput, FsReadOptions } from './builtin/fs-read.ts';
export { createFsWriteTool } from './builtin/fs-write.ts';
export type { FsWriteInput, FsWriteMode, FsWriteOptions } from './builtin/fs-write.ts';
export { createFsListTool } from './builtin/fs-list.ts';
export type { FsListEntry, FsListInput, FsListOptions } from './builtin/fs-list.ts';
export { createProcessRunTool } from './builtin/process-run.ts';
export type { ProcessRunOptions } from './builtin/process-run.ts';
export type { ProcessRunInput } from './process/process-plan.ts';
export { createMemoryDeleteTool, createMemoryPutTool, createMemoryRememberTool, createMemorySearchTool, createMemoryTools, MEMORY_REMEMBER_TOOL } from './builtin/memory-tools.ts';
export type { MemoryDeleteInput, MemoryPutInput, MemorySearchInput, MemoryToolOptions } from './builtin/memory-tools.ts';

export { resolveWorkspacePath } from './fs/workspace-path.ts';
export type { WorkspacePath } from './fs/workspace-path.ts';
export { PID_FILE_VERSION, pidDir, reapStalePids } from './process/pid-files.ts';
export type { PidRecord, ReapedPid } from './process/pid-files.ts';
export { killProcessGroup } from './process/process-group.ts';
export { createInMemoryMemoryStore } from './memory/in-memory-store.ts';
export type { InMemoryMemoryStore, InMemoryMemoryStoreOptions } from './memory/in-memory-store.ts';
export { normalizeTags } from './memory/memory-store.ts';
export type { MemoryEntry, MemoryHit, MemoryRecord, MemoryStore } from './memory/memory-store.ts';

export { createBuiltinRegistry } from './builtin-set.ts';
export type { BuiltinToolsOptions } from './builtin-set.ts';
export { createHttpFetchTool } from './http/index.ts';
export type { HttpFetchOptions, HttpFetchOutput, HostResolver } from './http/index.ts';
export { classifyAddress } from './http/index.ts';
export { createPluginRunTool, listPlugins } from './plugins/index.ts';
export type { PluginInfo, PluginRunInput, PluginRunOutput, PluginRunToolOptions } from './plugins/index.ts';
