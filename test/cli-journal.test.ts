import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { canonicalJson, sha256Hex } from '../core/base/index.ts';
import pkg from '../package.json' with { type: 'json' };
import { runCli, startCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

test('--version prints the package version', () => {
  const r = runCli(['--version']);
  assert.deepEqual([r.code, r.stdout.trim(), r.stderr], [0, pkg.version, '']);
});

test('an unknown flag is a usage error: one sentence, exit 2, JSON body with --json', () => {
  const r = runCli(['journal', 'verify', '--bogus']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "palyrad: Unknown option '--bogus'. See 'palyrad --help'.\n");
  const j = runCli(['journal', 'verify', '--json', '--bogus']);
  assert.equal(j.code, 2);
  assert.deepEqual(JSON.parse(j.stderr), { error: { code: 'PALYRA_USAGE', message: "Unknown option '--bogus'. See 'palyrad --help'." } });
});

test('bad input is refused before anything is created', () => {
  const root = join(tempDir(), 'state');
  const bad = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{"a":', '--json']);
  assert.equal(bad.code, 2);
  assert.equal(JSON.parse(bad.stderr).error.code, 'PALYRA_INVALID_JSON');
  const big = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', JSON.stringify({ a: 'x'.repeat(5000) })], {
    env: { PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: '4096' },
  });
  assert.equal(big.code, 2);
  assert.match(big.stderr, /^palyrad: --payload is 5008 bytes, over the journal limit of 4096 bytes\n$/);
  const kind = runCli(['--state', root, 'journal', 'append', '--kind', 'Not A Kind', '--payload', '{}']);
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /Invalid event kind "Not A Kind"/);
  assert.throws(() => readdirSync(join(root, 'journal', 'segments')), { code: 'ENOENT' }, 'the bad kind was refused before any write');
  const deep = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '['.repeat(300) + ']'.repeat(300)]);
  assert.equal(deep.code, 2);
  assert.match(deep.stderr, /^palyrad: Invalid payload for "note.added": .*nesting deeper than 256 levels/);
  assert.equal(existsSync(root), false, 'nothing was created for a payload that cannot be written');
});

test('kinds and actors palyrad writes itself, a payload too large once redacted, and JSON errors quoting the payload are refused before anything is created', () => {
  const root = join(tempDir(), 'state');
  for (const kind of ['memory.stored', 'journal.recovered', 'session.created', 'run.finished']) {
    const r = runCli(['--state', root, 'journal', 'append', '--kind', kind, '--payload', '42', '--json']);
    assert.equal(r.code, 2, kind);
    assert.match(JSON.parse(r.stderr).error.message, new RegExp(`^Kind "${kind.replace('.', '\\.')}" is one palyrad writes itself .*: use a kind of your own, such as "note.added"$`));
  }
  const actor = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{}', '--actor', 'system']);
  assert.equal(actor.code, 2);
  assert.match(actor.stderr, /^palyrad: Actor "system" is one palyrad writes as/);
  // Four secret names become markers longer than their values: over the cap only then.
  const payload = JSON.stringify({ k: 'x'.repeat(4030), api_key: 'a', password: 'b', secret: 'c', token: 'd' });
  const big = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', payload], { env: { PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: '4096' } });
  assert.equal(big.code, 2);
  assert.match(big.stderr, /^palyrad: Payload of "note\.added" is \d+ bytes once redacted, over the journal limit of 4096 bytes\n$/);
  const leaky = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{"password":hunter2secret}']);
  assert.equal(leaky.code, 2);
  assert.equal(leaky.stderr, 'palyrad: --payload is not valid JSON\n', 'the text around the error (a secret, here) is not quoted');
  assert.equal(existsSync(root), false, 'nothing was created');
});

test('verify refuses an empty --key instead of trusting the state directory\'s own key; export takes --json', () => {
  const root = join(tempDir(), 'state');
  assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{}']).code, 0);
  assert.equal(runCli(['--state', root, 'journal', 'checkpoint']).code, 0);
  const empty = runCli(['--state', root, 'journal', 'verify', '--key', '', '--json']);
  assert.deepEqual([empty.code, JSON.parse(empty.stderr).error], [2, { code: 'PALYRA_USAGE', message: '--key needs a public key file' }]);
  const exported = runCli(['--state', root, 'journal', 'export', '--json']);
  assert.equal(exported.code, 0);
  assert.deepEqual(exported.stdout.trim().split('\n').map((l) => JSON.parse(l).kind), ['journal.genesis', 'note.added']);
});

test('a path that is not a state directory is refused', () => {
  const dir = tempDir();
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const r = runCli(['--state', file, 'journal', 'append', '--kind', 'a.b', '--payload', '{}', '--json']);
  assert.equal(r.code, 2);
  assert.deepEqual(JSON.parse(r.stderr), { error: { code: 'PALYRA_STATE_DIR_INVALID', message: `State directory "${file}" is not a directory` } });
  const home = join(dir, 'someones-home');
  mkdirSync(home);
  writeFileSync(join(home, 'notes.txt'), 'precious');
  const h = runCli(['--state', home, 'journal', 'append', '--kind', 'a.b', '--payload', '{}']);
  assert.equal(h.code, 2);
  assert.match(h.stderr, /is not a palyrad state directory: it has files but no STATE marker/);
  assert.deepEqual(readdirSync(home), ['notes.txt']);
  const missing = runCli(['--state', join(dir, 'nope'), 'journal', 'verify']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /State directory ".*nope" does not exist/);
});

test('append, show, tail, export, verify and reindex work together; export lines re-hash', () => {
  const root = join(tempDir(), 'state');
  const appended = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{"text":"hi","api_key":"k-123456789"}', '--session', 's-1', '--json']);
  assert.equal(appended.code, 0, appended.stderr);
  const a = JSON.parse(appended.stdout);
  assert.deepEqual([a.seq, a.redactions], [2, 1]);

  const show = runCli(['--state', root, 'journal', 'show', '2', '--json']);
  assert.equal(show.code, 0);
  const event = JSON.parse(show.stdout);
  assert.deepEqual([event.kind, event.sessionId, event.payload], ['note.added', 's-1', { api_key: '[REDACTED:key]', text: 'hi' }]);
  assert.equal(runCli(['--state', root, 'journal', 'show', '99']).code, 2);

  const tail = runCli(['--state', root, 'journal', 'tail', '-n', '1', '--json']);
  assert.deepEqual(tail.stdout.trim().split('\n').map((l) => JSON.parse(l).seq), [2]);
  assert.deepEqual(runCli(['--state', root, 'journal', 'tail', '-n', '0']), { code: 0, stdout: '', stderr: '' }, 'tail -n 0 (with -f: only new events)');
  assert.equal(runCli(['--state', root, 'journal', 'tail', '-n', '-1']).code, 2);

  const lines = runCli(['--state', root, 'journal', 'export']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const line of lines) {
    const { hash, ...rest } = line;
    assert.equal(sha256Hex(canonicalJson(rest)), hash, `seq ${line.seq} re-hashes`);
  }

  const verify = runCli(['--state', root, 'journal', 'verify', '--json']);
  assert.equal(verify.code, 0);
  const report = JSON.parse(verify.stdout);
  assert.deepEqual([report.ok, report.events, report.head.seq, report.anchored, report.checkpoints, report.problems], [true, 2, 2, true, 1, []]);

  const statusOf = () => JSON.parse(runCli(['--state', root, 'journal', 'status', '--json']).stdout) as { head: { seq: number }; indexSnapshot: unknown };
  assert.deepEqual(statusOf().indexSnapshot, { events: 2, oldestSeq: 1, lastSeq: 2 });
  writeFileSync(join(root, 'journal', 'index.sqlite'), 'not a database');
  const damaged = statusOf();
  assert.deepEqual([damaged.head.seq, damaged.indexSnapshot], [2, { unusable: 'damaged, of another version or unreadable: the next writer rebuilds it from the log' }]);

  const reindex = runCli(['--state', root, 'journal', 'reindex', '--json']);
  assert.equal(reindex.code, 0, reindex.stderr);
  assert.deepEqual([JSON.parse(reindex.stdout).events, JSON.parse(reindex.stdout).lastSeq], [2, 2]);

  const raw = readdirSync(join(root, 'journal', 'segments')).map((f) => readFileSync(join(root, 'journal', 'segments', f), 'latin1')).join('');
  assert.equal(raw.includes('k-123456789'), false, 'the secret never reached disk');
});

test('verify exits 1 on tampering, and on an unanchored head only with --require-anchor', () => {
  const root = join(tempDir(), 'state');
  assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'a.b', '--payload', '{"n":1}']).code, 0);
  rmSync(join(root, 'journal', 'checkpoints.jsonl'));
  const unanchored = runCli(['--state', root, 'journal', 'verify', '--json']);
  assert.equal(unanchored.code, 0);
  assert.deepEqual([JSON.parse(unanchored.stdout).ok, JSON.parse(unanchored.stdout).anchored], [true, false]);
  const human = runCli(['--state', root, 'journal', 'verify']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^journal unanchored: 2 events, /, 'not "ok" (DESIGN.md)');
  assert.equal(runCli(['--state', root, 'journal', 'verify', '--require-anchor']).code, 1);
  assert.equal(runCli(['--state', root, 'journal', 'checkpoint']).code, 0);
  assert.equal(runCli(['--state', root, 'journal', 'verify', '--require-anchor']).code, 0);
  assert.match(runCli(['--state', root, 'journal', 'verify']).stdout, /^journal ok: 2 events, /);

  const segments = join(root, 'journal', 'segments');
  const file = join(segments, readdirSync(segments)[0] as string);
  const bytes = readFileSync(file);
  bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0x01;
  writeFileSync(file, bytes);
  const tampered = runCli(['--state', root, 'journal', 'verify']);
  assert.equal(tampered.code, 1);
  assert.match(tampered.stdout, /journal FAILED/);
});

test('key prints the public key that verify trusts', () => {
  const root = join(tempDir(), 'state');
  assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'a.b', '--payload', '{}']).code, 0);
  const key = JSON.parse(runCli(['--state', root, 'journal', 'key', '--json']).stdout);
  assert.match(key.keyId, /^[0-9a-f]{16}$/);
  assert.match(key.publicKey, /^-----BEGIN PUBLIC KEY-----/);
  const external = join(tempDir(), 'auditor.pub');
  writeFileSync(external, key.publicKey);
  assert.equal(runCli(['--state', root, 'journal', 'verify', '--key', external, '--require-anchor']).code, 0);
});

test('tail --follow prints events as they are appended', { timeout: 60_000 }, async () => {
  const root = join(tempDir(), 'state');
  assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'a.first', '--payload', '{}']).code, 0);
  const follower = startCli(['--state', root, 'journal', 'tail', '-n', '1', '--follow', '--json']);
  const seen: string[] = [];
  let buffered = '';
  const waitFor = (kind: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never saw ${kind}; saw ${seen.join(',')}`)), 20_000);
      const check = () => {
        if (seen.includes(kind)) {
          clearTimeout(timer);
          resolve();
        }
      };
      follower.stdout?.on('data', check);
      check();
    });
  follower.stdout?.on('data', (c: Buffer) => {
    buffered += c.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) seen.push((JSON.parse(line) as { kind: string }).kind);
  });
  await waitFor('a.first');
  assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'a.second', '--payload', '{}']).code, 0);
  await waitFor('a.second');
  const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
  follower.kill('SIGINT');
  assert.equal(await exited, 0, 'Ctrl-C ends following as a success');
  assert.deepEqual(seen, ['a.first', 'a.second']);
});

test('a missing subcommand prints the help to stderr and is a usage error', () => {
  const r = runCli(['journal']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Usage: palyrad journal \[options\] \[command\]/);
  assert.match(r.stderr, /verify \[options\]/);
  const help = runCli(['journal', '--help']);
  assert.deepEqual([help.code, help.stderr], [0, '']);
  assert.match(help.stdout, /^Usage: palyrad journal/);
});

test('"palyrad help [command]" is an answer, not a usage error; an empty --state is refused', () => {
  for (const args of [['help'], ['help', 'journal']]) {
    const r = runCli(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^Usage: palyrad/);
  }
  const root = tempDir();
  const empty = runCli(['--state', '', 'journal', 'append', '--kind', 'a.b', '--payload', '{}'], { env: { XDG_STATE_HOME: root, PALYRA_STATE_DIR: '' } });
  assert.deepEqual([empty.code, empty.stderr], [2, 'palyrad: --state needs a directory, not an empty string\n']);
  assert.deepEqual(readdirSync(root), [], 'the default directory was not created');
});

test('offline writers take the journal limits from the config file, as the daemon does', () => {
  const root = join(tempDir(), 'state');
  mkdirSync(root);
  writeFileSync(join(root, 'config.toml'), '[journal]\nmaxPayloadBytes = 4096\nindexRetention = 2\n');
  const big = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', JSON.stringify({ a: 'x'.repeat(10_000) })]);
  assert.deepEqual([big.code, big.stderr], [2, 'palyrad: --payload is 10008 bytes, over the journal limit of 4096 bytes\n']);
  for (const n of [1, 2, 3]) assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', `{"n":${n}}`]).code, 0);
  const reindex = runCli(['--state', root, 'journal', 'reindex', '--json']);
  assert.equal(reindex.code, 0, reindex.stderr);
  const result = JSON.parse(reindex.stdout) as { events: number; oldestSeq: number; lastSeq: number };
  assert.deepEqual([result.events, result.oldestSeq], [2, result.lastSeq - 1], 'the index keeps indexRetention events, the newest');
  // The environment still overrides the file.
  const env = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', JSON.stringify({ a: 'x'.repeat(5000) })], { env: { PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: '8192' } });
  assert.equal(env.code, 0, env.stderr);
});

test('offline writers redact the secrets the daemon would: provider keys and credential headers of the config, the admin and worker tokens', () => {
  const root = join(tempDir(), 'state');
  mkdirSync(root);
  const providerKey = 'plainkey-0123456789-abcdef';
  const headerKey = 'hdrval-9f8e7d6c5b4a';
  writeFileSync(join(root, 'config.toml'), `[[providers]]\ntype = "openai"\nmodel = "m"\napiKey = "${providerKey}"\nheaders = { api-key = "${headerKey}" }\n`);
  const created = runCli(['--state', root, 'worker', 'token', 'create', 'gpu']);
  assert.equal(created.code, 0, created.stderr);
  const workerToken = created.stdout.trim().split(/\s+/).pop() as string;
  assert.match(workerToken, /^\S{16,}$/);
  // The admin token exists once a daemon has started; write one as it would.
  mkdirSync(join(root, 'auth'), { recursive: true, mode: 0o700 });
  const adminToken = 'admintoken-0f1e2d3c4b5a69788796a5b4';
  writeFileSync(join(root, 'auth', 'admin.token'), `${adminToken}\n`, { mode: 0o600 });
  const secrets = [providerKey, headerKey, workerToken, adminToken];
  const appended = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', JSON.stringify({ note: `quoted: ${secrets.join(' ')}` })]);
  assert.equal(appended.code, 0, appended.stderr);
  const exported = runCli(['--state', root, 'journal', 'export']);
  assert.equal(exported.code, 0, exported.stderr);
  for (const secret of secrets) assert.ok(!exported.stdout.includes(secret), `the journal holds ${secret}`);
  assert.match(exported.stdout, /REDACTED:known_secret/);
  for (const file of readdirSync(join(root, 'journal', 'segments'))) {
    const raw = readFileSync(join(root, 'journal', 'segments', file), 'latin1');
    for (const secret of secrets) assert.ok(!raw.includes(secret), `${file} holds ${secret}`);
  }
});

test('offline writers still work when the config file has errors outside [journal], with a warning', () => {
  const root = join(tempDir(), 'state');
  mkdirSync(root);
  writeFileSync(join(root, 'config.toml'), '[server]\nheadersTimeoutMs = 99999999\nrequestTimeoutMs = 1000\n');
  const appended = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{"n":1}']);
  assert.equal(appended.code, 0, appended.stderr);
  assert.equal(appended.stderr.match(/palyrad: warning: the configuration is not usable \(.*headersTimeoutMs must not exceed server.requestTimeoutMs\)/g)?.length, 1, appended.stderr);
  const asJson = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{"n":2}', '--json']);
  assert.equal(asJson.code, 0, asJson.stderr);
  const warning = JSON.parse(asJson.stderr) as { warning: { message: string } };
  assert.match(warning.warning.message, /^the configuration is not usable \(/, 'with --json a warning is a JSON line too');
  const reindex = runCli(['--state', root, 'journal', 'reindex']);
  assert.equal(reindex.code, 0, reindex.stderr);
  assert.equal(runCli(['--state', root, 'journal', 'verify']).code, 0);
});

test('a payload too large for one command-line argument is read from @FILE or from stdin (-); a missing file is a clear error', () => {
  const root = join(tempDir(), 'state');
  const file = join(tempDir(), 'payload.json');
  const text = JSON.stringify({ text: 'x'.repeat(300 * 1024) }); // over Linux's 128 KiB per argument
  writeFileSync(file, text);
  const fromFile = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', `@${file}`, '--json']);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const fromStdin = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '-', '--json'], { input: '{"from":"stdin"}' });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  const shown = runCli(['--state', root, 'journal', 'show', String(JSON.parse(fromStdin.stdout).seq), '--json']);
  assert.deepEqual(JSON.parse(shown.stdout).payload, { from: 'stdin' });
  assert.equal(JSON.parse(runCli(['--state', root, 'journal', 'show', String(JSON.parse(fromFile.stdout).seq), '--json']).stdout).payload.text.length, 300 * 1024);
  const missing = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '@/nonexistent/p.json']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^palyrad: Cannot read --payload from "\/nonexistent\/p\.json"/);
  const typo = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{}', '--sesion', 'x', '--json']);
  assert.equal(typo.code, 2);
  assert.doesNotMatch(JSON.parse(typo.stderr).error.message, /\n/, 'one sentence on one line');
});

test('journal key creates a missing state directory, and never makes a new key over checkpoints another key signed', () => {
  const root = join(tempDir(), 'state');
  const first = runCli(['--state', root, 'journal', 'key', '--json']);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{}']).code, 0); // signs a checkpoint on close
  const pub = readFileSync(join(root, 'keys', 'checkpoint.pub'), 'utf8');
  rmSync(join(root, 'keys', 'checkpoint.key'));
  const again = runCli(['--state', root, 'journal', 'key', '--json']);
  assert.equal(again.code, 2);
  assert.match(JSON.parse(again.stderr).error.message, /is missing, but the journal's checkpoints were signed with key [0-9a-f]{16}/);
  assert.equal(readFileSync(join(root, 'keys', 'checkpoint.pub'), 'utf8'), pub);
  assert.equal(existsSync(join(root, 'keys', 'checkpoint.key')), false);
});

test('help for a command that does not exist is a usage error; help for one that does is not', () => {
  const bogus = runCli(['help', 'bogus']);
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /palyrad: Unknown command 'bogus'\. See 'palyrad --help'\.\n$/);
  assert.equal(runCli(['help', 'journal']).code, 0);
  // Inside a group, `help` names the group's own subcommands.
  const verifyHelp = runCli(['journal', 'help', 'verify']);
  assert.deepEqual([verifyHelp.code, verifyHelp.stderr], [0, '']);
  assert.match(verifyHelp.stdout, /^Usage: palyrad journal verify/);
  assert.equal(runCli(['worker', 'token', 'help', 'create']).code, 0);
  const bogusInGroup = runCli(['journal', 'help', 'bogus']);
  assert.equal(bogusInGroup.code, 2);
  assert.match(bogusInGroup.stderr, /palyrad: Unknown command 'bogus'\. See 'palyrad journal --help'\.\n$/);
});

test('a bad journal limit in the environment is one error, not a warning that falls back on it and then its error', () => {
  const root = join(tempDir(), 'state');
  const r = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{}', '--json'], { env: { PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: 'abc' } });
  assert.equal(r.code, 2);
  assert.deepEqual(JSON.parse(r.stderr), { error: { code: 'PALYRA_INVALID_ARGUMENT', message: 'PALYRA_JOURNAL_MAX_PAYLOAD_BYTES must be a positive integer, not "abc"' } });
  assert.equal(existsSync(root), false);
});

test('a payload from stdin or a file past the cap is refused after reading at most one byte past it, and nothing is created', () => {
  const root = join(tempDir(), 'state');
  const env = { PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: '4096' };
  const fromStdin = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '-'], { env, input: JSON.stringify({ a: 'x'.repeat(10_000) }) });
  assert.equal(fromStdin.code, 2);
  assert.equal(fromStdin.stderr, 'palyrad: --payload stdin is over the journal limit of 4096 bytes\n');
  const file = join(tempDir(), 'big.json');
  writeFileSync(file, JSON.stringify({ a: 'x'.repeat(10_000) }));
  const fromFile = runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', `@${file}`], { env });
  assert.equal(fromFile.code, 2);
  assert.match(fromFile.stderr, /is over the journal limit of 4096 bytes\n$/);
  assert.equal(existsSync(root), false);
});

test('colour: off when piped, on with FORCE_COLOR, off with FORCE_COLOR=0 or false (as chalk reads it) and with NO_COLOR', () => {
  const root = join(tempDir(), 'state');
  assert.equal(runCli(['--state', root, 'journal', 'append', '--kind', 'note.added', '--payload', '{}']).code, 0);
  const tail = (env: NodeJS.ProcessEnv) => runCli(['--state', root, 'journal', 'tail', '-n', '1'], { env: { NO_COLOR: '', ...env } }).stdout;
  const ansi = /\u001b\[/;
  assert.doesNotMatch(tail({}), ansi, 'piped');
  assert.match(tail({ FORCE_COLOR: '1' }), ansi);
  assert.match(tail({ FORCE_COLOR: 'true' }), ansi);
  assert.doesNotMatch(tail({ FORCE_COLOR: '0' }), ansi);
  assert.doesNotMatch(tail({ FORCE_COLOR: 'false' }), ansi);
  assert.doesNotMatch(tail({ FORCE_COLOR: '1', NO_COLOR: '1' }), ansi, 'NO_COLOR wins');
});

test('on a terminal with FORCE_COLOR and NO_COLOR (even empty) or NODE_DISABLE_COLORS set, no Node warning on stderr', { skip: spawnSync('script', ['--version']).status !== 0 ? 'util-linux script is not installed' : false }, () => {
  // `script` gives the command a pseudo-terminal: Node warns only when output is a TTY.
  const command = [process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL('../cli/main.ts', import.meta.url)), '--version'].map((a) => `'${a}'`).join(' ');
  const { NO_COLOR: _n, NODE_DISABLE_COLORS: _d, FORCE_COLOR: _f, ...base } = process.env;
  for (const extra of [{ NO_COLOR: '1' }, { NO_COLOR: '' }, { NODE_DISABLE_COLORS: '1' }]) {
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...base, FORCE_COLOR: '1', ...extra } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.replace(/\r/g, ''), `${pkg.version}\n`, JSON.stringify(extra));
  }
});
