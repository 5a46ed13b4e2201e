/**
 * Executing a process plan: spawn as the leader of a new process group, record a PID
 * file, capture capped output, and make sure nothing of the group outlives the call.
 *
 * Security: on timeout or cancellation the whole group gets SIGTERM, then SIGKILL after
 * a grace; when the leader exits on its own, whatever it left running in its group
 * (background jobs, daemons) is killed at once. A call's processes never outlive it.
 */
import { Buffer } from 'node:buffer';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { PalyraError } from '../../base/index.ts';
import { ensurePidDir, removePidFile, writePidFile } from './pid-files.ts';
import { killProcessGroup, signalGroup } from './process-group.ts';
import type { ProcessPlan } from './process-plan.ts';
import { procStartOf } from './proc-stat.ts';

/** Limits of one execution. */
export interface RunProcessOptions {
  signal: AbortSignal;
  stateDir: string;
  /** Time between SIGTERM and SIGKILL of the group. */
  killGraceMs: number;
  maxStdoutBytes: number;
  maxStderrBytes: number;
}

/** Captured output of one stream: the first `cap` bytes, and how many there were. */
export interface CapturedStream {
  bytes: Uint8Array;
  total: number;
  truncated: boolean;
}

/** How an execution ended. */
export interface ProcessOutcome {
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: CapturedStream;
  stderr: CapturedStream;
  /** Set when the group was killed for the plan's timeout or for the signal. */
  stoppedBy: 'timeout' | 'cancelled' | null;
}

/** After the leader exits, how long its pipes may stay open before they are cut. */
const DRAIN_MS = 1_000;

/**
 * Runs a plan to completion (or until killed).
 * @throws PalyraError PALYRA_TOOL_FAILED when the process cannot be started or its PID
 *   file cannot be written (the group is killed first: no untracked processes).
 */
export async function runProcess(plan: ProcessPlan, options: RunProcessOptions): Promise<ProcessOutcome> {
  const { child, pid, exited } = await startTracked(plan, options.stateDir);
  const stdout = capture(child.stdout, options.maxStdoutBytes);
  const stderr = capture(child.stderr, options.maxStderrBytes);
  feedStdin(child, plan.stdin);

  let stoppedBy: ProcessOutcome['stoppedBy'] = null;
  let stopping: Promise<void> | null = null;
  const stop = (why: 'timeout' | 'cancelled'): void => {
    if (stopping !== null) return;
    stoppedBy = why;
    // Never rejects: an unexpected errno from kill() must not become an unhandled rejection.
    stopping = killProcessGroup(pid, { graceMs: options.killGraceMs }).catch(() => undefined);
  };
  const timer = setTimeout(() => stop('timeout'), plan.timeoutMs);
  const onAbort = (): void => stop('cancelled');
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });

  try {
    const [exitCode, signal] = await exited;
    clearTimeout(timer);
    await stopping;
    // The leader is gone; anything still in its group is a straggler. SIGKILL to a
    // group of zombies only is harmless. Invariant: a group id is not handed out again
    // while any member lives, so this cannot reach a stranger's group unless pids wrap
    // around within the microseconds since the exit.
    signalGroup(pid, 'SIGKILL');
    await drain([child.stdout, child.stderr], DRAIN_MS);
    return { pid, exitCode, signal, stdout: stdout.result(), stderr: stderr.result(), stoppedBy };
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onAbort);
    removePidFile(options.stateDir, pid);
  }
}

/** Spawns the plan as a group leader and records its PID file; on any failure nothing is left running. */
async function startTracked(plan: ProcessPlan, stateDir: string): Promise<{ child: ChildProcess; pid: number; exited: Promise<[number | null, NodeJS.Signals | null]> }> {
  // Before spawning, so an unwritable state directory fails with nothing started.
  ensurePidDir(stateDir);
  const child = spawn(plan.file, plan.argv.slice(1), {
    argv0: plan.argv[0],
    cwd: plan.cwd,
    env: plan.env,
    // setsid(): the child leads a new process group (and session, so no terminal signals).
    detached: true,
    stdio: [plan.stdin === null ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  // Not events.once: it rejects on 'error', and an 'error' after a successful spawn
  // (a failed kill) must not make us stop waiting for the exit.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  const pid = child.pid;
  if (pid === undefined) {
    // Spawning failed (ENOENT, EACCES, bad cwd); Node reports it on the next tick.
    const [error] = (await once(child, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    throw new PalyraError('PALYRA_TOOL_FAILED', `Cannot start "${plan.argv[0]}": ${error.code ?? error.message}`, { cause: error });
  }
  child.on('error', () => undefined);
  try {
    writePidFile(stateDir, {
      pid,
      pgid: pid,
      argv: plan.argv,
      startedAt: Date.now(),
      ...optional('procStart', procStartOf(pid)),
      owner: { pid: process.pid, ...optional('procStart', procStartOf(process.pid)) },
    });
  } catch (error) {
    signalGroup(pid, 'SIGKILL');
    throw new PalyraError('PALYRA_TOOL_FAILED', `Cannot record the PID file of "${plan.argv[0]}": ${(error as Error).message}`, { cause: error });
  }
  return { child, pid, exited };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Collects up to `cap` bytes and keeps reading past it, so the child never blocks on a full pipe. */
function capture(stream: Readable | null, cap: number): { result(): CapturedStream } {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  stream?.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (kept >= cap) return;
    const part = kept + chunk.length > cap ? chunk.subarray(0, cap - kept) : chunk;
    chunks.push(part);
    kept += part.length;
  });
  stream?.on('error', () => undefined); // A pipe cut after exit; what was read stays.
  return { result: () => ({ bytes: Buffer.concat(chunks, kept), total, truncated: total > kept }) };
}

function feedStdin(child: ChildProcess, stdin: string | null): void {
  if (stdin === null || child.stdin === null) return;
  // A child that exits without reading its input closes the pipe: EPIPE is not a failure.
  child.stdin.on('error', () => undefined);
  child.stdin.end(stdin);
}

/**
 * Waits until the output pipes close, at most `ms`. A process that left the group
 * (setsid) may hold them open forever; then they are cut and what was read is kept.
 */
async function drain(streams: (Readable | null)[], ms: number): Promise<void> {
  const open = streams.filter((s): s is Readable => s !== null && !s.destroyed && !s.readableEnded);
  if (open.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = Promise.all(open.map((s) => once(s, 'close').catch(() => undefined)));
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  for (const s of open) s.destroy();
}
