import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../base/index.ts';
import { Redactor, isSensitiveKey, redactionMarker, type RedactionResult } from './redact.ts';
import { secretsFromEnvironment } from './known-secrets.ts';

// Every secret a test feeds in is recorded here; `run` checks none survives serialisation,
// i.e. none of them could reach the bytes on disk, and keeps each input for a last test
// that redacts them all at once. Fake tokens are assembled at runtime so secret scanners
// do not flag this file.
const secrets = new Set<string>();
const inputs: JsonValue[] = [];
function secret(value: string): string {
  secrets.add(value);
  return value;
}
function chars(n: number, seed = 0): string {
  const alphabet = 'aB3dE5gH7jK9mN2pQ4sT6vW8yZ0cF1';
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[(i * 7 + seed) % alphabet.length];
  return out;
}
function run(redactor: Redactor, value: JsonValue): RedactionResult {
  inputs.push(value);
  const result = redactor.redact(value);
  const bytes = JSON.stringify(result.value);
  for (const s of secrets) assert.ok(!bytes.includes(s), `secret survived: ${bytes}`);
  return result;
}
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const R = {
  key: redactionMarker('key'),
  known: redactionMarker('known_secret'),
  bearer: redactionMarker('bearer'),
  sk: redactionMarker('api_key_shape'),
  aws: redactionMarker('aws_key'),
  gh: redactionMarker('github_token'),
  slack: redactionMarker('slack_token'),
  jwt: redactionMarker('jwt'),
  pem: redactionMarker('private_key'),
  url: redactionMarker('url_credentials'),
  assign: redactionMarker('assignment'),
};
const SK = secret(['sk', 'ant', 'api03', chars(24, 1)].join('-'));
const AWS = secret(['AK', 'IA', 'IOSFODNN7EXAMPLE'].join(''));
const GHP = secret(['gh', 'p_', chars(36, 2)].join(''));
const GH_PAT = secret(['github', 'pat', chars(30, 3)].join('_'));
const SLACK = secret(['xo', 'xb-', '1234567890-', chars(12, 4)].join(''));
const JWT = secret(['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', chars(43, 5)].join('.'));
const PEM_BODY = secret(chars(64, 6));
const PEM = ['-----BEGIN RSA PRIVATE', 'KEY-----\n'].join(' ') + PEM_BODY + '\n-----END RSA PRIVATE KEY-----';
const ADMIN = secret('palyra_admin_' + chars(20, 7));
const PROVIDER = secret(['sk', 'proj', chars(28, 8)].join('-'));

test('markers are the kind in brackets', () => {
  assert.equal(redactionMarker('key'), '[REDACTED:key]');
  assert.equal(redactionMarker('bearer'), '[REDACTED:bearer]');
});

test('sensitive keys are matched on whole words', () => {
  const redacted = ['api_key', 'apiKey', 'API_KEY', 'APIKey', 'x-api-key', 'OPENAI_API_KEY',
    'access_token', 'refresh_token', 'accessToken', 'password', 'Authorization', 'pass', 'DB_PASS', 'auth',
    'cookie', 'Set-Cookie', 'private_key', 'client_secret', 'secret', 'pin', 'pinCode',
    'sessionID', 'clientsecret', 'passwords', 'api_keys', 'private_keys', 'auth_tokens',
    'access_tokens', 'refreshTokens', 'PGPASSWORD', 'db_passwd', 'passWord', 'client_secrets', 'MYSQLPWD',
    'AccountKey', 'ssh_key', 'masterKey', 'Ocp-Apim-Subscription-Key', 'X-Auth-Key', 'passcode', 'otp', 'sig'];
  const kept = ['prompt_tokens', 'completion_tokens', 'total_tokens', 'max_tokens', 'tokenizer',
    'key', 'session_key', 'idempotencyKey', 'pinpoint_id', 'keyboard', 'author', 'secretary',
    '[REDACTED:api_key_shape]', 'tokens', 'keys', 'passport', 'token_count', 'promptTokenCount',
    'candidatesTokenCount', 'token_limit', 'author', 'bypass', 'compass', 'signal'];
  assert.deepEqual(redacted.filter((k) => !isSensitiveKey(k)), []);
  assert.deepEqual(kept.filter((k) => isSensitiveKey(k)), []);
});

test('a value under a sensitive key is replaced whole, whatever its type; true, false and null stay', () => {
  const input = { a: { password: 'hunter22', apiKey: 1234, token_count: 12, secret: { x: [1] } },
    credentials: [{ user: 'u', pass: 'p' }], max_tokens: 100, prompt_tokens: 7, tokenizer: 'bpe',
    auth: false, token: null, pin: true };
  assert.deepStrictEqual(run(new Redactor(), input), {
    value: { a: { password: R.key, apiKey: R.key, token_count: 12, secret: R.key },
      credentials: R.key, max_tokens: 100, prompt_tokens: 7, tokenizer: 'bpe', auth: false, token: null, pin: true },
    count: 4,
  });
});

test('arrays of objects under a non-sensitive key are walked element by element', () => {
  const input: JsonValue = { items: [{ name: 'a', access_token: 'x1' }, { name: 'b' }, [{ 'Set-Cookie': 'c=1' }]] };
  assert.deepStrictEqual(run(new Redactor(), input), {
    value: { items: [{ name: 'a', access_token: R.key }, { name: 'b' }, [{ 'Set-Cookie': R.key }]] },
    count: 2,
  });
});

test('only the matching span of a longer string is replaced', () => {
  const token = secret('abc.def123456');
  assert.deepStrictEqual(run(new Redactor(), `curl -H 'Authorization: Bearer ${token}'`), {
    value: `curl -H 'Authorization: Bearer ${R.bearer}'`,
    count: 1,
  });
});

test('each value shape is redacted, and its near miss is not', () => {
  const basic = secret('dXNlcjpwYXNzd29yZA==');
  const cases: [string, string][] = [
    [`bearer ${secret('tok_12345678')} ok`, `bearer ${R.bearer} ok`],
    [`key ${SK}.`, `key ${R.sk}.`],
    [`id=${AWS};`, `id=${R.aws};`],
    [`${GHP}, ${GH_PAT.slice(0, 4)}`, `${R.gh}, ${GH_PAT.slice(0, 4)}`],
    [`(${GH_PAT})`, `(${R.gh})`],
    [`slack ${SLACK}`, `slack ${R.slack}`],
    [`jwt: ${JWT}`, `jwt: ${R.jwt}`],
    [`key:\n${PEM}\ndone`, `key:\n${R.pem}\ndone`],
    [`truncated ${PEM.slice(0, 60)}`, `truncated ${R.pem}`],
    [`postgres://app:${secret('hunter2pass')}@db:5432/x`, `postgres://app:${R.url}@db:5432/x`],
    [`postgres://app:${secret('hun@ter2:p@ss')}@db:5432/x?to=a@b`, `postgres://app:${R.url}@db:5432/x?to=a@b`],
    [`GET /v1?api_key=${secret('q1w2e3r4')}&q=1`, `GET /v1?api_key=${R.assign}&q=1`],
    [`PASSWORD=${secret('pa55word')} npm start`, `PASSWORD=${R.assign} npm start`],
    [`X-Api-Key: ${secret('k3y-value')}`, `X-Api-Key: ${R.assign}`],
    [`{'password': '${secret('p@ss w0rd')}'}`, `{'password': '${R.assign}'}`],
    [`Authorization: Basic ${basic}`, `Authorization: Basic ${R.assign}`],
    // A structured value after a secret's name is hidden whole (it may hold the secret).
    [`the token: {"a": "${secret('in-braces-1')}"} ok`, `the token: ${R.assign} ok`],
  ];
  const misses = [
    'Bearer short', 'task-1234567890abcdefghij', 'desk-lamp-1234567890abcdef', 'sk-tooShort123',
    'AKIA1234567890ABCDE', 'akiaiosfodnn7example', ['gh', 'p_', chars(35)].join(''),
    'xoxz-1234567890abc', 'eyJhbGciOi.notajwt.x', '-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----',
    'https://user@example.com/a', 'mailto:ops@example.com', 'https://example.com/a@b:c',
    'max_tokens=100', 'key=value', 'session_key: abc', 'Password: ',
  ];
  const redactor = new Redactor();
  for (const [input, expected] of cases) {
    assert.deepStrictEqual(run(redactor, input), { value: expected, count: 1 }, input);
  }
  for (const input of misses) assert.deepStrictEqual(redactor.redact(input), { value: input, count: 0 });
});

test('every span counts once', () => {
  const input = `A=${SK} B=${AWS} Bearer ${GHP} token=${secret('t0ken-xyz')}`;
  assert.deepStrictEqual(run(new Redactor(), input), {
    value: `A=${R.sk} B=${R.aws} Bearer ${R.bearer} token=${R.assign}`,
    count: 4,
  });
});

test('JSON inside strings is parsed, redacted and re-serialised', () => {
  const inner = JSON.stringify({ api_key: secret('zz-inner-key'), q: 'x' });
  const nested = JSON.stringify({ args: JSON.stringify({ header: `Bearer ${secret('deep.token.123')}` }) });
  const input = { arguments: inner, wrapped: nested, plain: '  {"a": 1,  "b": [2]}  ' };
  assert.deepStrictEqual(run(new Redactor(), input), {
    value: {
      arguments: JSON.stringify({ api_key: R.key, q: 'x' }),
      wrapped: JSON.stringify({ args: JSON.stringify({ header: `Bearer ${R.bearer}` }) }),
      plain: '  {"a": 1,  "b": [2]}  ',
    },
    count: 2,
  });
});

test('JSON in a string with a repeated key: values JSON.parse drops are redacted all the same', () => {
  const shaped = `{"note":"${SK}","note":"x"}`;
  const assigned = `{"password":"${secret('hunter2hunter2')}","password":"fine"}`;
  for (const text of [shaped, assigned]) assert.ok(run(new Redactor(), { out: text }).count >= 1, `redacted ${text}`);
  // A secret only this redactor knows (kept out of the shared list the last test uses).
  const known = 'Kn0wn-S3cret-Value';
  const result = new Redactor({ knownSecrets: [known] }).redact({ out: `{"a":"${known}","a":1}` });
  assert.equal(result.count, 1);
  assert.ok(!JSON.stringify(result.value).includes(known));
});

test('text that only looks like JSON gets the plain-string rules', () => {
  const input = `{not json, token=${secret('abcdef99')}}`;
  assert.deepStrictEqual(run(new Redactor(), input), { value: `{not json, token=${R.assign}`, count: 1 });
});

test('embedded JSON is parsed down to four levels, and the text rules see deeper', () => {
  const nest = (levels: number): string => {
    let text = JSON.stringify({ credentials: { user: 'alice' } });
    for (let i = 1; i < levels; i++) text = JSON.stringify({ wrap: text });
    return text;
  };
  const four = run(new Redactor(), nest(4));
  assert.equal(four.count, 1);
  assert.equal(JSON.parse(JSON.parse(JSON.parse(JSON.parse(four.value as string).wrap).wrap).wrap).credentials, R.key);
  // The fifth level stays text, where the escaped `\"credentials\":` is still seen.
  const five = new Redactor().redact(nest(5));
  assert.equal(five.count, 1);
  assert.ok(!JSON.stringify(five.value).includes('alice'));
});

test('known secrets are replaced anywhere, before shapes', () => {
  const redactor = new Redactor({ knownSecrets: [PROVIDER] });
  redactor.addSecret(ADMIN);
  const input = {
    note: `used ${PROVIDER} then Bearer ${ADMIN}`,
    deep: [{ text: `x${ADMIN}y` }],
    embedded: JSON.stringify({ log: [`key ${PROVIDER}`] }),
    [`by_${ADMIN}`]: 1,
    url: `https://h/?k=${encodeURIComponent(ADMIN + '/+')}`,
  };
  redactor.addSecret(secret(ADMIN + '/+'));
  assert.deepStrictEqual(run(redactor, input), {
    value: {
      note: `used ${R.known} then Bearer ${R.known}`,
      deep: [{ text: `x${R.known}y` }],
      embedded: JSON.stringify({ log: [`key ${R.known}`] }),
      [`by_${R.known}`]: 1,
      url: `https://h/?k=${R.known}`,
    },
    count: 6,
  });
});

test('addSecret refuses values shorter than 8 characters without echoing them', () => {
  const redactor = new Redactor();
  assert.throws(() => redactor.addSecret('s3cr3t!'), {
    name: 'TypeError',
    message: 'Cannot register secret: shorter than 8 characters',
  });
  assert.throws(() => new Redactor({ knownSecrets: ['short'] }), TypeError);
  redactor.addSecret('exactly8');
  assert.deepStrictEqual(redactor.redact('is exactly8!'), { value: `is ${R.known}!`, count: 1 });
});

test('the input is never mutated and clean values keep their reference', () => {
  const input = deepFreeze({ clean: { a: [1, 'two', null], usage: { prompt_tokens: 3 } },
    dirty: { password: 'x', list: ['ok', `Bearer ${secret('frozen-token-1')}`] } });
  const before = structuredClone(input);
  const result = run(new Redactor(), input);
  assert.deepStrictEqual(input, before);
  assert.equal(result.count, 2);
  const value = result.value as typeof input;
  assert.equal(value.clean, input.clean);
  assert.deepStrictEqual(value.dirty, { password: R.key, list: ['ok', `Bearer ${R.bearer}`] });

  const clean = deepFreeze({ type: 'run.start', n: 1, tags: ['a'], text: 'nothing to see' });
  const same = new Redactor({ knownSecrets: [ADMIN] }).redact(clean);
  assert.equal(same.value, clean);
  assert.equal(same.count, 0);
});

test('a lookalike marker with count 0 is data, and redacting twice counts nothing', () => {
  const lookalike = { note: R.key, token: R.key };
  assert.deepStrictEqual(new Redactor().redact(lookalike), { value: lookalike, count: 0 });
  const redactor = new Redactor({ knownSecrets: [ADMIN] });
  const once = run(redactor, { [SK]: `token=${ADMIN}`, a: `Bearer ${GHP} ${PEM}`, pin: 1234 });
  assert.equal(once.count, 5);
  assert.deepStrictEqual(redactor.redact(once.value), { value: once.value, count: 0 });
});

test('keys redacted to the same marker do not overwrite each other', () => {
  const other = secret(['sk', chars(20, 9)].join('-'));
  assert.deepStrictEqual(run(new Redactor(), { [SK]: 1, [other]: 2 }), {
    value: { [R.sk]: 1, [`${R.sk}#2`]: 2 },
    count: 2,
  });
});

test('a __proto__ key stays an own property and never changes the prototype', () => {
  const input = JSON.parse(`{"__proto__": {"password": "x"}, "b": "Bearer ${secret('proto-token-1')}"}`);
  const value = run(new Redactor(), input).value as Record<string, JsonValue>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepStrictEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, { password: R.key });
  assert.equal(value.b, `Bearer ${R.bearer}`);
});

test('payloads nested deeper than 256 levels are refused', () => {
  const nest = (levels: number): JsonValue => {
    let value: JsonValue = 'leaf';
    for (let i = 0; i < levels; i++) value = [value];
    return value;
  };
  assert.equal(new Redactor().redact(nest(256)).count, 0);
  assert.throws(() => new Redactor().redact(nest(257)), {
    name: 'TypeError',
    message: 'Cannot redact payload: nesting deeper than 256 levels',
  });
  // Too deep inside an embedded JSON string: not an error, the text rules apply instead.
  const deep = '['.repeat(300) + `"password=${secret('in-deep-json')}"` + ']'.repeat(300);
  assert.deepStrictEqual(run(new Redactor(), { deep }), {
    value: { deep: '['.repeat(300) + `"password=${R.assign}"` + ']'.repeat(300) },
    count: 1,
  });
});

test('every input of these tests is redacted in one payload, also as embedded JSON', () => {
  const redactor = new Redactor({ knownSecrets: [ADMIN, PROVIDER, ADMIN + '/+'] });
  const all = [...inputs];
  const result = run(redactor, { all, embedded: JSON.stringify(all) });
  assert.ok(result.count > 0);
});

test('secrets from the environment: sensitive names only, never the working directories', () => {
  const env = { OPENAI_API_KEY: 'sk-env-value-123456', DB_PWD: 'db-pwd-value-1234', PWD: '/home/someone/project', OLDPWD: '/home/someone', HOME: '/home/someone', SHORT_TOKEN: 'abc' };
  assert.deepEqual(secretsFromEnvironment(env).sort(), ['db-pwd-value-1234', 'sk-env-value-123456']);
});

test('assignments inside escaped JSON text are redacted, and an escaped quote does not end a value', () => {
  const pw = secret('hunter2hunter2');
  const escapedPair = `Response: {"body":"{\\"password\\":\\"${pw}\\"}"}`;
  const a = run(new Redactor(), { out: escapedPair });
  assert.equal(a.count, 1);
  const tail = secret('tailsecret99');
  const withQuote = `password="abc\\"${tail}" next`;
  const b = run(new Redactor(), { log: withQuote });
  assert.equal(b.count, 1);
  assert.match(JSON.stringify(b.value), /next/);
});

test('a secret split from its flag in an argv, a token as a URL user, and an sk- key after an underscore', () => {
  const pw = secret('hunter2hunter2');
  const argv = run(new Redactor(), { argv: ['mysql', '--password', pw, '--user', 'alice', '-t'] });
  assert.deepEqual(argv, { value: { argv: ['mysql', '--password', R.key, '--user', 'alice', '-t'] }, count: 1 });
  assert.deepEqual(run(new Redactor(), ['--verbose', 'file.txt']), { value: ['--verbose', 'file.txt'], count: 0 });
  const userToken = secret(chars(40, 9));
  const url = run(new Redactor(), `git clone https://${userToken}@github.com/o/r.git`);
  assert.deepEqual(url, { value: `git clone https://${R.url}@github.com/o/r.git`, count: 1 });
  assert.deepEqual(run(new Redactor(), 'mail alice@example.com or https://alice@example.com'), { value: 'mail alice@example.com or https://alice@example.com', count: 0 });
  const sk = secret(['sk', chars(24, 10)].join('-'));
  assert.deepEqual(run(new Redactor(), `key_${sk}`), { value: `key_${R.sk}`, count: 1 });
});

test('a quote inside a password inside escaped JSON does not end the redacted value', () => {
  const tail = secret('TAILSECRET99');
  const text = `Response: ${JSON.stringify({ body: JSON.stringify({ password: `hunter2"${tail}` }) })}`;
  const result = run(new Redactor(), { out: text });
  assert.equal(result.count, 1);
});

test('hideKnownSecrets replaces registered secrets in every form, in values and keys, and nothing else', () => {
  const secret = 'sk-live-0123456789abcdefXYZ';
  const redactor = new Redactor({ knownSecrets: [secret] });
  const environ = `PATH=/usr/bin\0OPENAI_API_KEY=${secret}\0HOME=/root`;
  const value: JsonValue = {
    stdout: environ,
    nested: [{ note: `url ?key=${encodeURIComponent(secret)}` }, `b64 ${Buffer.from(secret).toString('base64')}`],
    [secret]: 1,
    // Name and shape rules are the journal's; in tool output they stay.
    api_key: 'not-registered-value',
    line: 'password=hunter2 AKIAIOSFODNN7EXAMPLE',
  };
  const hidden = redactor.hideKnownSecrets(value);
  const marker = redactionMarker('known_secret');
  assert.deepEqual(hidden, {
    count: 4,
    value: {
      stdout: `PATH=/usr/bin\0OPENAI_API_KEY=${marker}\0HOME=/root`,
      nested: [{ note: `url ?key=${marker}` }, `b64 ${marker}`],
      [marker]: 1,
      api_key: 'not-registered-value',
      line: 'password=hunter2 AKIAIOSFODNN7EXAMPLE',
    },
  });
  assert.ok(!JSON.stringify(hidden.value).includes(secret));
  const clean: JsonValue = { a: ['b', { c: 'd' }], e: 'nothing secret here' };
  assert.equal(redactor.hideKnownSecrets(clean).value, clean);
  assert.deepEqual(new Redactor().hideKnownSecrets(value), { value, count: 0 });
});
