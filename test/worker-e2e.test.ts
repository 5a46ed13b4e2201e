import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../core/daemon/config.ts';
import { startDaemon } from '../core/daemon/daemon.ts';
import { createWorkerToken } from '../core/daemon/worker-tokens.ts';
import { runCli, startCli } from './helpers/cli.ts';
import { fetchFresh } from './helpers/http.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** A scripted model that calls the worker's echo for "remote <text>" and reports the result. */
const SCRIPT = {
  version: 1,
  turns: [
    { when: { lastMessageRole: 'tool' }, text: 'The worker said: {{lastToolResult}}' },
    { when: { lastUserStartsWith: 'remote ' }, toolCalls: [{ name: 'worker.gpu-1.echo', arguments: { text: '{{lastUserRest}}' } }] },
    { text: 'nothing to do' },
  ],
};

async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code))));
}

test('a run calling a worker\'s tool waits for approval by policy, then completes with the worker\'s output', { timeout: 90_000 }, async () => {
  const root = join(tempDir(), 'state');
  const dir = tempDir();
  writeFileSync(join(dir, 'script.json'), JSON.stringify(SCRIPT));
  const daemonLog: string[] = [];
  const config = loadConfig({ stateDir: root, env: {}, flags: { 'server.port': 0 } }).config;
  config.providers = [{ ...config.providers[0], type: 'scripted', script: join(dir, 'script.json') } as (typeof config.providers)[number]];
  const daemon = await startDaemon({ stateDir: root, config, env: {}, version: 'test', log: (m) => daemonLog.push(m) });
  after(() => daemon.stop('test over'));
  const admin = readFileSync(daemon.adminTokenPath, 'utf8').trim();
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetchFresh(`${daemon.url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await res.json()) as Record<string, unknown>;
  };

  const tokenFile = join(dir, 'gpu-1.token');
  writeFileSync(tokenFile, `${createWorkerToken(root, 'gpu-1')}\n`, { mode: 0o600 });
  const worker = startCli(['worker', '--connect', daemon.url, '--token-file', tokenFile, '--name', 'gpu-1', '--tools', 'echo', '--workspace', dir]);
  after(() => void worker.kill('SIGKILL'));
  let workerLog = '';
  worker.stderr?.on('data', (c: Buffer) => (workerLog += c.toString()));
  await waitFor(() => (/registered as worker "gpu-1" with 1 tool\(s\): worker\.gpu-1\.echo/.test(workerLog) ? true : undefined), `registration (worker log: ${workerLog})`);
  const metrics = await (await fetchFresh(`${daemon.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
  assert.match(metrics, /^palyra_workers_connected 1$/m);

  const session = (await api('POST', '/api/v1/sessions', { key: 'ops' })) as { id: string };
  const answer = api('POST', `/api/v1/sessions/${session.id}/messages?wait=true`, { text: 'remote hello from afar' });
  type Pending = { id: string; request: { tool: { name: string; capabilities: string[] } }; decision: { reasons: string[] } };
  const pending = await waitFor(async () => ((await api('GET', '/api/v1/approvals')).approvals as Pending[])[0], 'the approval request');
  assert.deepEqual(pending.request.tool, { ...pending.request.tool, name: 'worker.gpu-1.echo', capabilities: ['remote'] });
  assert.match(pending.decision.reasons.join(' '), /remote workers/);
  await api('POST', `/api/v1/approvals/${pending.id}`, { decision: 'approve', scope: 'once', by: 'test' });
  const { run } = (await answer) as { run: { state: string; finalText: string } };
  assert.deepEqual([run.state, run.finalText], ['completed', 'The worker said: {"text":"hello from afar"}']);

  worker.kill('SIGTERM');
  assert.equal(await exited(worker), 0, workerLog);
  await waitFor(() => (daemonLog.some((l) => l.startsWith('worker "gpu-1" disconnected (1000: "worker stopping")')) ? true : undefined), 'the disconnection');
  const events = ((await api('GET', '/api/v1/journal')) as { head: { seq: number } }).head.seq;
  assert.ok(events > 0);
  await daemon.stop('test over');
  const kinds = runCli(['--state', root, 'journal', 'tail', '-n', '200', '--json']).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
  assert.deepEqual(kinds.filter((k) => k.startsWith('worker.')), ['worker.connected', 'worker.disconnected']);
  assert.doesNotMatch(workerLog + daemonLog.join('\n'), new RegExp(readFileSync(tokenFile, 'utf8').trim()), 'the token is never logged');
});

test('palyrad worker: --help documents the flags and exit codes; a missing --connect is a usage error', () => {
  const help = runCli(['worker', '--help']);
  assert.equal(help.code, 0);
  for (const flag of ['--connect <url>', '--token-file <file>', '--tools <list>', '--workspace <dir>', 'PALYRA_WORKER_TOKEN', 'Exit codes: 0']) assert.ok(help.stdout.includes(flag), flag);
  const missing = runCli(['worker', '--token', 'x'.repeat(43)]);
  assert.deepEqual([missing.code, missing.stderr], [2, 'palyrad: --connect is required: give the daemon\'s URL, e.g. palyrad worker --connect ws://127.0.0.1:7142 --token-file worker.token\n']);
  const badTool = runCli(['worker', '--connect', 'ws://127.0.0.1:9', '--tools', 'echo,process.run'], { env: { PALYRA_WORKER_TOKEN: 'x'.repeat(43) } });
  assert.deepEqual([badTool.code, badTool.stderr], [2, 'palyrad: --tools lists "process.run", which a worker cannot offer: choose from echo, sleep, fs.read, fs.list, fs.write, http.fetch\n']);
  const noToken = runCli(['worker', '--connect', 'ws://127.0.0.1:9'], { env: { PALYRA_WORKER_TOKEN: '' } });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /^palyrad: A worker token is required/);
});

test('palyrad worker token create, list and revoke manage tokens offline', () => {
  const root = join(tempDir(), 'state');
  const created = runCli(['--state', root, 'worker', 'token', 'create', 'gpu-1', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { name, token } = JSON.parse(created.stdout) as { name: string; token: string };
  assert.deepEqual([name, /^[A-Za-z0-9_-]{43}$/.test(token)], ['gpu-1', true]);
  assert.equal(runCli(['--state', root, 'worker', 'token', 'create', 'gpu-1']).code, 2, 'one token per worker');
  assert.deepEqual((JSON.parse(runCli(['--state', root, 'worker', 'token', 'list', '--json']).stdout) as { name: string }[]).map((w) => w.name), ['gpu-1']);
  assert.equal(runCli(['--state', root, 'worker', 'token', 'revoke', 'gpu-1']).code, 0);
  const again = runCli(['--state', root, 'worker', 'token', 'revoke', 'gpu-1']);
  assert.deepEqual([again.code, again.stderr], [2, 'palyrad: Worker "gpu-1" has no token\n']);
  const bad = runCli(['--state', root, 'worker', 'token', 'create', 'Bad Name']);
  assert.equal(bad.code, 2);
  // A token created before the first serve makes a state directory the daemon then opens.
  assert.equal(runCli(['--state', root, 'journal', 'verify']).code, 0);
  const home = join(tempDir(), 'someones-home');
  mkdirSync(home);
  writeFileSync(join(home, 'notes.txt'), 'precious');
  for (const args of [['worker', 'token', 'create', 'w1'], ['journal', 'key']]) {
    const refused = runCli(['--state', home, ...args]);
    assert.equal(refused.code, 2, args.join(' '));
    assert.match(refused.stderr, /is not a palyrad state directory/);
  }
  assert.deepEqual(readdirSync(home), ['notes.txt'], 'nothing was written into a folder that is not a state directory');
});
