import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp-dir.ts';

const FILE_KEY = 'sk-live-FILEKEY0123456789abcdef';
const ENV_KEY = 'env-secret-0123456789abcdef';
const TOML = `[server]
port = 8100

[[providers]]
type = "openai"
id = "local"
baseUrl = "http://127.0.0.1:11434/v1"
model = "qwen2.5:7b"
apiKey = "${FILE_KEY}"
headers = { Authorization = "Bearer header-token-0123456789" }

[[providers]]
type = "anthropic"
apiKeyEnv = "ANTHROPIC_API_KEY"
model = "uses-${ENV_KEY}-inside"
`;

function stateWith(toml: string): string {
  const root = join(tempDir(), 'state');
  mkdirSync(root);
  writeFileSync(join(root, 'config.toml'), toml);
  return root;
}

const ENV = { ANTHROPIC_API_KEY: ENV_KEY, PALYRA_PORT: '', PALYRA_HOST: '' };

test('config show lists every value with its source and redacts every secret', () => {
  const root = stateWith(TOML);
  const r = runCli(['--state', root, 'config', 'show'], { env: { ...ENV, PALYRA_HOST: '127.0.0.9' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `# palyrad configuration (file: ${join(root, 'config.toml')})`);
  const line = (key: string) => lines.find((l) => l.startsWith(`${key} = `))?.replace(/\s+#/, ' #');
  assert.equal(line('server.port'), 'server.port = 8100 # file');
  assert.equal(line('server.host'), 'server.host = "127.0.0.9" # env PALYRA_HOST');
  assert.equal(line('server.logFormat'), 'server.logFormat = "text" # default');
  assert.equal(line('providers[0].apiKey'), 'providers[0].apiKey = "[REDACTED:key]" # file');
  assert.equal(line('providers[0].headers.Authorization'), 'providers[0].headers.Authorization = "[REDACTED:key]" # file');
  assert.equal(line('providers[1].apiKeyEnv'), 'providers[1].apiKeyEnv = "ANTHROPIC_API_KEY" # file');
  assert.equal(line('providers[1].model'), 'providers[1].model = "uses-[REDACTED:known_secret]-inside" # file');
  for (const secret of [FILE_KEY, ENV_KEY, 'header-token']) assert.ok(!r.stdout.includes(secret), secret);
});

test('config show --json prints {file, config, sources}, redacted', () => {
  const root = stateWith(TOML);
  const r = runCli(['--state', root, 'config', 'show', '--json'], { env: ENV });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['file', 'config', 'sources']);
  assert.equal(out.config.providers[0].apiKey, '[REDACTED:key]');
  assert.equal(out.sources['server.port'], 'file');
  assert.equal(out.sources['gateway.coalesceDebounceMs'], 'default');
  for (const secret of [FILE_KEY, ENV_KEY, 'header-token']) assert.ok(!r.stdout.includes(secret), secret);
});

test('config check exits 0 when valid and 2 naming file, key and problem when not', () => {
  const root = stateWith(TOML);
  const ok = runCli(['--state', root, 'config', 'check'], { env: ENV });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, `ok: configuration is valid (file: ${join(root, 'config.toml')}; PALYRA_* environment applied)\n`);

  const bad = join(root, 'bad.toml');
  writeFileSync(bad, `[[providers]]\ntype = "gemini"\napiKey = "${FILE_KEY}"\n`);
  const r = runCli(['--state', root, 'config', 'check', '--config', bad], { env: ENV });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `palyrad: ${bad}: providers[0].type must be one of openai, anthropic, scripted\n`);

  const json = runCli(['--state', root, 'config', 'show', '--json', '--config', join(root, 'missing.toml')], { env: ENV });
  assert.equal(json.code, 2);
  assert.deepEqual(JSON.parse(json.stderr), { error: { code: 'PALYRA_INVALID_ARGUMENT', message: `Config file "${join(root, 'missing.toml')}" does not exist` } });

  const env = runCli(['--state', root, 'config', 'check'], { env: { ...ENV, PALYRA_PORT: '70000' } });
  assert.equal(env.code, 2);
  assert.equal(env.stderr, 'palyrad: PALYRA_PORT (server.port) must be at most 65535\n');
});

test('a provider whose key variable is unset fails config check, and serve refuses it before creating or locking anything', () => {
  const dir = tempDir();
  const file = join(dir, 'anthropic.toml');
  writeFileSync(file, '[[providers]]\ntype = "anthropic"\napiKeyEnv = "PALYRA_TEST_UNSET_KEY"\n');
  const state = join(dir, 'state');
  const check = runCli(['--state', state, 'config', 'check', '--config', file]);
  assert.deepEqual([check.code, check.stderr], [2, 'palyrad: Provider "anthropic" needs its API key in the environment variable PALYRA_TEST_UNSET_KEY, which is not set\n']);
  const serve = runCli(['--state', state, 'serve', '--port', '0', '--config', file]);
  assert.equal(serve.code, 2);
  assert.equal(existsSync(state), false, 'no state directory was created');
});

test('config check reads the TLS files on loopback too, and serve refuses swapped ones before creating or locking anything', () => {
  const certs = new URL('../core/tools/http/testdata/', import.meta.url);
  const cert = new URL('secure-test.cert.pem', certs).pathname;
  const key = new URL('secure-test.key.pem', certs).pathname;
  const state = join(tempDir(), 'state');
  const swapped = { PALYRA_TLS_CERT: key, PALYRA_TLS_KEY: cert };
  const message = `palyrad: Cannot use server.tls.cert "${key}": not a PEM certificate (PEM routines::no start line)\n`;
  const check = runCli(['--state', state, 'config', 'check'], { env: swapped });
  assert.deepEqual([check.code, check.stderr], [2, message]);
  const serve = runCli(['--state', state, 'serve', '--port', '0'], { env: swapped });
  assert.deepEqual([serve.code, serve.stderr], [2, message]);
  assert.equal(existsSync(state), false, 'no state directory was created');
  const ok = runCli(['--state', state, 'config', 'check'], { env: { PALYRA_TLS_CERT: cert, PALYRA_TLS_KEY: key } });
  assert.equal(ok.code, 0, ok.stderr);
});

test('a workspace that cannot be created fails config check, and serve refuses it before creating or locking anything', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'afile'), 'x');
  const file = join(dir, 'ws.toml');
  writeFileSync(file, '[tools]\nworkspace = "afile/ws"\n');
  const state = join(dir, 'state');
  const message = `palyrad: Cannot use tools.workspace "${join(dir, 'afile', 'ws')}": "${join(dir, 'afile')}" is a file, not a folder\n`;
  const check = runCli(['--state', state, 'config', 'check', '--config', file]);
  assert.deepEqual([check.code, check.stderr], [2, message]);
  const serve = runCli(['--state', state, 'serve', '--port', '0', '--config', file]);
  assert.deepEqual([serve.code, serve.stderr], [2, message]);
  assert.equal(existsSync(state), false, 'no state directory was created');
});

test('config check and serve warn about PALYRA_* variables they do not read, one line each, and do not fail for them', () => {
  const root = join(tempDir(), 'state');
  const env = { PALYRA_PROT: '8080' };
  const check = runCli(['--state', root, 'config', 'check'], { env });
  assert.deepEqual([check.code, check.stderr], [0, 'palyrad: warning: PALYRA_PROT is not a palyrad variable and is ignored (did you mean PALYRA_PORT?)\n']);
  const json = runCli(['--state', root, 'config', 'check', '--json'], { env });
  assert.deepEqual(JSON.parse(json.stdout).warnings, ['PALYRA_PROT is not a palyrad variable and is ignored (did you mean PALYRA_PORT?)']);
  assert.equal(json.stderr, '', 'with --json the warnings are in the answer, not also on stderr as text');
  // serve warns before it starts (here it then stops at a missing certificate).
  const serve = runCli(['--state', root, 'serve', '--log-format', 'json'], { env: { ...env, PALYRA_TLS_CERT: join(root, 'missing.pem'), PALYRA_TLS_KEY: join(root, 'missing.pem') } });
  assert.equal(serve.code, 2);
  const lines = serve.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; warning?: string });
  assert.deepEqual(lines[0]?.warning, 'PALYRA_PROT is not a palyrad variable and is ignored (did you mean PALYRA_PORT?)');
  assert.equal(lines.length, 2, serve.stderr);
});
