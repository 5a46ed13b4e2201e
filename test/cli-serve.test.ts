import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writePidFile } from '../core/tools/process/pid-files.ts';
import { procStartOf } from '../core/tools/process/proc-stat.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, startCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** Starts `serve --port 0` and resolves with the port once it logs that it is serving. */
function serve(root: string): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = startCli(['--state', root, 'serve', '--port', '0']);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve({ child, port: Number(m[1]), stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

test('serve answers /healthz, refuses other writers, and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const { child, port, stderr } = await serve(root);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 200);
  const body = (await health.json()) as { status: string; journal: { seq: number } };
  assert.equal(body.status, 'ok');
  assert.ok(body.journal.seq >= 2, 'genesis and daemon.started are journaled');
  const missing = await fetch(`http://127.0.0.1:${port}/nope`);
  assert.deepEqual([missing.status, ((await missing.json()) as { error: { code: string } }).error.code], [404, 'PALYRA_NOT_FOUND']);

  const lock = JSON.parse(readFileSync(join(root, 'palyrad.lock'), 'utf8'));
  assert.deepEqual([lock.pid, lock.mode, lock.port], [child.pid, 'serve', port]);

  const writer = runCli(['--state', root, 'journal', 'append', '--kind', 'a.b', '--payload', '{}', '--json']);
  assert.equal(writer.code, 2);
  const err = JSON.parse(writer.stderr).error;
  assert.equal(err.code, 'PALYRA_STATE_LOCKED');
  assert.match(err.message, new RegExp(`is locked by palyrad serve \\(pid ${child.pid}, since `));
  const second = runCli(['--state', root, 'serve', '--port', '0']);
  assert.equal(second.code, 2);
  assert.match(second.stderr, /is locked by palyrad serve/);

  const reader = runCli(['--state', root, 'journal', 'verify', '--json']);
  assert.equal(reader.code, 0, 'readers work while the daemon runs');

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, stderr());
  assert.equal(existsSync(join(root, 'palyrad.lock')), false, 'the lock is released');
  const after = JSON.parse(runCli(['--state', root, 'journal', 'verify', '--json']).stdout);
  assert.deepEqual([after.ok, after.anchored], [true, true], 'shutdown signed a final checkpoint');
  const tail = runCli(['--state', root, 'journal', 'tail', '-n', '1', '--json']);
  assert.equal(JSON.parse(tail.stdout).kind, 'daemon.stopped');
});

test('a daemon killed with SIGKILL leaves a stale lock that the next start takes over', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const first = await serve(root);
  first.child.kill('SIGKILL');
  await exited(first.child);
  assert.equal(existsSync(join(root, 'palyrad.lock')), true);
  const second = await serve(root);
  assert.match(second.stderr(), new RegExp(`took over a stale lock from pid ${first.child.pid}`));
  second.child.kill('SIGINT');
  assert.equal(await exited(second.child), 0);
  const report = JSON.parse(runCli(['--state', root, 'journal', 'verify', '--json']).stdout);
  assert.deepEqual([report.ok, report.anchored], [true, true]);
});

test('serve refuses a bad port with a usage error', () => {
  const r = runCli(['--state', join(tempDir(), 's'), 'serve', '--port', '70000']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'palyrad: --port must be an integer from 0 to 65535, not "70000"\n');
});

test('serve kills process groups a crashed daemon left running, before it serves', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  // A first run creates the state directory; then pretend a dead daemon left `sleep` behind.
  const first = await serve(root);
  first.child.kill('SIGTERM');
  await exited(first.child);
  const orphan = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  orphan.unref();
  const pid = orphan.pid as number;
  writePidFile(root, { pid, pgid: pid, argv: ['sleep', '60'], startedAt: Date.now(), procStart: procStartOf(pid), owner: { pid: 999_999_999 } });
  const second = await serve(root);
  assert.match(second.stderr(), /killed a process group left by a previous daemon: sleep 60/);
  // The orphan is our child: it is gone once killed and reaped (poll: reaping is asynchronous).
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(), false, 'the orphan is gone');
  second.child.kill('SIGTERM');
  assert.equal(await exited(second.child), 0);
});
