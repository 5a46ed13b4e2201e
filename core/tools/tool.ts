import type { JsonValue } from '../base/index.ts';

/**
 * What a tool can do, as policy sees it. Policies decide on capabilities, not on names,
 * so a new tool with a known capability is governed from the day it is added.
 */
export type Capability = 'fs_read' | 'fs_write' | 'process' | 'network' | 'secrets' | 'plugin' | 'remote' | 'memory';

/** How much harm a call could do if it went wrong; policies may use it. */
export type RiskLevel = 'low' | 'medium' | 'high';

/** Hard limits every call of a tool runs under. */
export interface ToolLimits {
  /** Wall-clock limit of one call (default 10 s). */
  timeoutMs: number;
  /** Cap on the bytes of output a call may return, as canonical JSON (default 1 MiB). */
  maxOutputBytes: number;
  /**
   * Cap on the bytes of one call's input, as canonical JSON, checked before validation
   * (default 256 KiB). Optional so existing definitions keep compiling; tools that take
   * bulk input (fs.write content, process.run stdin) raise it.
   */
  maxInputBytes?: number;
}

/** Everything a tool needs from its surroundings; tools reach nothing else. */
export interface ToolContext {
  /** Absolute, real path of the workspace the call is confined to. */
  workspace: string;
  /** The state directory (pid files, plugins). */
  stateDir: string;
  /** Aborted on cancellation or timeout; tools must stop and clean up. */
  signal: AbortSignal;
  /** Session the call belongs to, when any. */
  sessionId: string | null;
}

/**
 * A tool: its description for models and operators, its input contract, what it can do,
 * and its implementation. `run` receives input already validated against `inputSchema`
 * and throws PalyraError (code PALYRA_TOOL_*) for failures it can name.
 */
export interface ToolDefinition<Input = JsonValue> {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the input object. */
  inputSchema: Record<string, JsonValue>;
  capabilities: readonly Capability[];
  risk: RiskLevel;
  /** True when calls may run concurrently with other calls in the same turn. */
  parallelSafe: boolean;
  limits: ToolLimits;
  run(input: Input, context: ToolContext): Promise<JsonValue>;
}

/** The outcome of a call: never a thrown exception, always this. */
export type ToolResult =
  | { ok: true; tool: string; output: JsonValue; receipt: string; durationMs: number }
  | { ok: false; tool: string; error: { code: string; message: string }; receipt: string; durationMs: number };

/** Default limits, when a tool does not set its own. */
export const DEFAULT_LIMITS: ToolLimits = { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024, maxInputBytes: 256 * 1024 };
