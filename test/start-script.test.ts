import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { childEnv } from './helpers/cli.ts';
import { exited, waitFor } from './helpers/daemon-process.ts';
import { tempDir } from './helpers/temp-dir.ts';

const ROOT = join(import.meta.dirname, '..');
// npm must not look for its own updates (no network in tests).
const ENV = childEnv({ PALYRA_STATE_DIR: '', npm_config_update_notifier: 'false', npm_config_offline: 'true' });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `command` (through a shell), waits until the daemon serves, returns the daemon's pid. */
async function started(command: string, state: string): Promise<{ wrapper: ChildProcess; daemonPid: number; output: () => string }> {
  const wrapper = spawn('sh', ['-c', command], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  wrapper.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  wrapper.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const lock = join(state, 'palyrad.lock');
  // The bundle may be rebuilt first.
  await waitFor(() => /serving on/.test(output) && existsSync(lock), 60_000);
  const daemonPid = (JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid;
  return { wrapper, daemonPid, output: () => output };
}

test('npm start: SIGTERM to npm (as docker stop sends it) stops the daemon cleanly and npm waits for it', { timeout: 120_000 }, async () => {
  const state = join(tempDir(), 'state');
  // `exec` so that the signal goes to npm itself, not to the shell around it.
  const { wrapper, daemonPid, output } = await started(`exec npm start --silent -- --state ${state} --port 0`, state);
  try {
    wrapper.kill('SIGTERM');
    await exited(wrapper);
    assert.match(output(), /stopped cleanly/);
    assert.equal(existsSync(join(state, 'palyrad.lock')), false, 'the lock is released');
    assert.equal(alive(daemonPid), false);
  } finally {
    if (alive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
  }
});

test('start.mjs stops the daemon when its parent dies without passing a signal on', { timeout: 120_000 }, async () => {
  const state = join(tempDir(), 'state');
  // The trailing command keeps the shell from exec-ing node: the shell dies alone.
  const { wrapper, daemonPid, output } = await started(`node scripts/start.mjs --state ${state} --port 0; exit $?`, state);
  try {
    wrapper.kill('SIGTERM');
    await exited(wrapper);
    await waitFor(() => !existsSync(join(state, 'palyrad.lock')) && !alive(daemonPid), 10_000);
    assert.match(output(), /stopping: received SIGTERM/);
  } finally {
    if (alive(daemonPid)) process.kill(daemonPid, 'SIGKILL');
  }
});
