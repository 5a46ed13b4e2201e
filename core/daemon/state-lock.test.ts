import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs, { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, type PathLike, type TimeLike, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PalyraError, sha256Hex } from '../base/index.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { acquireStateLock, readStateLock, type LockOwner } from './state-lock.ts';

const SERVE = { mode: 'serve', command: 'palyrad serve' } as const;
const WRITER = { mode: 'writer', command: 'palyrad journal append' } as const;
const onLinux = process.platform === 'linux';
/** Children load TypeScript through tsx, resolved from here so any working directory works. */
const TSX = import.meta.resolve('tsx');

function lockIn(): { dir: string; lockPath: string } {
  const dir = tempDir('palyra-lock-');
  return { dir, lockPath: join(dir, 'palyrad.lock') };
}

const since = (owner: LockOwner): string => new Date(owner.startedAt).toISOString().replace(/\.\d{3}Z$/, 'Z');

function writeOwner(lockPath: string, owner: LockOwner): string {
  const text = `${JSON.stringify({ version: 1, ...owner })}\n`;
  writeFileSync(lockPath, text);
  return text;
}

/** A pid that certainly belonged to a process which has exited and been reaped. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  assert.ok(pid);
  return pid;
}

/** The first line a child prints; fails instead of hanging if it exits first. */
async function firstLine(child: ChildProcess): Promise<string> {
  let text = '';
  for await (const chunk of child.stdout!) {
    text += String(chunk);
    if (text.includes('\n')) return text.slice(0, text.indexOf('\n'));
  }
  throw new Error(`Child ${child.pid} exited without printing a line`);
}

function lockedBy(dir: string, lockPath: string, owner: LockOwner, advice: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PalyraError);
    assert.equal(error.code, 'PALYRA_STATE_LOCKED');
    assert.equal(error.message, `State directory "${dir}" is locked by ${owner.command} (pid ${owner.pid}, since ${since(owner)}): ${advice}`);
    assert.deepEqual(error.details, { lockPath, owner });
    return true;
  };
}

test('acquire records the owner in a private file, and a second acquire is refused', (t) => {
  const { dir, lockPath } = lockIn();
  const lock = acquireStateLock(lockPath, SERVE);
  t.after(() => lock.release());
  const { startedAt, procStart, bootId, pidNamespace } = lock.owner;
  assert.deepEqual(lock.owner, {
    pid: process.pid,
    mode: 'serve',
    command: 'palyrad serve',
    startedAt,
    hostname: hostname(),
    ...(onLinux ? { procStart, bootId, pidNamespace } : {}),
  });
  if (onLinux) {
    assert.match(procStart ?? '', /^\d+$/);
    assert.equal(bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    assert.match(pidNamespace ?? '', /^pid:\[\d+\]$/);
  }
  assert.equal(lock.tookOverStaleFrom, undefined);
  assert.deepEqual(JSON.parse(readFileSync(lockPath, 'utf8')), { version: 1, ...lock.owner });
  assert.equal(statSync(lockPath).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['palyrad.lock']);
  assert.throws(() => acquireStateLock(lockPath, WRITER), lockedBy(dir, lockPath, lock.owner, 'stop it first, or use the running daemon'));
  assert.deepEqual(readStateLock(lockPath), { owner: lock.owner, alive: true });
});

test('a lock held by another live process is refused; once it is killed, it is taken over', async (t) => {
  const { dir, lockPath } = lockIn();
  const module = fileURLToPath(new URL('./state-lock.ts', import.meta.url));
  const script = `import(${JSON.stringify(module)}).then((m) => {
    const lock = m.acquireStateLock(${JSON.stringify(lockPath)}, { mode: 'writer', command: 'palyrad journal append' });
    process.stdout.write(JSON.stringify(lock.owner) + '\\n');
    setInterval(() => {}, 1000);
  });`;
  const child = spawn(process.execPath, ['--import', TSX, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const childOwner = JSON.parse(await firstLine(child)) as LockOwner;
  assert.equal(childOwner.pid, child.pid);

  assert.throws(() => acquireStateLock(lockPath, SERVE), lockedBy(dir, lockPath, childOwner, 'wait for it to finish, then try again'));
  assert.deepEqual(readStateLock(lockPath), { owner: childOwner, alive: true });

  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.deepEqual(readStateLock(lockPath), { owner: childOwner, alive: false });
  const lock = acquireStateLock(lockPath, SERVE);
  t.after(() => lock.release());
  assert.deepEqual(lock.tookOverStaleFrom, childOwner);
  assert.deepEqual(readStateLock(lockPath), { owner: lock.owner, alive: true });
  assert.deepEqual(readdirSync(dir), ['palyrad.lock']);
});

test('an empty or garbage lock file (a crash mid-write) is taken over', () => {
  for (const garbage of ['', '{"pid": 12', '{"pid": 0, "mode": "serve"}', 'null']) {
    const { dir, lockPath } = lockIn();
    writeFileSync(lockPath, garbage);
    assert.equal(readStateLock(lockPath), null);
    const lock = acquireStateLock(lockPath, WRITER);
    assert.equal(lock.tookOverStaleFrom, undefined);
    assert.deepEqual(readStateLock(lockPath), { owner: lock.owner, alive: true });
    assert.deepEqual(readdirSync(dir), ['palyrad.lock']);
    lock.release();
  }
});

test('a live pid whose start time differs was reused: the lock is stale', { skip: !onLinux }, () => {
  const { lockPath } = lockIn();
  const stale: LockOwner = { pid: process.pid, mode: 'serve', command: 'palyrad serve', startedAt: 1, hostname: hostname(), procStart: '1' };
  writeOwner(lockPath, stale);
  assert.deepEqual(readStateLock(lockPath), { owner: stale, alive: false });
  const lock = acquireStateLock(lockPath, SERVE);
  assert.deepEqual(lock.tookOverStaleFrom, stale);
  lock.release();
});

test('a dead pid is stale; a holder on another host is kept and the message says how to clear it', () => {
  const { dir, lockPath } = lockIn();
  const dead: LockOwner = { pid: deadPid(), mode: 'writer', command: 'palyrad journal append', startedAt: 1, hostname: hostname() };
  writeOwner(lockPath, dead);
  assert.deepEqual(readStateLock(lockPath), { owner: dead, alive: false });

  const foreign: LockOwner = { pid: dead.pid, mode: 'serve', command: 'palyrad serve', startedAt: Date.UTC(2026, 10, 23, 21), hostname: 'elsewhere.example' };
  writeOwner(lockPath, foreign);
  assert.deepEqual(readStateLock(lockPath), { owner: foreign, alive: true });
  assert.throws(
    () => acquireStateLock(lockPath, WRITER),
    (error: unknown) => {
      assert.ok(error instanceof PalyraError);
      assert.equal(error.code, 'PALYRA_STATE_LOCKED');
      assert.equal(
        error.message,
        `State directory "${dir}" is locked by palyrad serve on host "elsewhere.example" (pid ${dead.pid}, since 2026-11-23T21:00:00Z): it cannot be checked from here; if you are sure it is not running, delete "${lockPath}"`,
      );
      return true;
    },
  );
  assert.equal(readStateLock(lockPath)?.owner.hostname, 'elsewhere.example');
});

test('release is idempotent, removes the exit listener, and never deletes another owner\'s lock', () => {
  const { dir, lockPath } = lockIn();
  const listeners = process.listenerCount('exit');
  const lock = acquireStateLock(lockPath, SERVE);
  assert.equal(process.listenerCount('exit'), listeners + 1);
  lock.release();
  lock.release();
  assert.equal(process.listenerCount('exit'), listeners);
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(readStateLock(lockPath), null);

  const again = acquireStateLock(lockPath, WRITER);
  const other: LockOwner = { ...again.owner, startedAt: again.owner.startedAt - 1 };
  writeOwner(lockPath, other);
  again.release();
  assert.deepEqual(readStateLock(lockPath), { owner: other, alive: true });
});

test('update rewrites the owner in place, keeping the lock', () => {
  const { dir, lockPath } = lockIn();
  const lock = acquireStateLock(lockPath, SERVE);
  lock.update({ port: 8787 });
  assert.equal(lock.owner.port, 8787);
  assert.deepEqual(readStateLock(lockPath), { owner: lock.owner, alive: true });
  assert.deepEqual(readdirSync(dir), ['palyrad.lock']);
  lock.release();
  assert.deepEqual(readdirSync(dir), []);
  assert.throws(() => lock.update({ port: 1 }), { code: 'PALYRA_INTERNAL' });
});

test('a takeover claim left by a process that died mid-takeover is cleared; a live one is waited on', () => {
  const { dir, lockPath } = lockIn();
  const stale: LockOwner = { pid: deadPid(), mode: 'serve', command: 'palyrad serve', startedAt: 1, hostname: hostname() };
  const claim = `${lockPath}.takeover-${sha256Hex(writeOwner(lockPath, stale)).slice(0, 16)}`;
  writeOwner(claim, { ...stale, mode: 'writer', startedAt: 2 });
  const lock = acquireStateLock(lockPath, WRITER);
  assert.deepEqual(lock.tookOverStaleFrom, stale);
  assert.deepEqual(readdirSync(dir), ['palyrad.lock']);
  lock.release();

  const liveClaim = `${lockPath}.takeover-${sha256Hex(writeOwner(lockPath, stale)).slice(0, 16)}`;
  writeOwner(liveClaim, { pid: process.pid, mode: 'writer', command: 'palyrad journal append', startedAt: 3, hostname: hostname() });
  assert.throws(() => acquireStateLock(lockPath, WRITER), {
    code: 'PALYRA_STATE_LOCKED',
    message: `Cannot lock state directory "${dir}": another process kept taking over its stale lock "${lockPath}"; try again`,
  });
  assert.deepEqual(readStateLock(lockPath), { owner: stale, alive: false });
});

test('processes racing to take over stale locks: exactly one wins each', async (t) => {
  const { dir } = lockIn();
  // Many rounds, one stale lock each, so the processes' attempts really overlap.
  const lockPaths = Array.from({ length: 40 }, (_, i) => join(dir, `palyrad-${i}.lock`));
  const dead = deadPid();
  for (const lockPath of lockPaths) writeOwner(lockPath, { pid: dead, mode: 'serve', command: 'palyrad serve', startedAt: 1, hostname: hostname() });
  const module = fileURLToPath(new URL('./state-lock.ts', import.meta.url));
  // Each child waits for a shared start instant (tsx takes a while to load), tries every
  // lock once, prints W (won) or L (locked) per lock, then holds its locks until stdin closes.
  const startAt = Date.now() + 2000;
  const script = `import(${JSON.stringify(module)}).then((m) => {
    process.setMaxListeners(0);
    while (Date.now() < ${startAt});
    let results = '';
    for (const lockPath of ${JSON.stringify(lockPaths)}) {
      try { m.acquireStateLock(lockPath, { mode: 'writer', command: 'racer' }); results += 'W'; }
      catch (e) { results += e.code === 'PALYRA_STATE_LOCKED' ? 'L' : '?'; }
    }
    process.stdout.write(results + '\\n');
    process.stdin.resume();
  });`;
  const children = Array.from({ length: 4 }, () =>
    spawn(process.execPath, ['--import', TSX, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  t.after(() => children.forEach((child) => child.kill('SIGKILL')));
  const results = await Promise.all(children.map(firstLine));
  const winners = lockPaths.map((_, i) => children.filter((_, c) => results[c]?.[i] === 'W').map((child) => child.pid));
  assert.deepEqual(winners.map((pids) => pids.length), lockPaths.map(() => 1));
  assert.deepEqual(lockPaths.map((lockPath) => readStateLock(lockPath)?.owner.pid), winners.map(([pid]) => pid));
  assert.equal(readdirSync(dir).length, lockPaths.length);
  children.forEach((child) => child.stdin.end());
  await Promise.all(children.map((child) => once(child, 'exit')));
  assert.deepEqual(readdirSync(dir), []);
});

/** This process's kernel as a lock records it (Linux). */
function kernelHere(): { bootId: string; pidNamespace: string } {
  const own = acquireStateLock(lockIn().lockPath, WRITER);
  own.release();
  return { bootId: own.owner.bootId as string, pidNamespace: own.owner.pidNamespace as string };
}

test('a holder in another PID namespace of this kernel (a container) is alive while it touches its lock, dead once it stops', { skip: !onLinux }, () => {
  const { dir, lockPath } = lockIn();
  const { bootId } = kernelHere();
  // Its pid 1 is this namespace's init, alive but not it: the pid must not be trusted.
  const inContainer: LockOwner = { pid: 1, mode: 'serve', command: 'palyrad serve', startedAt: 1, hostname: 'ctr-aaaa', procStart: '1', bootId, pidNamespace: 'pid:[1]' };
  writeOwner(lockPath, inContainer);
  assert.deepEqual(readStateLock(lockPath), { owner: inContainer, alive: true });
  assert.throws(
    () => acquireStateLock(lockPath, WRITER),
    (error: unknown) =>
      error instanceof PalyraError &&
      error.message ===
        `State directory "${dir}" is locked by palyrad serve in another PID namespace (a container?) on this machine (its pid 1, since 1970-01-01T00:00:00Z): it cannot be checked from here; its lock is taken over once it has not been refreshed for 60 s`,
  );
  const longAgo = new Date(Date.now() - 61_000);
  utimesSync(lockPath, longAgo, longAgo);
  assert.deepEqual(readStateLock(lockPath), { owner: inContainer, alive: false });
  const lock = acquireStateLock(lockPath, WRITER);
  assert.deepEqual(lock.tookOverStaleFrom, inContainer);
  lock.release();
});

test('a holder on this host under an older boot id died with that boot; another host\'s is still not judged', { skip: !onLinux }, () => {
  const { lockPath } = lockIn();
  const { pidNamespace } = kernelHere();
  const beforeReboot: LockOwner = { pid: process.pid, mode: 'serve', command: 'palyrad serve', startedAt: 1, hostname: hostname(), bootId: 'an-earlier-boot', pidNamespace };
  writeOwner(lockPath, beforeReboot);
  assert.deepEqual(readStateLock(lockPath), { owner: beforeReboot, alive: false });
  const elsewhere = { ...beforeReboot, hostname: 'elsewhere.example' };
  writeOwner(lockPath, elsewhere);
  assert.deepEqual(readStateLock(lockPath), { owner: elsewhere, alive: true });
});

test('a zombie holder (exited, not yet reaped by its parent) is dead', { skip: !onLinux }, async (t) => {
  const { lockPath } = lockIn();
  // The shell backgrounds a child that exits soon after, then execs a sleep that never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  const zombie = Number(await firstLine(parent));
  let state = '';
  for (let i = 0; i < 300 && state !== 'Z'; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
    state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '';
  }
  assert.equal(state, 'Z', 'the child became a zombie');
  const holder: LockOwner = { pid: zombie, mode: 'writer', command: 'palyrad journal append', startedAt: 1, hostname: hostname() };
  writeOwner(lockPath, holder);
  assert.deepEqual(readStateLock(lockPath), { owner: holder, alive: false });
});

test('a live holder whose mode a later version wrote is judged by its pid, not taken as garbage', () => {
  const { dir, lockPath } = lockIn();
  const later: LockOwner = { pid: process.pid, mode: 'compact', command: 'palyrad journal compact', startedAt: 1, hostname: hostname() };
  writeOwner(lockPath, later);
  assert.throws(() => acquireStateLock(lockPath, WRITER), lockedBy(dir, lockPath, later, 'wait for it to finish, then try again'));
});

test('a lock file that is a dangling symlink is a clear refusal, not twenty retries and "try again"', () => {
  const { lockPath } = lockIn();
  symlinkSync('/nonexistent/palyra-lock-target', lockPath);
  assert.throws(() => acquireStateLock(lockPath, WRITER), { code: 'PALYRA_STATE_LOCKED', message: `Lock file "${lockPath}" is a symbolic link to nothing; palyrad never makes one: remove it` });
});

test('a holder touches its lock file, writes it again when it is deleted, and loses the lock once the file names another process', async () => {
  const { dir, lockPath } = lockIn();
  const warnings: string[] = [];
  const lost: PalyraError[] = [];
  const lock = acquireStateLock(lockPath, { ...SERVE, heartbeatMs: 20, onWarning: (m) => warnings.push(m), onLost: (e) => lost.push(e) });
  const tick = () => new Promise((r) => setTimeout(r, 80));
  const longAgo = new Date(Date.now() - 120_000);
  utimesSync(lockPath, longAgo, longAgo);
  await tick();
  assert.ok(Date.now() - statSync(lockPath).mtimeMs < 5_000, 'the heartbeat refreshed the mtime');
  rmSync(lockPath);
  await tick();
  assert.deepEqual(JSON.parse(readFileSync(lockPath, 'utf8')), { version: 1, ...lock.owner });
  assert.deepEqual(warnings, [`lock file "${lockPath}" was removed while this process held it; it was written again`]);
  const other: LockOwner = { pid: deadPid(), mode: 'writer', command: 'palyrad journal append', startedAt: 1, hostname: hostname() };
  writeOwner(lockPath, other);
  await tick();
  await tick();
  const message = `Lost the lock of state directory "${dir}": the lock file now names palyrad journal append (pid ${other.pid}); this process stops writing to it`;
  assert.deepEqual(lost.map((e) => [e.code, e.message]), [['PALYRA_STATE_LOCKED', message]], 'told once');
  assert.throws(() => lock.assertHeld(), { code: 'PALYRA_STATE_LOCKED', message });
  assert.equal(warnings.length, 1);
  lock.release();
  assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, other.pid, 'release leaves another owner\'s file');
});

test('a holder quiet long enough to be judged dead (stopped, or blocked) checks its lock before it writes again', () => {
  let now = Date.now();
  const clock = () => now;
  const quietLock = (lockPath: string) => {
    const warnings: string[] = [];
    const lost: PalyraError[] = [];
    const lock = acquireStateLock(lockPath, { ...SERVE, heartbeatMs: 3_600_000, clock, onWarning: (m) => warnings.push(m), onLost: (e) => lost.push(e) });
    return { lock, warnings, lost };
  };
  // Another palyrad judged it dead, took the lock, wrote and let it go: the file is gone.
  const gone = lockIn();
  const a = quietLock(gone.lockPath);
  now += 66_000;
  rmSync(gone.lockPath);
  const goneMessage = `Lost the lock of state directory "${gone.dir}": its lock file is gone after this process had not refreshed it for 66 s (stopped, or busy), so another palyrad may have taken the directory over and written meanwhile; this process stops writing to it`;
  assert.throws(() => a.lock.assertHeld(), { code: 'PALYRA_STATE_LOCKED', message: goneMessage });
  assert.throws(() => a.lock.assertHeld(), { message: goneMessage });
  assert.equal(a.lost.length, 1);
  assert.equal(readdirSync(gone.dir).length, 0, 'the lock file is not written again');
  a.lock.release();
  // Nobody came: the file still names it, untouched; it is touched and the holder goes on.
  const kept = lockIn();
  const b = quietLock(kept.lockPath);
  const longAgo = new Date(Date.now() - 66_000);
  utimesSync(kept.lockPath, longAgo, longAgo);
  now += 66_000;
  b.lock.assertHeld();
  assert.ok(Date.now() - statSync(kept.lockPath).mtimeMs < 5_000, 'touched');
  assert.deepEqual(b.warnings, [`this process had not refreshed its lock file "${kept.lockPath}" for 66 s (stopped, or busy); it still names this process, so nobody took it over`]);
  assert.equal(b.lost.length, 0);
  b.lock.release();
  // A takeover is under way (its claim exists): the holder backs off.
  const claimed = lockIn();
  const c = quietLock(claimed.lockPath);
  now += 66_000;
  writeFileSync(`${claimed.lockPath}.takeover-${sha256Hex(readFileSync(claimed.lockPath, 'utf8')).slice(0, 16)}`, 'a taker');
  assert.throws(() => c.lock.assertHeld(), /another palyrad is taking its lock over, judging this process dead after a quiet spell/);
  c.lock.release();
  // The file cannot be read (here: a folder in its place): a hiccup retried later, unless quiet long enough to be judged dead.
  const unreadable = lockIn();
  const e = quietLock(unreadable.lockPath);
  rmSync(unreadable.lockPath);
  mkdirSync(unreadable.lockPath);
  now += 25_000;
  e.lock.assertHeld();
  assert.equal(e.lost.length, 0, 'a check that fails 25 s after the last beat is retried');
  now += 40_000;
  assert.throws(() => e.lock.assertHeld(), /its lock file could not be checked after a quiet spell \(Cannot read lock file/);
  e.lock.release();
  // Refreshed lately: no check at all (a write pays nothing), even with the file gone.
  const recent = lockIn();
  const d = quietLock(recent.lockPath);
  now += 5_000;
  rmSync(recent.lockPath);
  d.lock.assertHeld();
  d.lock.release();
});

test('a taker that replaces the lock file between the holder\'s read and its touch is seen: the lock is lost', () => {
  const { lockPath } = lockIn();
  let now = Date.now();
  const lost: PalyraError[] = [];
  const lock = acquireStateLock(lockPath, { ...SERVE, heartbeatMs: 3_600_000, clock: () => now, onLost: (e) => lost.push(e) });
  now += 66_000;
  // The taker runs its whole takeover (claim, replace, drop the claim) right before the holder's touch.
  const realUtimes = fs.utimesSync;
  const taker: LockOwner = { ...lock.owner, pid: 1, startedAt: 2, command: 'palyrad journal append', pidNamespace: 'pid:[9999]' };
  fs.utimesSync = ((path: PathLike, atime: TimeLike, mtime: TimeLike) => {
    fs.utimesSync = realUtimes;
    syncBuiltinESMExports();
    writeOwner(lockPath, taker);
    realUtimes(path, atime, mtime);
  }) as typeof fs.utimesSync;
  syncBuiltinESMExports();
  try {
    assert.throws(() => lock.assertHeld(), /the lock file was replaced while this process refreshed it; it now names palyrad journal append \(pid 1\)/);
  } finally {
    fs.utimesSync = realUtimes;
    syncBuiltinESMExports();
  }
  assert.equal(lost.length, 1);
  lock.release();
  assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, 1, 'the taker\'s file is left alone');
});

test('a quiet spell counts by the longer of the wall clock and the monotonic one: a wall clock stepped back hides nothing', () => {
  const { lockPath } = lockIn();
  let wall = Date.now();
  let monotonic = 0;
  const lock = acquireStateLock(lockPath, { ...SERVE, heartbeatMs: 3_600_000, clock: () => wall, monotonicClock: () => monotonic });
  // Stopped 70 s, the wall clock stepped back 30 s meanwhile: 40 s by the wall, 70 s in truth.
  wall += 40_000;
  monotonic += 70_000;
  rmSync(lockPath);
  assert.throws(() => lock.assertHeld(), /its lock file is gone after this process had not refreshed it for 70 s/);
  assert.equal(existsSync(lockPath), false, 'not written again');
  lock.release();
});
