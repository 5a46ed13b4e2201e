import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canonicalJson, PalyraError, type JsonValue } from '../../base/index.ts';
import { createHttpFetchTool, type HttpFetchOptions } from './http-fetch-tool.ts';
import { startTestServer, testContext, type TestServer } from './test-server.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const local = (extra: HttpFetchOptions = {}): ReturnType<typeof createHttpFetchTool> =>
  createHttpFetchTool({ allow: ['127.0.0.1'], ...extra });

const fetchOk = async (input: JsonValue, options: HttpFetchOptions = {}, signal?: AbortSignal): Promise<Record<string, JsonValue>> =>
  (await local(options).run(input, testContext(signal))) as Record<string, JsonValue>;

async function failure(input: JsonValue, options: HttpFetchOptions = {}, signal?: AbortSignal): Promise<{ code: string; message: string }> {
  try {
    await local(options).run(input, testContext(signal));
  } catch (error) {
    assert.ok(error instanceof PalyraError, String(error));
    return { code: error.code, message: error.message };
  }
  assert.fail('expected the call to fail');
}

test('the tool declares its contract', () => {
  const tool = local();
  assert.deepEqual(
    [tool.name, tool.capabilities, tool.risk, tool.parallelSafe, tool.limits],
    ['http.fetch', ['network'], 'medium', true, { timeoutMs: 11_000, maxOutputBytes: 6 * 1_048_576 + 65_536, maxInputBytes: 1_048_576 + 131_072 }],
  );
});

test('a body of maxBytes that JSON escapes the most still fits the declared output limit', async () => {
  const tool = local({ maxBytes: 100_000 });
  const output = (await tool.run({ url: `${server.base}/escapes` }, testContext())) as Record<string, JsonValue>;
  assert.equal(output.bytes, 100_000);
  assert.equal(output.truncated, false);
  // The registry measures a result as canonical JSON against this limit.
  const size = Buffer.byteLength(canonicalJson(output));
  assert.ok(size > 300_000, `escaped body is ${size} bytes`);
  assert.ok(size <= tool.limits.maxOutputBytes, `${size} bytes over the declared ${tool.limits.maxOutputBytes}`);
});

test('GET returns status, safe headers only, and the text body', async () => {
  const output = await fetchOk({ url: `${server.base}/text` });
  assert.deepEqual(output, {
    status: 200,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': '5' },
    body: 'hello',
    bodyEncoding: 'text',
    bytes: 5,
    truncated: false,
    finalUrl: `${server.base}/text`,
    redirects: 0,
    strippedHeaders: [],
  });
});

test('POST sends the body; Host, Cookie, hop-by-hop and forwarding headers are stripped', async () => {
  const output = await fetchOk({
    url: `${server.base}/echo`,
    method: 'POST',
    body: '{"q":1}',
    headers: {
      'Content-Type': 'application/json',
      Host: 'evil.example',
      Cookie: 'a=b',
      'X-Forwarded-For': '127.0.0.1',
      Connection: 'close',
      'Transfer-Encoding': 'chunked',
      'Proxy-Authorization': 'Basic x',
      'Accept-Encoding': 'gzip',
      'X-Custom': 'kept',
    },
  });
  assert.deepEqual(output['strippedHeaders'], ['accept-encoding', 'connection', 'cookie', 'host', 'proxy-authorization', 'transfer-encoding', 'x-forwarded-for']);
  const echoed = JSON.parse(String(output['body'])) as { method: string; headers: Record<string, string>; body: string };
  assert.deepEqual(echoed, {
    method: 'POST',
    body: '{"q":1}',
    headers: {
      host: `127.0.0.1:${server.port}`,
      connection: 'keep-alive',
      'content-type': 'application/json',
      'x-custom': 'kept',
      'user-agent': 'palyrad-http-fetch',
      'accept-encoding': 'identity',
      'content-length': '7',
    },
  });
});

test('a body larger than maxBytes is cut at the cap and marked truncated', async () => {
  const output = await fetchOk({ url: `${server.base}/big`, maxBytes: 1000 });
  assert.deepEqual([output['body'], output['bytes'], output['truncated']], ['a'.repeat(1000), 1000, true]);
  const exact = await fetchOk({ url: `${server.base}/big`, maxBytes: 10_000 });
  assert.deepEqual([output['status'], exact['bytes'], exact['truncated']], [200, 10_000, false]);
});

test('an endless body stops at the cap, and a cut multi-byte character is dropped whole', async () => {
  const endless = await fetchOk({ url: `${server.base}/endless`, maxBytes: 5000 });
  assert.deepEqual([endless['bytes'], endless['truncated'], String(endless['body']).length], [5000, true, 5000]);
  const cut = await fetchOk({ url: `${server.base}/utf8`, maxBytes: 3 });
  assert.deepEqual([cut['body'], cut['truncated']], ['ab', true]);
});

test('a content type outside the accepted list is refused before its body is read', async () => {
  assert.deepEqual(await failure({ url: `${server.base}/pdf` }), {
    code: 'PALYRA_TOOL_FORBIDDEN',
    message: `Content type "application/pdf" of HTTP 200 from "${server.base}" is not allowed: accepted are text/*, application/json, application/xml, application/*+json`,
  });
  assert.equal((await failure({ url: `${server.base}/untyped` })).code, 'PALYRA_TOOL_FORBIDDEN');
  const json = await fetchOk({ url: `${server.base}/json` });
  assert.deepEqual([json['body'], json['bodyEncoding']], ['{"ok":true}', 'text']);
});

test('accepted binary types, and encoded bodies, come back as base64; charsets are honoured', async () => {
  const png = await fetchOk({ url: `${server.base}/png` }, { contentTypes: ['image/*'] });
  assert.deepEqual([png['body'], png['bodyEncoding']], ['iVBORw==', 'base64']);
  const gzip = await fetchOk({ url: `${server.base}/gzip` });
  assert.deepEqual([gzip['body'], gzip['bodyEncoding'], (gzip['headers'] as Record<string, string>)['content-encoding']], ['H4s=', 'base64', 'gzip']);
  const latin1 = await fetchOk({ url: `${server.base}/latin1` });
  assert.deepEqual([latin1['body'], latin1['bodyEncoding']], ['café', 'text']);
});

test('HEAD and 204 responses return no body; error statuses are results, not errors', async () => {
  const head = await fetchOk({ url: `${server.base}/pdf`, method: 'HEAD' });
  assert.deepEqual([head['status'], head['body'], head['bytes']], [200, '', 0]);
  const empty = await fetchOk({ url: `${server.base}/empty`, method: 'DELETE' });
  assert.deepEqual([empty['status'], empty['body']], [204, '']);
  const gone = await fetchOk({ url: `${server.base}/status?code=410` });
  assert.deepEqual([gone['status'], gone['body']], [410, '<h1>nope</h1>']);
});

test('a server that never responds times out with PALYRA_TOOL_TIMEOUT', async () => {
  const started = performance.now();
  assert.deepEqual(await failure({ url: `${server.base}/hang`, timeoutMs: 300 }), {
    code: 'PALYRA_TOOL_TIMEOUT',
    message: `Request to "${server.base}" timed out after 300 ms`,
  });
  assert.equal((await failure({ url: `${server.base}/slow-body`, timeoutMs: 300 })).code, 'PALYRA_TOOL_TIMEOUT');
  assert.ok(performance.now() - started < 3000);
});

test('cancelling the call through the context signal stops it with PALYRA_TOOL_CANCELLED', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  assert.deepEqual(await failure({ url: `${server.base}/hang` }, {}, controller.signal), {
    code: 'PALYRA_TOOL_CANCELLED',
    message: `Request to "${server.base}" was cancelled`,
  });
});

test('redirects: 303 turns POST into GET, 307 keeps method and body, cross-origin keeps only credential-free headers', async () => {
  const to = (status: number, target: string): string => `${server.base}/redirect?status=${status}&to=${encodeURIComponent(target)}`;
  const seeOther = await fetchOk({ url: to(303, '/echo'), method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
  const afterSeeOther = JSON.parse(String(seeOther['body'])) as { method: string; body: string; headers: Record<string, string> };
  assert.deepEqual([afterSeeOther.method, afterSeeOther.body, afterSeeOther.headers['content-type'], seeOther['redirects']], ['GET', '', undefined, 1]);

  const temporary = await fetchOk({ url: to(307, '/echo'), method: 'PUT', body: 'kept', headers: { authorization: 'Bearer t' } });
  const afterTemporary = JSON.parse(String(temporary['body'])) as { method: string; body: string; headers: Record<string, string> };
  assert.deepEqual([afterTemporary.method, afterTemporary.body, afterTemporary.headers['authorization']], ['PUT', 'kept', 'Bearer t']);

  // Another origin on the same host (another port): followed, with only credential-free headers.
  const second = await startTestServer();
  try {
    const other = `${second.base}/echo`;
    const credentials = { authorization: 'Bearer t', 'x-api-key': 'k', 'api-key': 'k', 'private-token': 't', 'x-auth-token': 't' };
    const cross = await fetchOk({ url: to(302, other), headers: { ...credentials, accept: 'application/json', 'accept-language': 'de' } });
    const { connection: _connection, ...sent } = (JSON.parse(String(cross['body'])) as { headers: Record<string, string> }).headers;
    assert.deepEqual(sent, { host: `127.0.0.1:${second.port}`, accept: 'application/json', 'accept-language': 'de', 'accept-encoding': 'identity', 'user-agent': 'palyrad-http-fetch' });
    assert.equal(cross['finalUrl'], other);
  } finally {
    await second.close();
  }
});

test('a redirect to another host is returned, not followed: policy decided the call for its own host only', async () => {
  const lookup = async (): Promise<{ address: string }[]> => [{ address: '127.0.0.1' }];
  const before = server.seen.length;
  const target = `http://OTHER.test:${server.port}/echo?secret=s3cr3t`;
  const output = await fetchOk({ url: `${server.base}/redirect?status=302&to=${encodeURIComponent(target)}` }, { lookup, allow: ['127.0.0.1', 'other.test'] });
  assert.deepEqual(
    [output['status'], output['body'], output['bytes'], output['redirects'], output['finalUrl'], output['redirectNotFollowed'], (output['headers'] as Record<string, string>)['location']],
    [302, '', 0, 0, `${server.base}/redirect?status=302&to=${encodeURIComponent(target)}`, `http://other.test:${server.port}/echo?secret=s3cr3t`, target],
  );
  // Only the first request was sent; the other host never heard of the secret.
  assert.deepEqual(server.seen.slice(before).map((r) => r.path), [`/redirect?status=302&to=${encodeURIComponent(target)}`]);
});

test('bad input is refused with PALYRA_TOOL_INPUT_INVALID before anything is sent', async () => {
  const before = server.seen.length;
  const cases: JsonValue[] = [
    'http://x',
    { url: 'not a url' },
    { url: `${server.base}/text`, method: 'TRACE' },
    { url: `${server.base}/text`, body: 'x' },
    { url: `${server.base}/text`, headers: { 'bad name': 'x' } },
    { url: `${server.base}/text`, headers: { 'x-a': 'line\r\nInjected: 1' } },
    { url: `${server.base}/text`, maxBytes: 0 },
    { url: `${server.base}/text`, maxBytes: 2 * 1024 * 1024 },
    { url: `${server.base}/text`, timeoutMs: 60_000 },
    { url: `${server.base}/text`, extra: true },
    { url: `${server.base}/echo`, method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) },
  ];
  for (const input of cases) assert.equal((await failure(input)).code, 'PALYRA_TOOL_INPUT_INVALID', JSON.stringify(input).slice(0, 100));
  assert.equal(server.seen.length, before);
});

test('a header value undici would refuse is refused as input before any name is resolved', async () => {
  const looked: string[] = [];
  const lookup = async (host: string): Promise<{ address: string }[]> => {
    looked.push(host);
    return [{ address: '127.0.0.1' }];
  };
  for (const value of ['snow\u2603', 'a\u0001b', 'a\u007f']) {
    const { code, message } = await failure({ url: `http://api.test:${server.port}/echo`, headers: { 'x-c': value } }, { lookup, allow: ['api.test'] });
    assert.deepEqual({ code, named: message.startsWith('Invalid value for header "x-c": ') }, { code: 'PALYRA_TOOL_INPUT_INVALID', named: true });
  }
  assert.deepEqual(looked, []);
});
