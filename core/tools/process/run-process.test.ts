import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { toolContext } from '../../../test/helpers/tool-context.ts';
import { createProcessRunTool } from '../builtin/process-run.ts';
import { ToolRegistry } from '../registry.ts';
import type { ToolContext, ToolResult } from '../tool.ts';
import { pidDir } from './pid-files.ts';
import { isZombie, procStat } from './proc-stat.ts';

const onLinux = process.platform === 'linux';

function setUp(context: ToolContext = toolContext()) {
  const registry = new ToolRegistry();
  registry.register(createProcessRunTool({ allowedExecutables: ['sh', 'sleep'], killGraceMs: 200 }));
  return { context, ws: context.workspace, run: (input: unknown, ctx: ToolContext = context) => registry.invoke('process.run', input, ctx) };
}

const errorOf = (r: ToolResult) => (r.ok ? null : r.error);

/** True once the process has exited; a zombie counts (pid 1 here may not reap orphans). */
function gone(pid: number): boolean {
  if (onLinux) {
    const stat = procStat(pid);
    return stat === undefined || isZombie(stat);
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function waitFor(check: () => boolean, ms = 3_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end && !check(); ) await delay(20);
  return check();
}

const pidIn = (path: string): number => Number(readFileSync(path, 'utf8').trim());

test('on timeout the whole group dies, grandchildren included, even ones ignoring SIGTERM', async () => {
  const { ws, context, run } = setUp();
  // The shell and its background job ignore SIGTERM, so only the SIGKILL after the grace ends them.
  const script = 'trap "" TERM; echo $$ > leader.pid; sleep 30 & echo $! > grandchild.pid; sleep 30';
  const started = Date.now();
  const result = await run({ argv: ['sh', '-c', script], timeoutMs: 300 });
  assert.deepEqual(errorOf(result), { code: 'PALYRA_TOOL_TIMEOUT', message: 'Process "sh" timed out after 300 ms; its process group was killed' });
  assert.ok(Date.now() - started < 5_000);
  const leader = pidIn(join(ws, 'leader.pid'));
  const grandchild = pidIn(join(ws, 'grandchild.pid'));
  assert.ok(await waitFor(() => gone(leader)), `leader ${leader} still running`);
  assert.ok(await waitFor(() => gone(grandchild)), `grandchild ${grandchild} survived the timeout`);
  assert.deepEqual(readdirSync(pidDir(context.stateDir)), []);
});

test('background jobs left by a program that exits are killed with it', async () => {
  const { ws, run } = setUp();
  const result = await run({ argv: ['sh', '-c', 'sleep 30 & echo $! > bg.pid; echo done'] });
  assert.deepEqual(result.ok ? result.output : result.error, {
    exitCode: 0, signal: null, stdout: 'done\n', stderr: '', stdoutBytes: 5, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false,
  });
  const bg = pidIn(join(ws, 'bg.pid'));
  assert.ok(await waitFor(() => gone(bg)), `background job ${bg} outlived the call`);
});

test('cancellation by the caller kills the group and reports PALYRA_TOOL_CANCELLED', async () => {
  const { ws, context, run } = setUp();
  const caller = new AbortController();
  const pending = run({ argv: ['sh', '-c', 'echo $$ > leader.pid; sleep 30 & echo $! > grandchild.pid; wait'] }, { ...context, signal: caller.signal });
  assert.ok(await waitFor(() => existsSync(join(ws, 'grandchild.pid')) && readFileSync(join(ws, 'grandchild.pid'), 'utf8').endsWith('\n')));
  caller.abort();
  const result = await pending;
  assert.deepEqual(errorOf(result), { code: 'PALYRA_TOOL_CANCELLED', message: 'Tool "process.run" was cancelled' });
  for (const file of ['leader.pid', 'grandchild.pid']) {
    const pid = pidIn(join(ws, file));
    assert.ok(await waitFor(() => gone(pid)), `${file} ${pid} survived cancellation`);
  }
  assert.ok(await waitFor(() => readdirSync(pidDir(context.stateDir)).length === 0));
});

test('a PID file describes the running process and is removed when it ends', async () => {
  const { ws, context, run } = setUp();
  const pending = run({ argv: ['sh', '-c', 'echo $$ > leader.pid; sleep 0.5'] });
  assert.ok(await waitFor(() => existsSync(join(ws, 'leader.pid')) && readFileSync(join(ws, 'leader.pid'), 'utf8').endsWith('\n')));
  const pid = pidIn(join(ws, 'leader.pid'));
  const record = JSON.parse(readFileSync(join(pidDir(context.stateDir), `${pid}.json`), 'utf8')) as Record<string, unknown>;
  const { startedAt, procStart, owner, ...rest } = record;
  assert.deepEqual(rest, { version: 1, pid, pgid: pid, argv: ['sh', '-c', 'echo $$ > leader.pid; sleep 0.5'] });
  assert.equal(typeof startedAt, 'number');
  if (onLinux) assert.equal(procStart, procStat(pid)?.startTime);
  assert.equal((owner as { pid: number }).pid, process.pid);
  assert.ok((await pending).ok);
  assert.deepEqual(readdirSync(pidDir(context.stateDir)), []);
});
