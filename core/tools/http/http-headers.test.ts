import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { dropBodyHeaders, headersForNewOrigin, sanitizeRequestHeaders, selectResponseHeaders } from './http-headers.ts';

test('sanitizeRequestHeaders lowercases, keeps the harmless and reports what it dropped', () => {
  assert.deepEqual(
    sanitizeRequestHeaders({
      Accept: 'application/json',
      Authorization: 'Bearer t',
      HOST: 'x',
      Cookie: 'a=b',
      'Proxy-Foo': '1',
      'X-Real-IP': '1.2.3.4',
      'Metadata-Flavor': 'Google',
      'X-HTTP-Method-Override': 'DELETE',
      TE: 'trailers',
    }),
    {
      headers: { accept: 'application/json', authorization: 'Bearer t' },
      stripped: ['cookie', 'host', 'metadata-flavor', 'proxy-foo', 'te', 'x-http-method-override', 'x-real-ip'],
    },
  );
});

test('sanitizeRequestHeaders refuses header injection and invalid names', () => {
  const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`x-${i}`, 'v']));
  for (const headers of [{ 'a b': 'x' }, { 'x:y': 'x' }, { a: 'x\ny' }, { a: 'x\r' }, { a: 'x\0' }, { a: 'x'.repeat(8193) }, tooMany]) {
    assert.throws(() => sanitizeRequestHeaders(headers), (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_TOOL_INPUT_INVALID');
  }
});

test('sanitizeRequestHeaders refuses values outside the HTTP field-value characters, naming the header', () => {
  const cases: [string, string][] = [
    ['snow\u2603', 'U+2603 at index 4'],
    ['a\u0001b', 'U+0001 at index 1'],
    ['a\u007f', 'U+007F at index 1'],
    ['\u{1f600}', 'U+1F600 at index 0'],
  ];
  for (const [value, where] of cases) {
    assert.throws(() => sanitizeRequestHeaders({ accept: 'x', 'X-Bad': value }), {
      code: 'PALYRA_TOOL_INPUT_INVALID',
      message: `Invalid value for header "X-Bad": ${where} is not allowed; a string of at most 8192 characters, each a tab, a space, visible ASCII or U+0080-U+00FF`,
    });
  }
  // Tab, space and Latin-1 (obs-text) are field-value characters.
  assert.deepEqual(sanitizeRequestHeaders({ 'x-a': 'caf\u00e9', 'x-b': 'a\tb c' }).headers, { 'x-a': 'caf\u00e9', 'x-b': 'a\tb c' });
});

test('redirect helpers keep only credential-free headers across origins, and drop Content-* with the body', () => {
  const headers = { authorization: 'a', 'content-type': 'b', 'content-language': 'c', accept: 'd' };
  assert.deepEqual(headersForNewOrigin(headers), { 'content-type': 'b', 'content-language': 'c', accept: 'd' });
  assert.deepEqual(dropBodyHeaders(headers), { authorization: 'a', accept: 'd' });
  const credentials = { 'x-api-key': 'k', 'api-key': 'k', 'private-token': 't', 'x-auth-token': 't', 'x-custom': 'c', referer: 'https://a.test/?token=t' };
  const safe = { accept: 'a', 'accept-language': 'de', 'accept-encoding': 'identity', 'user-agent': 'u', 'cache-control': 'no-cache', pragma: 'no-cache' };
  assert.deepEqual(headersForNewOrigin({ ...credentials, ...safe }), safe);
});

test('selectResponseHeaders keeps the allowlisted ones, joins repeats, drops Set-Cookie', () => {
  assert.deepEqual(
    selectResponseHeaders({ 'Content-Type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], link: ['<a>', '<b>'], 'x-secret': 'x', etag: undefined }),
    { 'content-type': 'text/plain', link: '<a>, <b>' },
  );
});
