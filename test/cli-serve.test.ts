import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writePidFile } from '../core/tools/process/pid-files.ts';
import { procStartOf } from '../core/tools/process/proc-stat.ts';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { runCli, startCli } from './helpers/cli.ts';
import { fetchFresh } from './helpers/http.ts';
import { exited, serve, waitFor } from './helpers/daemon-process.ts';
import { tempDir } from './helpers/temp-dir.ts';

test('serve answers /healthz, refuses other writers, and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const { child, port, stderr } = await serve(root);
  const health = await fetchFresh(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 200);
  const body = (await health.json()) as { status: string; journal: { seq: number } };
  assert.equal(body.status, 'ok');
  assert.ok(body.journal.seq >= 2, 'genesis and daemon.started are journaled');
  const missing = await fetchFresh(`http://127.0.0.1:${port}/nope`);
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

test('a serve whose lock file comes to name another process stops writing and exits 2 at its next heartbeat', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const { child, stderr } = await serve(root);
  const lockPath = join(root, 'palyrad.lock');
  const other = { version: 1, pid: 999_999, mode: 'writer', command: 'palyrad journal append', startedAt: 1, hostname: 'elsewhere' };
  writeFileSync(lockPath, `${JSON.stringify(other)}\n`);
  // The heartbeat runs every 10 s.
  assert.equal(await exited(child), 2, stderr());
  assert.match(stderr(), /Lost the lock of state directory ".*": the lock file now names palyrad journal append \(pid 999999\); this process stops writing to it/);
  assert.match(stderr(), /stopping: the state lock was lost\n/);
  assert.doesNotMatch(stderr(), /stop failed|index snapshot failed/, 'the stop writes nothing, so nothing fails');
  assert.deepEqual(JSON.parse(readFileSync(lockPath, 'utf8')), other, 'the other process\'s lock file is left alone');
  const report = JSON.parse(runCli(['--state', root, 'journal', 'verify', '--json']).stdout);
  assert.equal(report.ok, true);
  const tail = runCli(['--state', root, 'journal', 'tail', '-n', '1', '--json']);
  assert.equal(JSON.parse(tail.stdout).kind, 'daemon.started', 'no daemon.stopped (nor anything else) written after the loss');
});

test('serve refuses a bad port with a usage error', () => {
  const r = runCli(['--state', join(tempDir(), 's'), 'serve', '--port', '70000']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'palyrad: --port must be an integer from 0 to 65535, not "70000"\n');
});

test('serve on a path that is a file names the state directory, not the workspace under it', () => {
  const file = join(tempDir(), 'a-file');
  writeFileSync(file, 'x');
  const r = runCli(['--state', file, 'serve', '--port', '0']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `palyrad: State directory "${file}" is not a directory\n`);
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

test('the daemon answers a message over HTTP with its admin token, and SIGKILL then restart loses nothing', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const first = await serve(root);
  const token = readFileSync(join(root, 'auth', 'admin.token'), 'utf8').trim();
  const api = (port: number, method: string, path: string, body?: unknown, bearer = token) =>
    fetchFresh(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  assert.equal((await api(first.port, 'GET', '/api/v1/sessions', undefined, 'wrong')).status, 401);
  const session = (await (await api(first.port, 'POST', '/api/v1/sessions', { key: 'ops' })).json()) as { id: string };
  const answer = (await (await api(first.port, 'POST', `/api/v1/sessions/${session.id}/messages?wait=true`, { text: 'echo hello daemon', idempotencyKey: 'once' })).json()) as {
    runId: string;
    run: { state: string; finalText: string };
  };
  assert.deepEqual([answer.run.state, answer.run.finalText], ['completed', 'The tool returned: {"text":"hello daemon"}']);
  first.child.kill('SIGKILL');
  await exited(first.child);

  const second = await serve(root);
  assert.equal(readFileSync(join(root, 'auth', 'admin.token'), 'utf8').trim(), token, 'the token is kept across restarts');
  const sessions = (await (await api(second.port, 'GET', '/api/v1/sessions')).json()) as { sessions: { id: string }[] };
  assert.deepEqual(sessions.sessions.map((s) => s.id), [session.id], 'the session survived the crash');
  const again = (await (await api(second.port, 'POST', `/api/v1/sessions/ops/messages`, { text: 'echo hello daemon', idempotencyKey: 'once' })).json()) as { duplicate: boolean; runId: string };
  assert.deepEqual([again.duplicate, again.runId], [true, answer.runId], 'the acknowledged message is not run twice');

  // The client commands find the daemon through the lock file and the token file.
  const sent = runCli(['--state', root, 'send', 'ops', 'echo via cli', '--wait']);
  assert.deepEqual([sent.code, sent.stdout.trim()], [0, 'The tool returned: {"text":"via cli"}'], sent.stderr);
  const status = JSON.parse(runCli(['--state', root, 'status', '--json']).stdout);
  assert.deepEqual([status.serving, status.port, status.sessions], [true, second.port, 1]);
  const metrics = await (await api(second.port, 'GET', '/metrics')).text();
  assert.match(metrics, /^# TYPE palyra_journal_head_seq gauge$/m);
  // The writes since this daemon started took disk time, and less than the daemon has lived.
  const writes = Number(/^palyra_journal_writes_total (\d+)$/m.exec(metrics)?.[1]);
  const writeSeconds = Number(/^palyra_journal_write_seconds_total ([\d.e-]+)$/m.exec(metrics)?.[1]);
  const uptime = Number(/^palyra_uptime_seconds (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(writes > 0 && writeSeconds > 0 && writeSeconds <= uptime + 1, metrics);
  assert.match(metrics, /^palyra_journal_write_failures_total 0$/m);
  assert.match(metrics, /^palyra_runs\{state="completed"\} 2$/m, 'the run from before the crash and the CLI\'s');
  assert.equal((await fetchFresh(`http://127.0.0.1:${second.port}/metrics`)).status, 401, 'metrics need the token');
  assert.equal((await fetchFresh(`http://127.0.0.1:${second.port}/readyz`)).status, 200);
  // The OpenAI-compatible surface is served by the daemon too.
  const completion = (await (await api(second.port, 'POST', '/v1/chat/completions', { model: 'any', user: 'ops-bot', messages: [{ role: 'user', content: 'echo openai' }] })).json()) as {
    choices: { message: { content: string } }[];
  };
  assert.equal(completion.choices[0]?.message.content, 'The tool returned: {"text":"openai"}');
  // And the WebSocket endpoint: the token is checked, the first frame is the hello.
  const hello = await new Promise<{ op: string; seq: number }>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${second.port}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
    socket.once('message', (data) => {
      resolve(JSON.parse(String(data)) as { op: string; seq: number });
      socket.close();
    });
    socket.once('error', reject);
  });
  assert.deepEqual([hello.op, hello.seq], ['hello', 1]);
  const runs = JSON.parse(runCli(['--state', root, 'runs', 'list', '--json']).stdout) as { state: string }[];
  assert.deepEqual(runs.map((r) => r.state), ['completed', 'completed', 'completed'], 'the OpenAI client\'s, the CLI\'s, and the one from before the crash');
  assert.equal(JSON.parse(runCli(['--state', root, 'approvals', 'list', '--json']).stdout).length, 0);
  const tape = (await (await api(second.port, 'GET', `/api/v1/runs/${answer.runId}/tape`)).json()) as { events: { kind: string }[] };
  assert.deepEqual([tape.events[0]?.kind, tape.events.at(-1)?.kind], ['run.started', 'run.finished'], 'the run from before the crash, from the journal');

  // SIGHUP reloads the policy folder: a broken set is refused whole, a valid one goes in force.
  const before = ((await (await api(second.port, 'GET', '/api/v1/policies')).json()) as { hash: string }).hash;
  mkdirSync(join(root, 'policies'), { recursive: true });
  writeFileSync(join(root, 'policies', 'broken.cedar'), 'permit (principal, action, resource) when { resource.nope };');
  second.child.kill('SIGHUP');
  await waitFor(() => /policy reload refused/.test(second.stderr()));
  assert.equal(((await (await api(second.port, 'GET', '/api/v1/policies')).json()) as { hash: string }).hash, before, 'the old set stays in force');
  writeFileSync(join(root, 'policies', 'broken.cedar'), '@id("no-echo")\nforbid (principal, action == Action::"tool.invoke", resource == Tool::"echo");');
  second.child.kill('SIGHUP');
  await waitFor(() => /policies reloaded: set /.test(second.stderr()));
  assert.notEqual(((await (await api(second.port, 'GET', '/api/v1/policies')).json()) as { hash: string }).hash, before);
  const denied = runCli(['--state', root, 'send', 'ops', 'echo now forbidden', '--wait']);
  assert.match(denied.stdout, /no-echo/, denied.stdout);

  const unknown = runCli(['--state', root, 'runs', 'show', 'run_nope', '--json']);
  assert.deepEqual([unknown.code, JSON.parse(unknown.stderr).error.code], [2, 'PALYRA_NOT_FOUND']);
  second.child.kill('SIGTERM');
  assert.equal(await exited(second.child), 0, second.stderr());
  const verify = JSON.parse(runCli(['--state', root, 'journal', 'verify', '--json']).stdout);
  assert.deepEqual([verify.ok, verify.anchored], [true, true]);
  const noDaemon = runCli(['--state', root, 'send', 'ops', 'hello']);
  assert.equal(noDaemon.code, 2);
  assert.match(noDaemon.stderr, /No daemon is serving/);
});

test('serve takes its providers from the configuration and refuses unsafe or broken settings before it locks anything', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'STATE'), '{"format":"palyra-state","version":1}\n');
  const script = join(root, 'script.json');
  writeFileSync(script, JSON.stringify({ version: 1, turns: [{ when: {}, text: 'configured script speaking' }] }));
  writeFileSync(join(root, 'config.toml'), `[[providers]]\ntype = "scripted"\nid = "mine"\nscript = "${script}"\n`);
  const daemon = await serve(root);
  const token = readFileSync(join(root, 'auth', 'admin.token'), 'utf8').trim();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const session = (await (await fetchFresh(`http://127.0.0.1:${daemon.port}/api/v1/sessions`, { method: 'POST', headers, body: '{}' })).json()) as { id: string };
  const sent = (await (await fetchFresh(`http://127.0.0.1:${daemon.port}/api/v1/sessions/${session.id}/messages?wait=true`, { method: 'POST', headers, body: '{"text":"hi"}' })).json()) as { run: { finalText: string } };
  assert.equal(sent.run.finalText, 'configured script speaking');
  daemon.child.kill('SIGTERM');
  assert.equal(await exited(daemon.child), 0);

  const exposed = runCli(['--state', root, 'serve', '--host', '0.0.0.0', '--port', '0']);
  assert.equal(exposed.code, 2);
  assert.match(exposed.stderr, /Refusing to listen on "0\.0\.0\.0"/);
  writeFileSync(join(root, 'config.toml'), '[[providers]]\ntype = "anthropic"\nid = "claude"\nmodel = "claude-x"\napiKeyEnv = "PALYRA_TEST_MISSING_KEY"\n');
  const noKey = runCli(['--state', root, 'serve', '--port', '0']);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /needs its API key in the environment variable PALYRA_TEST_MISSING_KEY/);
  assert.equal(existsSync(join(root, 'palyrad.lock')), false, 'nothing was left locked');
});

test('the client commands reach a daemon serving HTTPS with a self-signed certificate, pinned from the lock file', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const certs = new URL('../core/tools/http/testdata/', import.meta.url);
  const child = startCli(['--state', root, 'serve', '--port', '0'], { PALYRA_TLS_CERT: new URL('secure-test.cert.pem', certs).pathname, PALYRA_TLS_KEY: new URL('secure-test.key.pem', certs).pathname });
  try {
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(() => /serving on https:\/\/127\.0\.0\.1:\d+/.test(stderr), 30_000);
    const status = runCli(['--state', root, 'status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(JSON.parse(status.stdout).url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const runs = runCli(['--state', root, 'runs', 'list', '--json']);
    assert.deepEqual([runs.code, JSON.parse(runs.stdout)], [0, []], runs.stderr);
  } finally {
    child.kill('SIGTERM');
    await exited(child);
  }
});

test('with JSON logs, a failed start is one JSON log line on stderr, with the same exit code', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const first = await serve(root);
  try {
    const locked = runCli(['--state', root, 'serve', '--port', '0', '--log-format', 'json']);
    assert.equal(locked.code, 2);
    const lines = locked.stderr.trim().split('\n').map((l) => JSON.parse(l) as { ts: string; msg: string; error: { code: string; message: string } });
    assert.equal(lines.length, 1, locked.stderr);
    assert.deepEqual(Object.keys(lines[0] ?? {}), ['ts', 'msg', 'error']);
    assert.equal(lines[0]?.error.code, 'PALYRA_STATE_LOCKED');
    assert.equal(lines[0]?.msg, `could not start: ${lines[0]?.error.message}`);
    // A configuration that does not load: the environment says how to log.
    const bad = runCli(['--state', root, 'serve'], { env: { PALYRA_LOG_FORMAT: 'json', PALYRA_PORT: '70000' } });
    assert.equal(bad.code, 2);
    assert.deepEqual(JSON.parse(bad.stderr).error, { code: 'PALYRA_INVALID_ARGUMENT', message: 'PALYRA_PORT (server.port) must be at most 65535' });
  } finally {
    first.child.kill('SIGTERM');
    await exited(first.child);
  }
});

test('the sessions commands give a script a session to send to: create (by key, safe to retry), show, list, archive, with clear refusals', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  const { child, stderr } = await serve(root);
  try {
    const cli = (...args: string[]) => runCli(['--state', root, ...args]);
    const missing = cli('send', 'ops', 'echo hi');
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `palyrad: No session "ops" (looked for an id, key or label); create one with 'palyrad sessions create --key ops'\n`);

    const created = cli('sessions', 'create', '--key', 'ops', '--label', 'Operations', '--owner', '--max-turns', '3', '--max-tokens', '500');
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^ses_[0-9A-Z]{26}$/);
    assert.equal(cli('sessions', 'create', '--key', 'ops').stdout.trim(), id, 'a create with a live key returns that session');
    const shown = JSON.parse(cli('sessions', 'show', 'Operations', '--json').stdout) as { id: string; key: string; owner: boolean; budgets: object; channel: string };
    assert.deepEqual(shown, { ...shown, id, key: 'ops', owner: true, budgets: { maxTurns: 3, maxTokens: 500 }, channel: 'api' });
    assert.match(cli('sessions', 'show', id).stdout, /^budgets {4}maxTurns 3, maxTokens 500$/m);

    const sent = cli('send', 'ops', 'echo through a created session', '--wait');
    assert.deepEqual([sent.code, sent.stdout.trim()], [0, 'The tool returned: {"text":"through a created session"}'], sent.stderr);

    // Bad input is refused before or by the daemon, and creates nothing.
    const zero = cli('sessions', 'create', '--key', 'other', '--max-turns', '0');
    assert.deepEqual([zero.code, zero.stderr], [2, 'palyrad: --max-turns must be a positive integer, not "0"\n']);
    const badKey = cli('sessions', 'create', '--key', 'two words', '--json');
    assert.equal(badKey.code, 2);
    assert.deepEqual(JSON.parse(badKey.stderr).error.code, 'PALYRA_INVALID_ARGUMENT');
    assert.match(JSON.parse(badKey.stderr).error.message, /^Session key must be 1–128 letters/);
    const listed = JSON.parse(cli('sessions', 'list', '--json').stdout) as { id: string }[];
    assert.deepEqual(listed.map((s) => s.id), [id], 'the refused creates made no session');

    assert.equal(cli('sessions', 'archive', 'ops').stdout.trim(), `archived ${id}`);
    assert.equal(cli('sessions', 'list').stdout.trim(), 'no sessions');
    assert.match(cli('sessions', 'list', '--archived').stdout, new RegExp(`^${id}  key ops, label Operations  api \\(owner\\)  archived$`, 'm'));
    const toArchived = cli('send', id, 'echo late');
    assert.equal(toArchived.code, 2);
    assert.match(toArchived.stderr, /is archived/);
    const unknown = cli('sessions', 'show', 'nope', '--json');
    assert.deepEqual([unknown.code, JSON.parse(unknown.stderr).error.code], [2, 'PALYRA_NOT_FOUND']);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0, stderr());
  }
  const noDaemon = runCli(['--state', root, 'sessions', 'list']);
  assert.deepEqual([noDaemon.code, /No daemon is serving/.test(noDaemon.stderr)], [2, true]);
});
