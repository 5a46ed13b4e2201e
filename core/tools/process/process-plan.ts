/**
 * Deciding what `process.run` will start, before anything starts: the executable, the
 * working directory, the environment and the timeout, all checked against the operator's
 * configuration. Only reads the file system; the executor (run-process.ts) acts on the plan.
 */
import { Buffer } from 'node:buffer';
import { stat } from 'node:fs/promises';
import { PalyraError } from '../../base/index.ts';
import { resolveWorkspacePath } from '../fs/workspace-path.ts';
import { resolveExecutable, type ExecutableAllowlist } from './executable.ts';

/** A checked `process.run` configuration (see ProcessRunOptions for each field's meaning). */
export interface ProcessRunConfig {
  allowlist: ExecutableAllowlist;
  baseEnv: Readonly<Record<string, string>>;
  allowedEnvKeys: ReadonlySet<string>;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  maxStdinBytes: number;
}

/** Input of `process.run`. */
export interface ProcessRunInput {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  stdin?: string;
}

/** Everything the executor needs; plain data. */
export interface ProcessPlan {
  /** Absolute path of the executable to start. */
  file: string;
  /** As the caller gave it; argv[0] is what the process sees as its name. */
  argv: string[];
  /** Real path of the working directory, inside the workspace. */
  cwd: string;
  /** The complete environment of the child. */
  env: Record<string, string>;
  timeoutMs: number;
  stdin: string | null;
}

/**
 * Plans one call.
 * @throws PalyraError PALYRA_TOOL_FORBIDDEN (executable, cwd or environment key not
 *   allowed) or PALYRA_TOOL_INPUT_INVALID (stdin too large).
 */
export async function planProcessRun(input: ProcessRunInput, config: ProcessRunConfig, workspace: string): Promise<ProcessPlan> {
  const argv0 = input.argv[0];
  if (argv0 === undefined) throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', 'Invalid input for "process.run": /argv must not be empty');
  if (input.stdin !== undefined && Buffer.byteLength(input.stdin) > config.maxStdinBytes) {
    throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', `Invalid input for "process.run": /stdin is longer than ${config.maxStdinBytes} bytes`);
  }
  const env = childEnv(input.env ?? {}, config);
  // Both checks only read metadata; running them side by side halves the thread-pool
  // round trips a call waits for. Errors are reported in a fixed order all the same.
  const [exe, cwd] = await Promise.allSettled([resolveExecutable(argv0, config.allowlist, workspace), workingDirectory(workspace, input.cwd ?? '.')]);
  if (exe.status === 'rejected') throw exe.reason;
  if (cwd.status === 'rejected') throw cwd.reason;
  const file = exe.value;
  const dir = cwd.value;
  return {
    file,
    argv: [...input.argv],
    cwd: dir.real,
    // HOME is the workspace unless the operator's base or an allowed caller key says otherwise.
    env: { HOME: dir.root, ...env },
    timeoutMs: Math.min(input.timeoutMs ?? config.defaultTimeoutMs, config.maxTimeoutMs),
    stdin: input.stdin ?? null,
  };
}

/** The real path of an existing directory inside the workspace, and the workspace's real root. */
async function workingDirectory(workspace: string, requested: string): Promise<{ real: string; root: string }> {
  const dir = await resolveWorkspacePath(workspace, requested);
  const isDir = dir.exists && (await stat(dir.real).catch(() => null))?.isDirectory() === true;
  if (!isDir) throw new PalyraError('PALYRA_TOOL_FORBIDDEN', `Working directory "${requested}" is refused: it is not a directory in the workspace`);
  return dir;
}

/**
 * The child's environment: the configured base, then the caller's keys, each of which
 * must be allowed. Security: built from nothing, never from process.env, so no secret
 * the daemon holds (provider keys, admin token) reaches a child.
 */
function childEnv(requested: Record<string, string>, config: ProcessRunConfig): Record<string, string> {
  const env: Record<string, string> = { ...config.baseEnv };
  for (const [key, value] of Object.entries(requested)) {
    if (!config.allowedEnvKeys.has(key)) {
      const allowed = [...config.allowedEnvKeys].sort().join(', ') || 'none';
      throw new PalyraError('PALYRA_TOOL_FORBIDDEN', `Environment variable "${key}" is refused: it is not on the allowlist (allowed: ${allowed})`);
    }
    env[key] = value;
  }
  return env;
}
