import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { DEFAULT_BUDGETS } from '../agent/index.ts';
import { loadConfig } from './config.ts';
import { defaultConfig } from './config-defaults.ts';
import { flattenConfig, redactConfig } from './config-listing.ts';
import { SETTINGS } from './config-settings.ts';

function stateWith(toml?: string): string {
  const dir = join(tempDir(), 'state');
  mkdirSync(dir);
  if (toml !== undefined) writeFileSync(join(dir, 'config.toml'), toml);
  return dir;
}

function fileError(toml: string): string {
  const dir = stateWith(toml);
  try {
    loadConfig({ stateDir: dir, env: {} });
  } catch (error) {
    assert.equal((error as { code?: string }).code, 'PALYRA_INVALID_ARGUMENT');
    return (error as Error).message.replace(join(dir, 'config.toml'), 'config.toml');
  }
  assert.fail('expected an error');
}

test('without a file the config is the defaults, every value from "default"', () => {
  const dir = stateWith();
  const loaded = loadConfig({ stateDir: dir, env: {} });
  assert.equal(loaded.file, null);
  assert.deepEqual(loaded.config, defaultConfig(dir));
  assert.equal(loaded.config.server.host, '127.0.0.1');
  assert.equal(loaded.config.server.port, 7142);
  assert.deepEqual(loaded.config.budgets, DEFAULT_BUDGETS);
  assert.deepEqual(loaded.config.providers.map((p) => [p.id, p.type]), [['scripted', 'scripted']]);
  assert.ok(Object.values(loaded.sources).every((s) => s === 'default'));
});

test('precedence is default < file < env < flag, and sources say which won', () => {
  const dir = stateWith('[server]\nport = 8000\nhost = "127.0.0.2"\nlogFormat = "json"\n[journal]\nindexRetention = 10\n');
  const env = { PALYRA_PORT: '8001', PALYRA_HOST: '127.0.0.3', PALYRA_JOURNAL_INDEX_RETENTION: '20' };
  const loaded = loadConfig({ stateDir: dir, env, flags: { 'server.port': '8002' } });
  assert.deepEqual(
    { host: loaded.config.server.host, port: loaded.config.server.port, logFormat: loaded.config.server.logFormat, retention: loaded.config.journal.indexRetention },
    { host: '127.0.0.3', port: 8002, logFormat: 'json', retention: 20 },
  );
  assert.deepEqual(
    ['server.port', 'server.host', 'server.logFormat', 'journal.indexRetention', 'journal.maxPayloadBytes'].map((k) => loaded.sources[k]),
    ['flag', 'env', 'file', 'env', 'default'],
  );
  assert.equal(loaded.file, join(dir, 'config.toml'));
});

test('providers from the file replace the default list, in order, with type defaults filled', () => {
  const dir = stateWith('[[providers]]\ntype = "openai"\nid = "local"\nbaseUrl = "http://127.0.0.1:11434/v1"\ntimeouts = { idleMs = 5 }\n[[providers]]\ntype = "anthropic"\napiKeyEnv = "ANTHROPIC_API_KEY"\n');
  const { config, sources } = loadConfig({ stateDir: dir, env: {} });
  assert.deepEqual(config.providers, [
    {
      id: 'local', type: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', apiKeyEnv: null, apiKey: null, model: null,
      timeouts: { connectMs: 10_000, firstByteMs: 60_000, idleMs: 5 }, maxConcurrency: 4, retries: 2, headers: {}, stream: true,
    },
    {
      id: 'anthropic', type: 'anthropic', baseUrl: 'https://api.anthropic.com', apiKeyEnv: 'ANTHROPIC_API_KEY', apiKey: null, model: null,
      timeouts: { connectMs: 10_000, firstByteMs: 60_000, idleMs: 60_000 }, maxConcurrency: 4, retries: 2, version: '2023-06-01', headers: {}, stream: true,
    },
  ]);
  assert.deepEqual([sources['providers[0].timeouts.idleMs'], sources['providers[0].timeouts.connectMs'], sources['providers[1].id']], ['file', 'default', 'default']);
});

test('list settings come from comma-separated variables; paths resolve against the file or cwd', () => {
  const dir = stateWith('[server.tls]\ncert = "tls/cert.pem"\nkey = "/etc/palyra/key.pem"\n');
  const { config } = loadConfig({ stateDir: dir, env: { PALYRA_PROCESS_ALLOW: 'git, ls,,', PALYRA_WORKSPACE: 'ws' }, cwd: '/srv' });
  assert.deepEqual(config.tools.process.allowedExecutables, ['git', 'ls']);
  assert.equal(config.tools.workspace, '/srv/ws');
  assert.deepEqual(config.server.tls, { cert: join(dir, 'tls', 'cert.pem'), key: '/etc/palyra/key.pem' });
});

test('validation errors name the file, the key path and the problem', () => {
  assert.equal(fileError('[[providers]]\ntype = "gemini"\n'), 'config.toml: providers[0].type must be one of openai, anthropic, scripted');
  assert.equal(fileError('[server]\nprot = 1\n'), 'config.toml: server.prot is not a known key');
  assert.equal(fileError('[server]\nport = "80"\n'), 'config.toml: server.port must be an integer');
  assert.equal(fileError('[server]\nport = 70000\n'), 'config.toml: server.port must be at most 65535');
  assert.equal(fileError('[server]\nlogFormat = "xml"\n'), 'config.toml: server.logFormat must be one of text, json');
  assert.equal(fileError('surprise = true\n'), 'config.toml: surprise is not a known key');
  assert.equal(fileError('[[providers]]\ntype = "scripted"\nbaseUrl = "http://x"\n'), 'config.toml: providers[0].baseUrl is not a known key');
  assert.equal(fileError('[[providers]]\ntype = "openai"\nbaseUrl = "ftp://x"\n'), 'config.toml: providers[0].baseUrl must be an http:// or https:// URL');
  assert.equal(fileError('[[providers]]\ntype = "anthropic"\n'), 'config.toml: providers[0] (anthropic) needs apiKeyEnv, the name of the variable holding the key');
  assert.equal(fileError('[[providers]]\ntype = "scripted"\n[[providers]]\ntype = "scripted"\n'), 'config.toml: providers[1].id repeats the id of providers[0]; ids must be unique');
  assert.equal(fileError('[server.tls]\ncert = "c.pem"\n'), 'config.toml: server.tls needs both cert and key, or neither');
  assert.equal(fileError('[server]\nrequestTimeoutMs = 1000\n'), 'config.toml: server.headersTimeoutMs must not exceed server.requestTimeoutMs');
  assert.equal(loadConfig({ stateDir: stateWith('[server]\nrequestTimeoutMs = 1000\nheadersTimeoutMs = 1000\n'), env: {} }).config.server.headersTimeoutMs, 1000, 'equal is fine');
  assert.equal(fileError('[budgets]\nwallClockMs = 3000000000\n'), 'config.toml: budgets.wallClockMs must be at most 2147483647 (about 24.8 days, the longest timer Node.js can set)');
  assert.equal(fileError('[gateway]\ncoalesceDebounceMs = 2147483648\n'), 'config.toml: gateway.coalesceDebounceMs must be at most 2147483647 (about 24.8 days, the longest timer Node.js can set)');
  assert.equal(fileError('[[providers]]\ntype = "scripted"\ntimeouts = { idleMs = 9007199254740991 }\n'), 'config.toml: providers[0].timeouts.idleMs must be at most 2147483647 (about 24.8 days, the longest timer Node.js can set)');
  assert.equal(fileError('[budgets]\nmaxTurns = 0\n'), 'config.toml: budgets.maxTurns must be at least 1');
  assert.equal(fileError('version = 2\n'), 'config.toml: version must be 1');
});

test('a TOML syntax error names the line and column, never the line text', () => {
  const message = fileError('[server]\nport = 1\napiKey = "sk-live-0123456789abcdef\n');
  assert.match(message, /^config\.toml:3:\d+: invalid TOML: /);
  assert.doesNotMatch(message, /sk-live/);
});

test('secrets never appear in validation errors', () => {
  const message = fileError('[[providers]]\ntype = "openai"\napiKey = "sk-live-0123456789abcdef"\napiKeyEnv = "OPENAI_API_KEY"\n');
  assert.equal(message, 'config.toml: providers[0] sets both apiKey and apiKeyEnv; keep one (apiKeyEnv is preferred)');
  const typed = fileError('[[providers]]\ntype = "openai"\napiKey = 12345678901\n');
  assert.equal(typed, 'config.toml: providers[0].apiKey must be a string');
});

test('environment values are checked by variable name', () => {
  const dir = stateWith();
  assert.throws(() => loadConfig({ stateDir: dir, env: { PALYRA_PORT: '99999' } }), { code: 'PALYRA_INVALID_ARGUMENT', message: 'PALYRA_PORT (server.port) must be at most 65535' });
  assert.throws(() => loadConfig({ stateDir: dir, env: { PALYRA_PORT: 'x' } }), { message: 'PALYRA_PORT must be a non-negative integer, not "x"' });
  assert.throws(() => loadConfig({ stateDir: dir, env: { PALYRA_JOURNAL_WRITER_THREAD: 'maybe' } }), { message: 'PALYRA_JOURNAL_WRITER_THREAD must be on or off, not "maybe"' });
  assert.throws(() => loadConfig({ stateDir: dir, env: { PALYRA_JOURNAL_INDEX_RETENTION: '0' } }), {
    message: 'PALYRA_JOURNAL_INDEX_RETENTION (journal.indexRetention) must be at least 1',
  });
  assert.equal(loadConfig({ stateDir: dir, env: { PALYRA_PORT: '' } }).config.server.port, 7142);
  assert.throws(() => loadConfig({ stateDir: dir, env: {}, flags: { 'providers': '[]' } }), { message: 'Setting "providers" cannot be given as a flag' });
});

test('a missing --config file is an error; a missing state-dir file is not', () => {
  const dir = stateWith();
  assert.throws(() => loadConfig({ stateDir: dir, configPath: join(dir, 'nope.toml'), env: {} }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: `Config file "${join(dir, 'nope.toml')}" does not exist`,
  });
  writeFileSync(join(dir, 'other.toml'), '[gateway]\nmaxConcurrentRuns = 2\n');
  assert.equal(loadConfig({ stateDir: dir, configPath: join(dir, 'other.toml'), env: {} }).config.gateway.maxConcurrentRuns, 2);
});

test('redactConfig removes keys, sensitive headers and known secrets but keeps apiKeyEnv names', () => {
  const dir = stateWith(
    '[[providers]]\ntype = "openai"\nid = "a"\napiKey = "sk-live-0123456789abcdef"\nheaders = { Authorization = "Bearer abcdefghijklmnop", X-Org = "acme" }\n' +
      '[[providers]]\ntype = "anthropic"\nid = "b"\napiKeyEnv = "ANTHROPIC_API_KEY"\nmodel = "model-with-zzzz-secret-zzzz"\n',
  );
  const env = { ANTHROPIC_API_KEY: 'zzzz-secret-zzzz' };
  const { config } = loadConfig({ stateDir: dir, env });
  const redacted = redactConfig(config, env);
  const [a, b] = redacted.providers;
  assert.ok(a?.type === 'openai' && b?.type === 'anthropic');
  assert.deepEqual([a.apiKey, a.headers, a.apiKeyEnv], ['[REDACTED:key]', { Authorization: '[REDACTED:key]', 'X-Org': 'acme' }, null]);
  assert.deepEqual([b.apiKey, b.apiKeyEnv, b.model], [null, 'ANTHROPIC_API_KEY', 'model-with-[REDACTED:known_secret]']);
  // The input is untouched.
  assert.equal(config.providers[0]?.type === 'openai' && config.providers[0].apiKey, 'sk-live-0123456789abcdef');
});

test('redactConfig redacts every credential header, and its value wherever else it occurs', () => {
  const dir = stateWith('[[providers]]\ntype = "openai"\nid = "azure"\nmodel = "m-3f9a1c0b7d2e"\nheaders = { Ocp-Apim-Subscription-Key = "3f9a1c0b7d2e", api-key = "k1", X-Org = "acme" }\n');
  const provider = redactConfig(loadConfig({ stateDir: dir, env: {} }).config, {}).providers[0];
  assert.ok(provider?.type === 'openai');
  assert.deepEqual([provider.headers, provider.model], [{ 'Ocp-Apim-Subscription-Key': '[REDACTED:key]', 'api-key': '[REDACTED:key]', 'X-Org': 'acme' }, 'm-[REDACTED:known_secret]']);
});

test('an apiKey or header value with a control character is refused, naming the key and never the value', () => {
  const problem = 'contains a control character (a trailing newline?); HTTP headers cannot carry it';
  assert.deepEqual(
    [
      fileError('[[providers]]\ntype = "openai"\napiKey = "sk-live-0123456789\\n"\n'),
      fileError('[[providers]]\ntype = "openai"\nheaders = { api-key = "k\\r\\nX-Injected: 1" }\n'),
    ],
    [`config.toml: providers[0].apiKey ${problem}`, `config.toml: providers[0].headers.api-key ${problem}`],
  );
});

test('redactConfig removes credential-named headers and query parameters, and a URL password', () => {
  const dir = stateWith(
    '[[providers]]\ntype = "openai"\nid = "azure"\nbaseUrl = "https://user:hunter2hunter2@x.example/v1?api-version=2024-06-01&key=plainvalue1&api_key=plainvalue2&x-goog-api-key=plainvalue3"\n' +
      'headers = { Ocp-Apim-Subscription-Key = "plainvalue4", X-Org = "acme" }\n',
  );
  const { config } = loadConfig({ stateDir: dir, env: {} });
  const [a] = redactConfig(config, {}).providers;
  assert.ok(a?.type === 'openai');
  assert.deepEqual([a.baseUrl, a.headers], [
    'https://user:[REDACTED:key]@x.example/v1?api-version=2024-06-01&key=[REDACTED:key]&api_key=[REDACTED:key]&x-goog-api-key=[REDACTED:key]',
    { 'Ocp-Apim-Subscription-Key': '[REDACTED:key]', 'X-Org': 'acme' },
  ]);
});

test('redactConfig redacts a URL password holding @ up to the last @, and a lone user name', () => {
  const dir = stateWith(
    '[[providers]]\ntype = "openai"\nid = "a"\nbaseUrl = "https://user:p@ss:w@rd@x.example/v1"\n' +
      '[[providers]]\ntype = "openai"\nid = "b"\nbaseUrl = "http://tok3nvalue@x.example/v1"\n' +
      '[[providers]]\ntype = "openai"\nid = "c"\nbaseUrl = "http://x.example/v1?q=a@b"\n',
  );
  const { config } = loadConfig({ stateDir: dir, env: {} });
  const urls = redactConfig(config, {}).providers.map((p) => (p.type === 'openai' ? p.baseUrl : null));
  assert.deepEqual(urls, ['https://user:[REDACTED:key]@x.example/v1', 'http://[REDACTED:key]@x.example/v1', 'http://x.example/v1?q=a@b']);
});

test('a secret-shaped key name is redacted from the message', () => {
  assert.equal(fileError('"sk-live-0123456789abcdefghij" = 1\n'), 'config.toml: [REDACTED:api_key_shape] is not a known key');
});

test('docs/config.md names every key and every environment variable', () => {
  const docs = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
  const leaves = flattenConfig(defaultConfig('/state')).map(([path]) => path.replace(/^providers\[0\]\./, ''));
  for (const path of leaves) {
    const key = path.split('.').slice(-2).join('.');
    const last = path.split('.').pop() as string;
    assert.ok(docs.includes(`\`${key}\``) || docs.includes(`\`${last}\``), `docs/config.md does not document ${path}`);
  }
  for (const setting of SETTINGS) assert.ok(docs.includes(`\`${setting.env}\``), `docs/config.md does not name ${setting.env}`);
});
