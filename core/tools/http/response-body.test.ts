import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import { contentTypeMatcher, decodeBody, DEFAULT_CONTENT_TYPES, parseMediaType, readCapped } from './response-body.ts';

test('parseMediaType: essence lowercased, charset read, junk becomes octet-stream', () => {
  assert.deepEqual(
    ['Text/HTML; Charset="UTF-8"', 'application/json', undefined, '', 'nonsense', 'text/plain;format=flowed;charset=iso-8859-1'].map(parseMediaType),
    [
      { essence: 'text/html', charset: 'utf-8' },
      { essence: 'application/json', charset: null },
      { essence: 'application/octet-stream', charset: null },
      { essence: 'application/octet-stream', charset: null },
      { essence: 'application/octet-stream', charset: null },
      { essence: 'text/plain', charset: 'iso-8859-1' },
    ],
  );
});

test('contentTypeMatcher: the default list accepts text and JSON/XML, nothing else', () => {
  const accepts = contentTypeMatcher(DEFAULT_CONTENT_TYPES);
  const types = ['text/html', 'text/csv', 'application/json', 'application/xml', 'application/ld+json', 'application/problem+json', 'application/pdf', 'image/png', 'application/octet-stream', 'application/jsonx', 'application/atom+xml', 'texts/plain'];
  assert.deepEqual(types.map(accepts), [true, true, true, true, true, true, false, false, false, false, false, false]);
  assert.deepEqual(['image/png', 'video/mp4'].map(contentTypeMatcher(['*/*'])), [true, true]);
});

test('readCapped: exact size is not truncated; one byte more is', async () => {
  const chunks = (): Readable => Readable.from([Buffer.from('abc'), Buffer.from('def')]);
  assert.deepEqual(await readCapped(chunks(), 6), { bytes: new Uint8Array(Buffer.from('abcdef')), truncated: false });
  assert.deepEqual(await readCapped(chunks(), 4), { bytes: new Uint8Array(Buffer.from('abcd')), truncated: true });
});

test('decodeBody: text in its charset, base64 for binary and content-encoded bodies', () => {
  const bytes = new Uint8Array([0xe2, 0x82, 0xac, 0x21]);
  const text = parseMediaType('text/plain');
  assert.deepEqual(
    [
      decodeBody({ bytes, truncated: false }, text, undefined),
      decodeBody({ bytes: bytes.subarray(0, 2), truncated: true }, text, undefined),
      decodeBody({ bytes, truncated: false }, parseMediaType('image/png'), undefined),
      decodeBody({ bytes, truncated: false }, text, 'br'),
      decodeBody({ bytes, truncated: false }, text, 'identity'),
      decodeBody({ bytes: new Uint8Array([0xe9]), truncated: false }, parseMediaType('text/plain; charset=windows-1252'), undefined),
      decodeBody({ bytes: new Uint8Array([0x41]), truncated: false }, parseMediaType('text/plain; charset=x-unknown'), undefined),
    ],
    [
      { body: '€!', bodyEncoding: 'text' },
      { body: '', bodyEncoding: 'text' },
      { body: '4oKsIQ==', bodyEncoding: 'base64' },
      { body: '4oKsIQ==', bodyEncoding: 'base64' },
      { body: '€!', bodyEncoding: 'text' },
      { body: 'é', bodyEncoding: 'text' },
      { body: 'A', bodyEncoding: 'text' },
    ],
  );
});
