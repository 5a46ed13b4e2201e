/**
 * SSRF escape attempts against `http.fetch`: every one must be refused with
 * PALYRA_TOOL_FORBIDDEN before a byte reaches a server it should not reach.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PalyraError, type JsonValue } from '../../base/index.ts';
import { createHttpFetchTool, type HttpFetchOptions } from './http-fetch-tool.ts';
import type { HostResolver } from './target-guard.ts';
import { startTestServer, testContext, type TestServer } from './test-server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

/** A resolver from a fixed table; records the names asked and never touches real DNS. */
function fakeDns(table: Record<string, string[]>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (name: string): Promise<{ address: string }[]> => {
    asked.push(name);
    const answer = table[name];
    if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return answer.map((address) => ({ address }));
  };
  return Object.assign(lookup, { asked });
}

async function refusal(input: JsonValue, options: HttpFetchOptions = {}): Promise<{ code: string; message: string }> {
  const tool = createHttpFetchTool({ lookup: fakeDns({}), ...options });
  try {
    const output = await tool.run(input, testContext());
    return { code: 'NONE', message: JSON.stringify(output) };
  } catch (error) {
    assert.ok(error instanceof PalyraError, `not a PalyraError: ${String(error)}`);
    return { code: error.code, message: error.message };
  }
}

async function assertForbidden(input: JsonValue, options: HttpFetchOptions = {}, message?: RegExp): Promise<void> {
  const hitsBefore = server.seen.length;
  const result = await refusal(input, options);
  assert.equal(result.code, 'PALYRA_TOOL_FORBIDDEN', `${JSON.stringify(input)}: ${result.message}`);
  if (message) assert.match(result.message, message);
  assert.equal(server.seen.length, hitsBefore, `${JSON.stringify(input)} reached the server`);
}

test('literal loopback, metadata and private addresses are refused in every spelling', async () => {
  const p = server.port;
  const urls = [
    `http://127.0.0.1:${p}/text`,
    `http://[::1]:${p}/text`,
    `http://0x7f000001:${p}/text`,
    `http://2130706433:${p}/text`,
    `http://[::ffff:127.0.0.1]:${p}/text`,
    `http://0177.0.0.1:${p}/text`,
    `http://127.1:${p}/text`,
    `http://[0:0:0:0:0:0:0:1]:${p}/text`,
    `http://[::ffff:7f00:1]:${p}/text`,
    `http://0:${p}/text`,
    `http://127.0.0.2:${p}/text`,
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://0xa9fea9fe/',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[2002:7f00:1::]/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
  ];
  for (const url of urls) await assertForbidden({ url });
});

test('names that are metadata services or loopback by definition are refused without DNS', async () => {
  const dns = fakeDns({ 'metadata.google.internal': ['8.8.8.8'], localhost: ['8.8.8.8'] });
  for (const url of ['http://metadata.google.internal/computeMetadata/v1/', 'http://METADATA.google.internal./', 'http://localhost/', 'http://app.localhost/']) {
    await assertForbidden({ url }, { lookup: dns });
  }
  assert.deepEqual(dns.asked, []);
});

test('a host name resolving to loopback, or to a public and a private address, is refused', async () => {
  const lookup = fakeDns({
    'loop.test': ['127.0.0.1'],
    'mapped.test': ['::ffff:127.0.0.1'],
    'pair.test': ['93.184.216.34', '10.0.0.1'],
    'pair-reversed.test': ['127.0.0.1', '93.184.216.34'],
    'odd.test': ['0x7f000001'],
  });
  await assertForbidden({ url: `http://loop.test:${server.port}/text` }, { lookup }, /Host "loop\.test" resolves to 127\.0\.0\.1, which is loopback/);
  for (const name of ['mapped.test', 'pair.test', 'pair-reversed.test', 'odd.test']) {
    await assertForbidden({ url: `http://${name}:${server.port}/text` }, { lookup });
  }
});

test('schemes other than http and https, and user info in URLs, are refused', async () => {
  for (const url of ['file:///etc/passwd', 'ftp://example.com/file', 'gopher://example.com/', 'data:text/plain,hi', 'ws://example.com/']) {
    await assertForbidden({ url }, {}, /URL scheme "[a-z]+" is not allowed/);
  }
  await assertForbidden({ url: `http://user:pass@127.0.0.1:${server.port}/text` }, { allow: ['127.0.0.1'] }, /user info/);
  await assertForbidden({ url: `http://user@127.0.0.1:${server.port}/text` }, { allow: ['127.0.0.1'] }, /user info/);
});

test('a redirect from an allowed server to a private or loopback target on another host is not followed', async () => {
  const targets = [
    `http://127.0.0.2:${server.port}/text`,
    'http://10.0.0.1/',
    `http://[::1]:${server.port}/text`,
    'http://169.254.169.254/latest/meta-data/',
    'http://0x7f000002/',
    'file:///etc/passwd',
    `http://loop.test:${server.port}/text`,
  ];
  for (const to of targets) {
    const before = server.seen.length;
    const tool = createHttpFetchTool({ allow: ['127.0.0.1'], lookup: fakeDns({ 'loop.test': ['127.0.0.2'] }) });
    const output = (await tool.run({ url: `${server.base}/redirect?status=302&to=${encodeURIComponent(to)}` }, testContext())) as Record<string, JsonValue>;
    assert.deepEqual([output['status'], output['redirectNotFollowed']], [302, new URL(to).href], to);
    // The first hop was allowed and reached the server; the redirect target was not followed.
    assert.deepEqual(server.seen.slice(before).map((r) => r.path), [`/redirect?status=302&to=${encodeURIComponent(to)}`]);
  }
});

test('a redirect on the same host passes the guard like the first URL', async () => {
  const before = server.seen.length;
  const to = `http://user@127.0.0.1:${server.port}/text`;
  const result = await refusal({ url: `${server.base}/redirect?status=302&to=${encodeURIComponent(to)}` }, { allow: ['127.0.0.1'] });
  assert.equal(result.code, 'PALYRA_TOOL_FORBIDDEN');
  assert.match(result.message, /^Redirect to ".*" refused: .*user info/);
  assert.deepEqual(server.seen.slice(before).map((r) => r.path), [`/redirect?status=302&to=${encodeURIComponent(to)}`]);
});

test('more than five redirects are refused; five are followed', async () => {
  const options = { allow: ['127.0.0.1'] };
  await assertForbiddenAfterHops({ url: `${server.base}/chain?n=6` }, options, 6);
  const tool = createHttpFetchTool(options);
  const output = (await tool.run({ url: `${server.base}/chain?n=5` }, testContext())) as Record<string, JsonValue>;
  assert.deepEqual([output['status'], output['body'], output['redirects'], output['finalUrl']], [200, 'end of chain', 5, `${server.base}/chain?n=0`]);
});

async function assertForbiddenAfterHops(input: JsonValue, options: HttpFetchOptions, hops: number): Promise<void> {
  const before = server.seen.length;
  const result = await refusal(input, options);
  assert.deepEqual(result, { code: 'PALYRA_TOOL_FORBIDDEN', message: `Too many redirects: more than 5, last to "${server.base}/chain?n=0"` });
  assert.equal(server.seen.length - before, hops);
}

test('DNS rebinding: the connection uses the address that was checked, resolved once', async () => {
  let calls = 0;
  const rebinding: HostResolver = async () => (calls++ === 0 ? [{ address: '127.0.0.1' }] : [{ address: '10.0.0.1' }]);
  const tool = createHttpFetchTool({ allow: ['127.0.0.1'], lookup: rebinding });
  const output = (await tool.run({ url: `http://rebind.test:${server.port}/echo` }, testContext())) as Record<string, JsonValue>;
  assert.equal(output['status'], 200);
  assert.equal(calls, 1);
  assert.equal(server.seen.at(-1)?.headers['host'], `rebind.test:${server.port}`);
});

test('an allow entry for a CIDR or a name never opens cloud metadata', async () => {
  await assertForbidden({ url: 'http://169.254.169.254/' }, { allow: ['169.254.0.0/16'] }, /metadata/);
  await assertForbidden({ url: 'http://[::ffff:169.254.169.254]/' }, { allow: ['169.254.0.0/16', '::ffff:0:0/96'] }, /metadata/);
  await assertForbidden({ url: 'http://imds.test/' }, { allow: ['imds.test'], lookup: fakeDns({ 'imds.test': ['169.254.169.254'] }) }, /metadata/);
  await assertForbidden({ url: 'http://metadata.google.internal/' }, { allow: ['metadata.google.internal'] }, /metadata/);
});
