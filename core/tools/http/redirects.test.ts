import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { nextHop, type HopRequest, type HttpMethod } from './redirects.ts';

const request = (method: HttpMethod, body?: string): HopRequest => ({
  url: new URL('https://a.test/start?x=1'),
  method,
  headers: { authorization: 'Bearer t', 'x-api-key': 'k', 'content-type': 'text/plain', accept: 'text/html' },
  body,
});

const summary = (hop: HopRequest | null): unknown => hop && { url: hop.url.href, method: hop.method, body: hop.body ?? null, headers: Object.keys(hop.headers) };

test('method and body per status: 303 to GET, 301/302 POST to GET, 307/308 kept', () => {
  const rows: [HttpMethod, number, HttpMethod, string | null][] = [
    ['POST', 303, 'GET', null],
    ['PUT', 303, 'GET', null],
    ['HEAD', 303, 'HEAD', null],
    ['POST', 301, 'GET', null],
    ['POST', 302, 'GET', null],
    ['PUT', 302, 'PUT', 'b'],
    ['DELETE', 301, 'DELETE', 'b'],
    ['POST', 307, 'POST', 'b'],
    ['PATCH', 308, 'PATCH', 'b'],
  ];
  const actual = rows.map(([method, status]) => {
    const next = nextHop(request(method, method === 'HEAD' ? undefined : 'b'), status, '/next');
    return [method, status, next?.method, next?.body ?? null];
  });
  assert.deepEqual(actual, rows);
});

test('Location is resolved against the current URL; Content-* goes with the body; credentials stay in their origin', () => {
  assert.deepEqual(summary(nextHop(request('POST', 'b'), 303, '../other#frag')), {
    url: 'https://a.test/other#frag', method: 'GET', body: null, headers: ['authorization', 'x-api-key', 'accept'],
  });
  assert.deepEqual(summary(nextHop(request('GET'), 302, 'http://a.test/plain')), {
    url: 'http://a.test/plain', method: 'GET', body: null, headers: ['content-type', 'accept'],
  });
  assert.deepEqual(summary(nextHop(request('PUT', 'b'), 307, 'https://b.test/')), {
    url: 'https://b.test/', method: 'PUT', body: 'b', headers: ['content-type', 'accept'],
  });
});

test('non-redirect statuses and a missing Location are final; a bad Location fails', () => {
  assert.deepEqual([300, 304, 305, 200, 404].map((s) => nextHop(request('GET'), s, '/x')), [null, null, null, null, null]);
  assert.equal(nextHop(request('GET'), 302, undefined), null);
  assert.throws(() => nextHop(request('GET'), 302, 'http://[::1'), (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_TOOL_FAILED');
});
