import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import { pidDir, reapStalePids, writePidFile, type PidRecord } from './pid-files.ts';
import { isZombie, procStat } from './proc-stat.ts';

const linuxOnly = { skip: process.platform !== 'linux' && 'needs /proc' };

/** A pid that certainly belonged to a process which has exited and been reaped. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  assert.ok(pid);
  return pid;
}

const DEAD_OWNER = { pid: deadPid() };

const spawned: ChildProcess[] = [];
after(() => {
  for (const child of spawned) if (child.pid !== undefined) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
});

/** Starts `sh -c script` leading its own group, like process.run does; returns it and the first line it prints. */
async function startGroup(script: string): Promise<{ child: ChildProcess; pid: number; line: string }> {
  const child = spawn('sh', ['-c', script], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
  spawned.push(child);
  let text = '';
  for await (const chunk of child.stdout!) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  assert.ok(child.pid);
  return { child, pid: child.pid, line: text.trim() };
}

function gone(pid: number): boolean {
  const stat = procStat(pid);
  return stat === undefined || isZombie(stat);
}

async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 150 && !gone(pid); i++) await delay(20);
  return gone(pid);
}

function record(pid: number, extra: Partial<PidRecord> = {}): PidRecord {
  return { pid, pgid: pid, argv: ['sh', '-c', '…'], startedAt: Date.now(), owner: DEAD_OWNER, ...extra };
}

test('reaps a stale group: the leader and its grandchild are killed, the file removed', linuxOnly, async () => {
  const stateDir = tempDir('palyra-reap-');
  const { pid, line } = await startGroup('sleep 30 & echo $!; wait');
  const grandchild = Number(line);
  const file = writePidFile(stateDir, record(pid, { procStart: procStat(pid)?.startTime }));
  assert.deepEqual(reapStalePids(stateDir).map((r) => [r.file, r.action]), [[file, 'killed']]);
  assert.ok(await waitGone(pid), 'leader survived');
  assert.ok(await waitGone(grandchild), 'grandchild survived');
  assert.deepEqual(readdirSync(pidDir(stateDir)), []);
});

test('reaps a group whose leader already exited, by its members\' start times', linuxOnly, async () => {
  const stateDir = tempDir('palyra-reap-');
  const { child, pid, line } = await startGroup('sleep 30 & echo $!; read x');
  const procStart = procStat(pid)?.startTime;
  child.stdin!.end('\n'); // The leader exits; its background job stays in the group.
  for (let i = 0; i < 100 && !gone(pid); i++) await delay(20);
  writePidFile(stateDir, record(pid, { procStart }));
  assert.deepEqual(reapStalePids(stateDir).map((r) => r.action), ['killed']);
  assert.ok(await waitGone(Number(line)));
});

test('leaves alone what is not provably a stale group of ours', linuxOnly, async () => {
  const stateDir = tempDir('palyra-reap-');
  const reused = await startGroup('echo up; sleep 30');
  const unverified = await startGroup('echo up; sleep 30');
  const owned = await startGroup('echo up; sleep 30');
  writePidFile(stateDir, record(reused.pid, { procStart: '1' })); // Started at boot: not this process.
  writePidFile(stateDir, record(unverified.pid));
  writePidFile(stateDir, record(owned.pid, { procStart: procStat(owned.pid)?.startTime, owner: { pid: process.pid } }));
  const dead = deadPid();
  writePidFile(stateDir, record(dead, { procStart: '12345' }));
  mkdirSync(pidDir(stateDir), { recursive: true });
  writeFileSync(join(pidDir(stateDir), '999.json'), '{"version":1,"pid":"x"');
  writeFileSync(join(pidDir(stateDir), '.1000.abcd.tmp'), '{');

  const byPid = new Map(reapStalePids(stateDir).map((r) => [r.record?.pid ?? 'invalid', r.action]));
  assert.deepEqual(
    Object.fromEntries(byPid),
    { [reused.pid]: 'reused', [unverified.pid]: 'unverified', [owned.pid]: 'owned', [dead]: 'gone', invalid: 'invalid' },
  );
  for (const g of [reused, unverified, owned]) assert.equal(gone(g.pid), false, `${g.pid} must not be killed`);
  // Only the live daemon's file stays.
  assert.deepEqual(readdirSync(pidDir(stateDir)), [`${owned.pid}.json`]);
});

test('a group left by an earlier process that had our pid is reaped: the owner\'s start time tells them apart', linuxOnly, async () => {
  const stateDir = tempDir('palyra-reap-');
  const left = await startGroup('echo up; sleep 30');
  // A crashed daemon with this pid, started at boot: not us.
  writePidFile(stateDir, record(left.pid, { procStart: procStat(left.pid)?.startTime, owner: { pid: process.pid, procStart: '1' } }));
  assert.deepEqual(reapStalePids(stateDir).map((r) => r.action), ['killed']);
  assert.equal(await waitGone(left.pid), true);
});

test('a state directory without PID files reaps nothing', () => {
  const stateDir = tempDir('palyra-reap-');
  assert.deepEqual(reapStalePids(stateDir), []);
  assert.equal(existsSync(pidDir(stateDir)), false);
});
