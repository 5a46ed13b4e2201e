// Secrets written next to their names in text and argument lists: commands, headers,
// config lines, name/value pairs, and the shapes of provider keys and private keys.
// Fake secrets are assembled at runtime so secret scanners do not flag this file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../base/index.ts';
import { secretsFromEnvironment } from './known-secrets.ts';
import { Redactor, redactionMarker } from './redact.ts';

const P = ['Hunt3r', 'Tw0', 'Xyzzy'].join('');
const R = {
  key: redactionMarker('key'),
  assign: redactionMarker('assignment'),
  shape: redactionMarker('api_key_shape'),
  pem: redactionMarker('private_key'),
  url: redactionMarker('url_credentials'),
  known: redactionMarker('known_secret'),
};

/** Redacts `input` and checks that `P` is gone and the result is `expected`, with `count` redactions. */
function expectRedacted(input: JsonValue, expected: JsonValue, count = 1, redactor = new Redactor()): void {
  const result = redactor.redact(input);
  assert.ok(!JSON.stringify(result.value).includes(P), `secret survived: ${JSON.stringify(result.value)}`);
  assert.deepStrictEqual(result, { value: expected, count }, JSON.stringify(input));
}

function expectKept(input: JsonValue): void {
  assert.deepStrictEqual(new Redactor().redact(input), { value: input, count: 0 }, JSON.stringify(input));
}

test('passwords and tokens given on a command line, as one string', () => {
  const cases: [string, string][] = [
    [`mysql -u root --password ${P} -e 'select 1'`, `mysql -u root --password ${R.assign} -e 'select 1'`],
    [`gh api --token ${P} /user`, `gh api --token ${R.assign} /user`],
    [`mysql -uroot -p${P} db`, `mysql -uroot -p${R.assign} db`],
    [`docker login -u bob -p ${P} registry.example`, `docker login -u bob -p ${R.assign} registry.example`],
    [`sshpass -p ${P} ssh host`, `sshpass -p ${R.assign} ssh host`],
    [`curl -u admin:${P} https://x.example`, `curl -u admin:${R.assign} https://x.example`],
    [`curl --user admin:${P}`, `curl --user admin:${R.assign}`],
    [`machine h.example login bob password ${P}`, `machine h.example login bob password ${R.assign}`],
    [`FROM node\nENV DB_PASSWORD ${P}\nRUN x`, `FROM node\nENV DB_PASSWORD ${R.assign}\nRUN x`],
    [`ALTER USER app WITH PASSWORD '${P}';`, `ALTER USER app WITH PASSWORD '${R.assign}';`],
    [`CREATE USER x IDENTIFIED BY '${P}'`, `CREATE USER x IDENTIFIED BY '${R.assign}'`],
  ];
  for (const [input, expected] of cases) expectRedacted(input, expected);
  // A short `-p` is a port or a path outside these commands; a lone `--password` prompts.
  for (const kept of ['ssh -p 22 host', 'docker run -p 8080:80 img', 'mkdir -p a/b', 'mysql --password --host db', 'sort -u file.txt']) expectKept(kept);
});

test('passwords and tokens given on a command line, as an argument list', () => {
  expectRedacted(['docker', 'login', '-u', 'bob', '-p', P], ['docker', 'login', '-u', 'bob', '-p', R.key]);
  expectRedacted(['/usr/bin/sshpass', '-p', P, 'ssh', 'h'], ['/usr/bin/sshpass', '-p', R.key, 'ssh', 'h']);
  expectRedacted(['curl', '-u', `admin:${P}`, 'https://x'], ['curl', '-u', `admin:${R.assign}`, 'https://x']);
  expectRedacted(['curl', `-uadmin:${P}`], ['curl', `-uadmin:${R.assign}`]);
  expectRedacted(['mysql', `-p${P}`, 'db'], ['mysql', `-p${R.assign}`, 'db']);
  expectRedacted(['app', '--password', `-${P}`], ['app', '--password', R.key]);
  expectRedacted(['app', '--pin', 123456789], ['app', '--pin', R.key]);
  expectRedacted(['mysql', `--password ${P}`], ['mysql', `--password ${R.assign}`]);
  for (const kept of [['ssh', '-p', '2222', 'host'], ['docker', 'run', '-p', '8080:80', 'img'], ['mysql', '--password', '--host', 'db'], ['sort', '-u', 'names.txt']]) {
    expectKept(kept);
  }
});

test('header lines: the whole credential is hidden, whatever its scheme', () => {
  const cases: [string, string][] = [
    [`Authorization: SSWS ${P}`, `Authorization: SSWS ${R.assign}`],
    [`Authorization: Bot ${P}`, `Authorization: Bot ${R.assign}`],
    [`Authorization: Custom ${P} extra`, `Authorization: ${R.assign}`],
    [`Proxy-Authorization: Digest username="bob", response="${P}"`, `Proxy-Authorization: Digest ${R.assign}`],
    [`Cookie: theme=dark; connect.sid=${P}`, `Cookie: ${R.assign}`],
    [`curl -H 'Cookie: a=1; sid=${P}' https://x.example`, `curl -H 'Cookie: ${R.assign}' https://x.example`],
  ];
  for (const [input, expected] of cases) expectRedacted(input, expected);
});

test('assigned values: brackets, ampersands, markers, YAML blocks, string prefixes and spaces', () => {
  const cases: [string, string][] = [
    [`DB_PASSWORD=[${P}] next`, `DB_PASSWORD=${R.assign} next`],
    [`password={${P}`, `password=${R.assign}`],
    [`data: {"credentials": {"user": "a", "pw": "${P}"}} done`, `data: {"credentials": ${R.assign}} done`],
    [`DB_PASSWORD=abc&${P} next`, `DB_PASSWORD=${R.assign} next`],
    [`GET /v1?token=${P}&q=1`, `GET /v1?token=${R.assign}&q=1`],
    [`password=[REDACTED:key]${P}`, `password=${R.assign}`],
    [`password="[REDACTED:key] ${P}"`, `password="${R.assign}"`],
    [`password: |\n  ${P}\n  more\nnext: 1`, `password: |\n${R.assign}\nnext: 1`],
    [`db:\n  password:\n    ${P}\n  host: h`, `db:\n  password:\n${R.assign}\n  host: h`],
    [`{'password': b'${P}'}`, `{'password': b'${R.assign}'}`],
    [`passphrase: correct horse ${P} staple`, `passphrase: ${R.assign}`],
    [`Response: {"body":"{\\"inner\\":\\"{\\\\\\"password\\\\\\":\\\\\\"${P}\\\\\\"}\\"}"}`, `Response: {"body":"{\\"inner\\":\\"{\\\\\\"password\\\\\\":\\\\\\"${R.assign}\\\\\\"}\\"}"}`],
    [`{"config": {"secrets": ["${P}", "x`, `{"config": {"secrets": ${R.assign}`],
  ];
  for (const [input, expected] of cases) expectRedacted(input, expected);
  // A marker standing alone is left alone: redacting twice counts nothing.
  for (const kept of [`password=${R.assign}`, `password: "${R.key}"`, `Authorization: Basic ${R.assign}`, `token: ${R.assign}`]) expectKept(kept);
});

test('new key names, name/value pairs and [name, value] tuples', () => {
  expectRedacted({ db: { user: 'u', pass: P } }, { db: { user: 'u', pass: R.key } });
  expectRedacted(`DB_PASS=${P} SMTP_PASS=${P}`, `DB_PASS=${R.assign} SMTP_PASS=${R.assign}`, 2);
  expectRedacted(`AccountName=a;AccountKey=${P};EndpointSuffix=x`, `AccountName=a;AccountKey=${R.assign}`);
  expectRedacted(`https://a.blob.core.windows.net/c?sv=1&sig=${P}&se=2`, `https://a.blob.core.windows.net/c?sv=1&sig=${R.assign}&se=2`);
  expectRedacted({ headers: [{ name: 'Authorization', value: `Basic ${P}` }, { name: 'Accept', value: '*/*' }] },
    { headers: [{ name: 'Authorization', value: R.key }, { name: 'Accept', value: '*/*' }] });
  expectRedacted({ env: [{ name: 'DB_PASSWORD', value: P }, { name: 'PORT', value: '80' }] },
    { env: [{ name: 'DB_PASSWORD', value: R.key }, { name: 'PORT', value: '80' }] });
  expectRedacted({ headers: [['x-api-key', P], ['accept', 'json']] }, { headers: [['x-api-key', R.key], ['accept', 'json']] });
  expectKept({ usage: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8, token_limit: 100 } });
  expectKept({ name: 'user', value: 'bob', pair: ['region', 'eu'] });
});

test('the schema of a secret parameter is kept, its example values are not', () => {
  const tool = { name: 'login', parameters: { type: 'object', properties: {
    password: { type: 'string', description: 'The password', default: P }, api_key: { type: 'string' }, user: { type: 'string' } } } };
  expectRedacted(tool, { name: 'login', parameters: { type: 'object', properties: {
    password: { type: 'string', description: 'The password', default: R.key }, api_key: { type: 'string' }, user: { type: 'string' } } } });
  // Not a schema: the value under a secret name is hidden as anywhere else.
  expectRedacted({ properties: { password: P } }, { properties: { password: R.key } });
});

test('provider keys, webhook URLs and private keys in their other forms', () => {
  const key = (prefix: string, n: number): string => prefix + (P + 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ').slice(0, n);
  for (const token of [key('sk_live_', 24), key('rk_test_', 24), key('AIza', 35), key('glpat-', 20), key('npm_', 36), key('hf_', 34),
    key('gsk_', 52), key('xai-', 60), key('pplx-', 48), key('r8_', 37), `SG.${key('', 22)}.${key('', 43)}`, key('xapp-1-', 30)]) {
    expectRedacted(`export KEY=${token}`, `export KEY=${R.shape}`);
    expectRedacted({ config: token }, { config: R.shape });
  }
  expectRedacted(`https://hooks.slack.com/services/T000/B000/${P}xyz`, `https://hooks.slack.com/services/${R.url}`);
  expectRedacted(`https://discord.com/api/webhooks/123/${P}abcdefgh`, `https://discord.com/api/webhooks/${R.url}`);
  for (const kept of ['sk_live_short', 'AIzaShort', 'npm_install_hint', 'the shpa_ file']) expectKept(kept);

  expectRedacted(`-----begin rsa private key-----\n${P}\n-----end rsa private key-----\nafter`, `${R.pem}\nafter`);
  expectRedacted(`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\n${P}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----`, R.pem);
  expectRedacted(['-----BEGIN OPENSSH PRIVATE KEY-----', P, 'b3BlbnNzaA', '-----END OPENSSH PRIVATE KEY-----', 'after'],
    [R.pem, R.key, R.key, R.key, 'after'], 4);
  const pem64 = Buffer.from(`-----BEGIN PRIVATE KEY-----\n${P}\n-----END PRIVATE KEY-----\n`).toString('base64');
  expectRedacted(`tls.key: ${pem64}`, `tls.key: ${R.pem}`);
  expectKept(`tls.crt: ${Buffer.from('-----BEGIN CERTIFICATE-----\nMIIBszCCAVmg\n-----END CERTIFICATE-----\n').toString('base64')}`);
  expectRedacted(`PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 2\nAAAAgQ${P}\nAAAAQQ\nPrivate-MAC: 0a1b`,
    `PuTTY-User-Key-File-2: ssh-rsa\n${R.pem}\nPrivate-MAC: 0a1b`);
});

test('a known secret is found in base64 (any alignment) and with lowercase percent-escapes', () => {
  const secret = `${P}/+ x`;
  const redactor = (): Redactor => new Redactor({ knownSecrets: [secret] });
  for (const prefix of ['', 'u', 'us', 'user:']) {
    const encoded = Buffer.from(prefix + secret).toString('base64');
    const result = redactor().redact({ header: `Basic ${encoded}`, url: Buffer.from(prefix + secret).toString('base64url') });
    assert.ok(!JSON.stringify(result.value).includes(Buffer.from(secret).toString('base64').slice(4, 16)), JSON.stringify(result.value));
    assert.equal(result.count, 2);
  }
  const lower = encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  expectRedacted(`q=${lower}`, `q=${R.known}`, 1, redactor());
  expectRedacted(`q=${encodeURIComponent(secret).replace(/%20/g, '+')}`, `q=${R.known}`, 1, redactor());
});

test('inputs built to make the text rules scan again and again give the right answer', () => {
  // Each of these took seconds per megabyte when every value searched the rest of the
  // text for its newline or closing quote (the figures are in scripts/bench-redact.ts).
  // An escaped quote does not close a value: each value runs into the next assignment.
  const escaped = 'password="\\" '.repeat(20_000);
  const result = new Redactor().redact(escaped);
  assert.equal(result.count, 10_000);
  const quoted = new Redactor().redact(`password="a" `.repeat(20_000));
  assert.equal(quoted.count, 20_000);
  // JSON nested past the depth limit is not parsed at all: the text rules apply.
  const deep = `${'['.repeat(5000)}"token=${P}"${']'.repeat(5000)}`;
  expectRedacted(deep, `${'['.repeat(5000)}"token=${R.assign}"${']'.repeat(5000)}`);
});

test('true, false and null are data even under a secret name; the ssh agent socket is no secret', () => {
  expectKept({ auth: false, password: null, token: true });
  assert.deepEqual(secretsFromEnvironment({ SSH_AUTH_SOCK: '/tmp/ssh-XXXX/agent.1234', DB_PASS: 'db-pass-value-1' }), ['db-pass-value-1']);
});

test('escaped text is also read decoded: \\u escapes, \\/ and percent-escapes hide no secret', () => {
  expectRedacted(`log: {"\\u0070assword": "${P}"}`, `log: {"password": "${R.assign}"}`);
  expectRedacted(`body=user%3Dbob%26password%3D${P}`, `body=user=bob&password=${R.assign}`);
  expectRedacted(`see https:\\/\\/bob:${P}@host.example/x`, `see https://bob:${R.url}@host.example/x`);
  // Escapes with nothing behind them stay as they were written.
  for (const kept of ['https://example.com/a%20b?x=1', 'path\\/to\\/file', 'caf\\u00e9 50%25 off']) expectKept(kept);
});

test('the event\'s own ids, stored in the clear beside the payload, are kept under a secret-sounding key', () => {
  const redactor = new Redactor();
  const payload = { sessionId: 'ses_01J8', runId: 'run_01J9', other: { sessionId: 'ses_someone_else' } };
  assert.deepStrictEqual(redactor.redact(payload, { publicValues: ['ses_01J8', 'run_01J9'] }), {
    value: { sessionId: 'ses_01J8', runId: 'run_01J9', other: { sessionId: R.key } },
    count: 1,
  });
});
