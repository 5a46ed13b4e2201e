/**
 * `process.run`: runs an allowlisted executable with an argv array (never a shell
 * string), confined to the workspace, with a scrubbed environment, a timeout and capped
 * output; its whole process group is killed when the call ends.
 */
import { PalyraError } from '../../base/index.ts';
import { compileAllowlist } from '../process/executable.ts';
import { planProcessRun, type ProcessRunConfig, type ProcessRunInput } from '../process/process-plan.ts';
import { runProcess } from '../process/run-process.ts';
import { type ToolDefinition } from '../tool.ts';
import { decodeLenient, jsonBudget } from './capped-text.ts';
import { PATH_SCHEMA } from './fs-read.ts';

/** Configuration of `process.run`, set by the operator. */
export interface ProcessRunOptions {
  /** What may run: bare names (looked up on `searchPath`) and absolute paths. Empty: nothing. */
  allowedExecutables: readonly string[];
  /** Absolute directories searched for bare names; also the child's PATH (default "/usr/local/bin:/usr/bin:/bin"). */
  searchPath?: string;
  /**
   * The child's environment before the caller's keys (default PATH = searchPath,
   * LANG = LC_ALL = "C.UTF-8", TZ = "UTC"; HOME is always the workspace unless set here).
   */
  baseEnv?: Record<string, string>;
  /** Environment keys a caller may set (default LANG, LC_ALL, TZ). */
  allowedEnvKeys?: readonly string[];
  /** Timeout of a call that gives none (default 10 s). */
  defaultTimeoutMs?: number;
  /** Largest timeout a call may ask for (default 120 s). */
  maxTimeoutMs?: number;
  /** Cap of stdout and of stderr, each, in bytes (default 1 MiB). */
  maxOutputBytes?: number;
  /** Largest stdin a call may pass, in bytes (default 1 MiB). */
  maxStdinBytes?: number;
  /** Between SIGTERM and SIGKILL of the group on timeout or cancellation (default 500 ms). */
  killGraceMs?: number;
}

const DEFAULT_SEARCH_PATH = '/usr/local/bin:/usr/bin:/bin';
const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';
const NO_NUL = '^[^\\u0000]*$';
/** Linux's limit on one argument (MAX_ARG_STRLEN). */
const MAX_ARG_LENGTH = 128 * 1024;

/**
 * Creates `process.run`.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT for a malformed allowlist or search path.
 */
export function createProcessRunTool(options: ProcessRunOptions): ToolDefinition<ProcessRunInput> {
  const searchPath = options.searchPath ?? DEFAULT_SEARCH_PATH;
  const config: ProcessRunConfig = {
    allowlist: compileAllowlist(options.allowedExecutables, searchPath),
    baseEnv: { PATH: searchPath, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'UTC', ...options.baseEnv },
    allowedEnvKeys: new Set(options.allowedEnvKeys ?? ['LANG', 'LC_ALL', 'TZ']),
    defaultTimeoutMs: options.defaultTimeoutMs ?? 10_000,
    maxTimeoutMs: options.maxTimeoutMs ?? 120_000,
    maxStdinBytes: options.maxStdinBytes ?? 1024 * 1024,
  };
  const maxOutputBytes = options.maxOutputBytes ?? 1024 * 1024;
  const killGraceMs = options.killGraceMs ?? 500;
  return {
    name: 'process.run',
    description:
      'Run a program with an argv array (no shell). Only allowlisted programs run, in the workspace, with a minimal ' +
      `environment and a timeout (default ${config.defaultTimeoutMs} ms). Returns exit code, signal, stdout and stderr ` +
      `(each capped at ${maxOutputBytes} bytes; "stdoutTruncated"/"stderrTruncated" mark a cut). ` +
      'Processes it leaves running in the background are killed when it exits.',
    inputSchema: {
      type: 'object',
      properties: {
        argv: { type: 'array', minItems: 1, maxItems: 1024, items: { type: 'string', maxLength: MAX_ARG_LENGTH, pattern: NO_NUL } },
        cwd: { ...PATH_SCHEMA, description: 'Working directory relative to the workspace (default its root).' },
        env: {
          type: 'object',
          maxProperties: 64,
          propertyNames: { pattern: ENV_NAME, maxLength: 128 },
          additionalProperties: { type: 'string', maxLength: MAX_ARG_LENGTH, pattern: NO_NUL },
        },
        timeoutMs: { type: 'integer', minimum: 1, maximum: config.maxTimeoutMs },
        stdin: { type: 'string', maxLength: config.maxStdinBytes },
      },
      required: ['argv'],
      additionalProperties: false,
    },
    capabilities: ['process'],
    risk: 'high',
    parallelSafe: false,
    limits: {
      // Past the longest allowed run and the kill that ends it, so the tool's own timeout
      // (which kills the group and says so) fires first.
      timeoutMs: config.maxTimeoutMs + killGraceMs + 3_000,
      maxOutputBytes: jsonBudget(2 * maxOutputBytes),
      maxInputBytes: jsonBudget(config.maxStdinBytes),
    },
    async run(input, context) {
      const plan = await planProcessRun(input, config, context.workspace);
      const outcome = await runProcess(plan, {
        signal: context.signal,
        stateDir: context.stateDir,
        killGraceMs,
        maxStdoutBytes: maxOutputBytes,
        maxStderrBytes: maxOutputBytes,
      });
      const name = JSON.stringify(plan.argv[0]);
      if (outcome.stoppedBy === 'timeout') {
        throw new PalyraError('PALYRA_TOOL_TIMEOUT', `Process ${name} timed out after ${plan.timeoutMs} ms; its process group was killed`);
      }
      if (outcome.stoppedBy === 'cancelled') {
        throw new PalyraError('PALYRA_TOOL_CANCELLED', `Process ${name} was cancelled; its process group was killed`);
      }
      const { stdout, stderr } = outcome;
      return {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        stdout: decodeLenient(stdout.bytes, stdout.truncated),
        stderr: decodeLenient(stderr.bytes, stderr.truncated),
        stdoutBytes: stdout.total,
        stderrBytes: stderr.total,
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
      };
    },
  };
}
