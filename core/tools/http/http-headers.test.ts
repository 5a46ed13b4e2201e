import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { dropBodyHeaders, dropOriginBoundHeaders, sanitizeRequestHeaders, selectResponseHeaders } from './http-headers.ts';

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

test('redirect helpers drop Authorization across origins and Content-* with the body', () => {
  const headers = { authorization: 'a', 'content-type': 'b', 'content-language': 'c', accept: 'd' };
  assert.deepEqual(dropOriginBoundHeaders(headers), { 'content-type': 'b', 'content-language': 'c', accept: 'd' });
  assert.deepEqual(dropBodyHeaders(headers), { authorization: 'a', accept: 'd' });
});

test('selectResponseHeaders keeps the allowlisted ones, joins repeats, drops Set-Cookie', () => {
  assert.deepEqual(
    selectResponseHeaders({ 'Content-Type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], link: ['<a>', '<b>'], 'x-secret': 'x', etag: undefined }),
    { 'content-type': 'text/plain', link: '<a>, <b>' },
  );
});
