/**
 * The tool registry: the one door every tool call goes through. It looks the tool up,
 * caps and validates the input before anything runs, bounds the call in time, caps the
 * output, and turns every outcome into a ToolResult with a receipt. It never throws.
 */
import { Buffer } from 'node:buffer';
import { canonicalJson, PalyraError, type JsonValue } from '../base/index.ts';
import { boundedRun } from './bounded-run.ts';
import { createSchemaCompiler, type CompileSchema, type InputValidator } from './input-validator.ts';
import { failureReceipt, successReceipt } from './receipt.ts';
import { DEFAULT_LIMITS, type Capability, type RiskLevel, type ToolContext, type ToolDefinition, type ToolResult } from './tool.ts';

/** What policy and models see of a tool: plain data, no code. */
export interface ToolInfo {
  name: string;
  description: string;
  inputSchema: Record<string, JsonValue>;
  capabilities: Capability[];
  risk: RiskLevel;
  parallelSafe: boolean;
  limits: { timeoutMs: number; maxOutputBytes: number; maxInputBytes: number };
}

/** Options of a registry. */
export interface ToolRegistryOptions {
  /** Input cap for tools whose limits do not set `maxInputBytes` (default 256 KiB). */
  maxInputBytes?: number;
  /**
   * After a timeout or cancellation, how long invoke waits for the tool to stop and clean
   * up (kill its process group, remove temporary files) before returning anyway (default 2 s).
   */
  abortGraceMs?: number;
  /** Monotonic milliseconds, for durationMs (default `performance.now`). */
  now?: () => number;
}

const TOOL_NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const MAX_NAME_LENGTH = 64;

/** A tool checked and compiled by `ToolRegistry.prepare`, ready for `add`. */
export interface PreparedTool {
  readonly name: string;
  readonly entry: Entry;
}

interface Entry {
  tool: ToolDefinition<unknown>;
  validate: InputValidator;
  maxInputBytes: number;
}

/** A set of tools by name, and the one way to call them. */
export class ToolRegistry {
  readonly #tools = new Map<string, Entry>();
  readonly #compile = createSchemaCompiler();
  readonly #maxInputBytes: number;
  readonly #abortGraceMs: number;
  readonly #now: () => number;
  #revision = 0;

  constructor(options: ToolRegistryOptions = {}) {
    this.#maxInputBytes = options.maxInputBytes ?? DEFAULT_LIMITS.maxInputBytes ?? 256 * 1024;
    this.#abortGraceMs = options.abortGraceMs ?? 2_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Adds a tool and compiles its input schema once. Takes a tool of any input type
   * (`never` accepts them all: the registry hands `run` only input its schema accepted).
   * @throws PalyraError PALYRA_INVALID_ARGUMENT for a malformed or duplicate name, bad
   *   limits, or a schema Ajv refuses (unknown keyword, bad `$ref`).
   */
  register(tool: ToolDefinition<never>): void {
    this.add(this.prepare(tool));
  }

  /**
   * Checks a tool and compiles its input schema without adding it: the name stays free,
   * so a caller can prepare a whole set (a remote worker's tools) before changing anything.
   * @throws PalyraError PALYRA_INVALID_ARGUMENT as `register` does, except for a taken name.
   */
  prepare(tool: ToolDefinition<never>): PreparedTool {
    return this.#prepare(tool, this.#compile);
  }

  /**
   * A `prepare` for a set of tools that comes and goes together (a remote worker's):
   * their schemas compile in an Ajv instance of the set's own, freed with the tools it
   * prepared once they are dropped (refused, or unregistered and done running), where
   * `prepare` keeps every compiled schema for the registry's lifetime. Checks, validation
   * and error messages are the same as `prepare`'s.
   */
  scopedPreparer(): (tool: ToolDefinition<never>) => PreparedTool {
    const compile = this.#compile.scoped();
    return (tool) => this.#prepare(tool, compile);
  }

  #prepare(tool: ToolDefinition<never>, compile: CompileSchema): PreparedTool {
    const { name } = tool;
    if (!TOOL_NAME.test(name) || name.length > MAX_NAME_LENGTH) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Cannot register tool "${name}": names are lowercase dotted words such as "fs.read"`);
    }
    const { timeoutMs, maxOutputBytes, maxInputBytes = this.#maxInputBytes } = tool.limits;
    for (const [key, value] of Object.entries({ timeoutMs, maxOutputBytes, maxInputBytes })) {
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Cannot register tool "${name}": limits.${key} must be a positive integer, got ${String(value)}`);
      }
    }
    let validate: InputValidator;
    try {
      validate = compile(tool.inputSchema);
    } catch (error) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Cannot register tool "${name}": its input schema is invalid: ${messageOf(error)}`, { cause: error });
    }
    return { name, entry: { tool: tool as ToolDefinition<unknown>, validate, maxInputBytes } };
  }

  /**
   * Adds a tool `prepare` checked and compiled, without compiling it again.
   * @throws PalyraError PALYRA_INVALID_ARGUMENT when a tool of that name is registered already.
   */
  add(prepared: PreparedTool): void {
    const { name, entry } = prepared;
    if (this.#tools.has(name)) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Cannot register tool "${name}": a tool of that name is registered already`);
    this.#tools.set(name, entry);
    this.#revision++;
  }

  /** Changes whenever a tool is added or removed, so callers may cache what `list()` gave. */
  get revision(): number {
    return this.#revision;
  }

  /**
   * Removes a tool (remote workers' tools leave when their worker disconnects). Calls
   * already running keep the definition they started with; later calls get
   * PALYRA_TOOL_NOT_FOUND. Returns false when no tool of that name was registered.
   */
  unregister(name: string): boolean {
    const removed = this.#tools.delete(name);
    if (removed) this.#revision++;
    return removed;
  }

  /** The tool of that name, or undefined. */
  get(name: string): ToolDefinition<unknown> | undefined {
    return this.#tools.get(name)?.tool;
  }

  /** Every tool as plain data, sorted by name; safe to hand to policy and to models. */
  list(): ToolInfo[] {
    return [...this.#tools.values()]
      .map(({ tool, maxInputBytes }) => ({
        name: tool.name,
        description: tool.description,
        inputSchema: structuredClone(tool.inputSchema),
        capabilities: [...tool.capabilities],
        risk: tool.risk,
        parallelSafe: tool.parallelSafe,
        limits: { timeoutMs: tool.limits.timeoutMs, maxOutputBytes: tool.limits.maxOutputBytes, maxInputBytes },
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Calls a tool. Never throws: an unknown tool, invalid input, a timeout
   * (PALYRA_TOOL_TIMEOUT), the caller aborting `context.signal` (PALYRA_TOOL_CANCELLED),
   * oversized output and any failure of the tool become `{ ok: false, error }`.
   */
  async invoke(name: string, rawInput: unknown, context: ToolContext): Promise<ToolResult> {
    const started = this.#now();
    const fail = (code: string, message: string): ToolResult => {
      const error = { code, message };
      return { ok: false, tool: name, error, receipt: failureReceipt(name, error), durationMs: this.#elapsed(started) };
    };
    try {
      const entry = this.#tools.get(name);
      if (entry === undefined) return fail('PALYRA_TOOL_NOT_FOUND', `Tool "${name}" is not registered`);
      const problem = inputSizeProblem(rawInput, entry.maxInputBytes) ?? entry.validate(rawInput);
      if (problem !== null) return fail('PALYRA_TOOL_INPUT_INVALID', `Invalid input for "${name}": ${problem}`);
      if (context.signal.aborted) return fail('PALYRA_TOOL_CANCELLED', `Tool "${name}" was cancelled before it started`);

      const outcome = await boundedRun(entry.tool, rawInput, context, { graceMs: this.#abortGraceMs });
      switch (outcome.type) {
        case 'timeout':
          return fail('PALYRA_TOOL_TIMEOUT', `Tool "${name}" timed out after ${entry.tool.limits.timeoutMs} ms`);
        case 'cancelled':
          return fail('PALYRA_TOOL_CANCELLED', `Tool "${name}" was cancelled`);
        case 'threw': {
          const { code, message } = toolError(name, outcome.error);
          return fail(code, message);
        }
        case 'returned':
          return this.#success(entry.tool, outcome.output, started, fail);
        default:
          return assertNever(outcome);
      }
    } catch (error) {
      // Invariant: nothing above should throw; if something does, it is still a result.
      return fail('PALYRA_TOOL_FAILED', `Tool "${name}" failed inside the registry: ${messageOf(error)}`);
    }
  }

  #success(tool: ToolDefinition<unknown>, output: unknown, started: number, fail: (code: string, message: string) => ToolResult): ToolResult {
    let json: string;
    try {
      json = canonicalJson(output);
    } catch (error) {
      return fail('PALYRA_TOOL_FAILED', `Tool "${tool.name}" returned output that is not JSON: ${messageOf(error)}`);
    }
    const bytes = Buffer.byteLength(json);
    if (bytes > tool.limits.maxOutputBytes) {
      return fail('PALYRA_TOOL_LIMIT_EXCEEDED', `Output of tool "${tool.name}" is ${bytes} bytes; the limit is ${tool.limits.maxOutputBytes} bytes`);
    }
    const receipt = successReceipt(tool.name, json);
    return { ok: true, tool: tool.name, output: output as JsonValue, receipt, durationMs: this.#elapsed(started) };
  }

  #elapsed(started: number): number {
    return Math.round((this.#now() - started) * 1000) / 1000;
  }
}

/** The size problem of an input, measured as canonical JSON before Ajv walks it. */
function inputSizeProblem(rawInput: unknown, maxBytes: number): string | null {
  let text: string;
  try {
    text = canonicalJson(rawInput);
  } catch (error) {
    return `input is not JSON: ${messageOf(error)}`;
  }
  const bytes = Buffer.byteLength(text);
  return bytes > maxBytes ? `input is ${bytes} bytes; the limit is ${maxBytes} bytes` : null;
}

/** The code and message of something a tool threw; only PALYRA_TOOL_* codes pass through. */
function toolError(name: string, error: unknown): { code: string; message: string } {
  if (error instanceof PalyraError) {
    return { code: error.code.startsWith('PALYRA_TOOL_') ? error.code : 'PALYRA_TOOL_FAILED', message: error.message };
  }
  return { code: 'PALYRA_TOOL_FAILED', message: `Tool "${name}" failed: ${messageOf(error)}` };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function assertNever(value: never): never {
  throw new Error(`Unexpected outcome ${JSON.stringify(value)}`);
}
