import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { classifyErrorObject, classifyHttpFailure, classifyTransportError, parseRetryAfter, redactSecrets } from './http-errors.ts';

const FIX = new URL('../../fixtures/providers/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, FIX), 'utf8');

test('429 rate limit with the documented headers and retry-after-ms is rate_limited, retryable', () => {
  const headers = { ...JSON.parse(read('openai/error-429-rate-limit.headers.json')), 'retry-after-ms': '1500' };
  const failure = classifyHttpFailure('openai', { status: 429, headers, bodyText: read('openai/error-429-rate-limit.json') });
  const body = JSON.parse(read('openai/error-429-rate-limit.json'));
  assert.deepEqual(failure, {
    code: 'rate_limited',
    message: `Provider "openai" failed (HTTP 429): ${body.error.message}`,
    status: 429,
    retryable: true,
    providerCode: 'rate_limit_exceeded',
    retryAfterMs: 1500,
  });
});

test('429 insufficient_quota is rate_limited but not retryable', () => {
  const failure = classifyHttpFailure('openai', { status: 429, headers: {}, bodyText: read('openai/error-429-insufficient-quota.json') });
  assert.deepEqual([failure.code, failure.retryable, failure.providerCode, failure.retryAfterMs], ['rate_limited', false, 'insufficient_quota', undefined]);
});

test('529 overloaded_error is overloaded, retryable', () => {
  const failure = classifyHttpFailure('anthropic', { status: 529, headers: { 'retry-after': '3' }, bodyText: read('anthropic/error-529-overloaded.json') });
  assert.deepEqual(failure, {
    code: 'overloaded',
    message: 'Provider "anthropic" failed (HTTP 529): Overloaded',
    status: 529,
    retryable: true,
    providerCode: 'overloaded_error',
    retryAfterMs: 3000,
  });
});

test('statuses map to codes', () => {
  const code = (status: number, bodyText = '') => {
    const f = classifyHttpFailure('p', { status, headers: {}, bodyText });
    return [f.code, f.retryable];
  };
  assert.deepEqual(code(401), ['auth', false]);
  assert.deepEqual(code(403), ['auth', false]);
  assert.deepEqual(code(400), ['bad_request', false]);
  assert.deepEqual(code(404, '{"error":"model not found"}'), ['bad_request', false]);
  assert.deepEqual(code(400, '{"error":{"message":"too long","code":"context_length_exceeded"}}'), ['context_length', false]);
  assert.deepEqual(code(400, '{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208000 tokens > 200000 maximum"}}'), ['context_length', false]);
  assert.deepEqual(code(500, '<html>bad gateway</html>'), ['upstream', true]);
  assert.deepEqual(code(502), ['upstream', true]);
  assert.deepEqual(code(503), ['overloaded', true]);
});

test('in-stream error objects are classified by type', () => {
  const code = (error: object) => {
    const f = classifyErrorObject('p', error);
    return [f.code, f.retryable];
  };
  assert.deepEqual(code({ type: 'server_error', message: 'x' }), ['upstream', true]);
  assert.deepEqual(code({ type: 'overloaded_error', message: 'x' }), ['overloaded', true]);
  assert.deepEqual(code({ type: 'rate_limit_error', message: 'x' }), ['rate_limited', true]);
  assert.deepEqual(code({ type: 'authentication_error', message: 'x' }), ['auth', false]);
  assert.deepEqual(code({ type: 'invalid_request_error', message: 'x' }), ['bad_request', false]);
});

test('Retry-After as an HTTP date, and invalid values', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now), 5000);
  assert.equal(parseRetryAfter({ 'retry-after': 'soon' }, now), undefined);
  assert.equal(parseRetryAfter({}, now), undefined);
});

test('transport errors: undici timeouts name their phase, others are network', () => {
  const timeout = (code: string) => classifyTransportError('p', Object.assign(new Error('x'), { code })).message;
  assert.match(timeout('UND_ERR_CONNECT_TIMEOUT'), /connect timeout/);
  assert.match(timeout('UND_ERR_HEADERS_TIMEOUT'), /first byte timeout/);
  assert.match(timeout('UND_ERR_BODY_TIMEOUT'), /idle timeout/);
  const refused = classifyTransportError('p', new Error('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
  assert.deepEqual([refused.code, refused.retryable], ['network', true]);
  const aborted = new AbortController();
  aborted.abort();
  assert.equal(classifyTransportError('p', new Error('x'), aborted.signal).code, 'cancelled');
});

test('Security: the key is scrubbed from failure messages', () => {
  const failure = classifyHttpFailure('p', { status: 401, headers: {}, bodyText: '{"error":{"message":"Incorrect API key provided: sk-live-123456"}}' });
  assert.equal(redactSecrets(failure, ['sk-live-123456']).message, 'Provider "p" failed (HTTP 401): Incorrect API key provided: [redacted]');
  const echoedCode = classifyHttpFailure('p', { status: 401, headers: {}, bodyText: '{"error":{"code":"bad_key_sk-live-123456","message":"no"}}' });
  assert.equal(echoedCode.providerCode, 'bad_key_sk-live-123456');
  assert.equal(redactSecrets(echoedCode, ['sk-live-123456']).providerCode, 'bad_key_[redacted]', 'the error code the upstream chose is scrubbed too');
});

test('an over-long prompt is context_length and not retryable, also when it came as a 5xx or an untyped in-stream error', () => {
  const http = classifyHttpFailure('p', { status: 500, headers: {}, bodyText: '{"error":"the request exceeds the available context size, try increasing the context window"}' });
  assert.deepEqual([http.code, http.retryable], ['context_length', false]);
  const inStream = classifyErrorObject('p', { type: 'server_error', message: "This model's maximum context length is 8192 tokens" });
  assert.deepEqual([inStream.code, inStream.retryable], ['context_length', false]);
});

test('Security: a secret that contains another is scrubbed whole, whatever order the secrets come in', () => {
  const failure = classifyHttpFailure('p', { status: 401, headers: {}, bodyText: '{"error":{"message":"bad credential sk-proj-abcdef-0123456789"}}' });
  const expected = 'Provider "p" failed (HTTP 401): bad credential [redacted]';
  assert.equal(redactSecrets(failure, ['sk-proj-abcdef', 'sk-proj-abcdef-0123456789']).message, expected);
  assert.equal(redactSecrets(failure, ['sk-proj-abcdef-0123456789', 'sk-proj-abcdef']).message, expected);
});
