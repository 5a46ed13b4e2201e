import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { collect } from '../collect.ts';
import type { ProviderEvent } from '../contract.ts';
import { createOpenAiProvider } from '../openai/openai-provider.ts';
import { timeoutFailure } from '../http-errors.ts';
import { startFixtureServer, type FixtureServer, type ScriptedResponse } from './fixture-server.ts';
import { KeepAliveOnlyError, sseBody } from './http-call.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const CHUNK = enc('data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n');
const REQUEST = { model: 'm', messages: [] };

let next: ScriptedResponse = {};
let server: FixtureServer;
before(async () => {
  server = await startFixtureServer(() => next);
});
after(() => server.close());

const provider = (timeouts = { connectMs: 1000, firstByteMs: 300, idleMs: 300 }, apiKey?: string) =>
  createOpenAiProvider({ baseUrl: server.baseUrl, timeouts, ...(apiKey === undefined ? {} : { apiKey }) });

test('a server that never answers ends with a first-byte timeout', async () => {
  next = { hang: true };
  const started = Date.now();
  const turn = await collect(provider().stream(REQUEST));
  assert.equal(turn.error?.code, 'timeout');
  assert.match(turn.error?.message ?? '', /first byte timeout/);
  assert.ok(Date.now() - started < 3000);
});

test('a server that stops mid-stream ends with an idle timeout after the text so far', async () => {
  next = { chunks: [CHUNK, CHUNK, CHUNK], stallAfter: 2 };
  const turn = await collect(provider().stream(REQUEST));
  assert.equal(turn.text, 'aa');
  assert.equal(turn.error?.code, 'timeout');
  assert.match(turn.error?.message ?? '', /idle timeout/);
  assert.equal(turn.finish, null);
});

/** Streams the next response, aborting as soon as the first text arrives; returns every event seen. */
async function eventsAbortingAtFirstText(): Promise<ProviderEvent[]> {
  const controller = new AbortController();
  const events: ProviderEvent[] = [];
  for await (const event of provider({ connectMs: 1000, firstByteMs: 5000, idleMs: 5000 }).stream({ ...REQUEST, signal: controller.signal })) {
    events.push(event);
    if (event.type === 'text_delta') controller.abort();
  }
  return events;
}

/** The first text, then only the cancellation: nothing the stream held after the abort is passed on. */
const CANCELLED_AFTER_FIRST_TEXT: ProviderEvent[] = [
  { type: 'text_delta', text: 'a' },
  { type: 'error', error: { code: 'cancelled', message: 'Request to provider "openai" was cancelled', retryable: false } },
];

test('abort before the request and mid-stream end with cancelled and nothing after it', async () => {
  const early = new AbortController();
  early.abort();
  const before = await collect(provider().stream({ ...REQUEST, signal: early.signal }));
  assert.deepEqual([before.error?.code, before.error?.retryable], ['cancelled', false]);

  next = { chunks: [CHUNK, CHUNK, CHUNK], stallAfter: 1 };
  assert.deepEqual(await eventsAbortingAtFirstText(), CANCELLED_AFTER_FIRST_TEXT);
});

test('events parsed from the same chunk are not passed on after an abort', async () => {
  // One network chunk holding three events, then the server holds the stream open.
  const three = new Uint8Array([...CHUNK, ...CHUNK, ...CHUNK]);
  next = { chunks: [three, CHUNK], stallAfter: 1 };
  assert.deepEqual(await eventsAbortingAtFirstText(), CANCELLED_AFTER_FIRST_TEXT);
});

test('HTTP 429 through the adapter carries Retry-After; the key never appears', async () => {
  next = { status: 429, headers: { 'content-type': 'application/json', 'retry-after': '2' }, chunks: [enc('{"error":{"message":"Slow down, sk-test-999999","type":"requests","code":"rate_limit_exceeded"}}')] };
  const turn = await collect(provider(undefined, 'sk-test-999999').stream(REQUEST));
  assert.deepEqual(turn.error, {
    code: 'rate_limited',
    message: 'Provider "openai" failed (HTTP 429): Slow down, [redacted]',
    status: 429,
    retryable: true,
    retryAfterMs: 2000,
    providerCode: 'rate_limit_exceeded',
  });
});

test('a refused connection is a retryable network failure', async () => {
  const closed = await startFixtureServer(() => ({}));
  const baseUrl = closed.baseUrl;
  await closed.close();
  const turn = await collect(createOpenAiProvider({ baseUrl, timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 } }).stream(REQUEST));
  assert.deepEqual([turn.error?.code, turn.error?.retryable], ['network', true]);
});

test('a body cut before [DONE] or a finish reason is an upstream failure, not a silent success', async () => {
  next = { chunks: [CHUNK] };
  const turn = await collect(provider().stream(REQUEST));
  assert.deepEqual([turn.text, turn.error, turn.finish], [
    'a',
    { code: 'upstream', message: 'Provider "openai" sent a malformed response: the stream ended before a finish reason or [DONE]', retryable: true },
    null,
  ]);
});

test('the key is scrubbed from an in-stream error object and from a 200 JSON error body', async () => {
  const key = 'sk-live-SECRET-0123456789';
  const message = `Incorrect API key provided: ${key}`;
  next = { chunks: [enc(`data: {"error":{"message":"${message}","type":"invalid_request_error","code":"invalid_api_key"}}\n\n`)] };
  const streamed = await collect(provider(undefined, key).stream(REQUEST));
  next = { headers: { 'content-type': 'application/json' }, chunks: [enc(JSON.stringify({ error: { message, type: 'invalid_request_error', code: 'invalid_api_key' } }))] };
  const whole = await collect(createOpenAiProvider({ baseUrl: server.baseUrl, apiKey: key, stream: false, timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 } }).stream(REQUEST));
  const expected = { code: 'auth', message: 'Provider "openai" failed: Incorrect API key provided: [redacted]', retryable: false, providerCode: 'invalid_api_key' };
  assert.deepEqual([streamed.error, whole.error], [expected, expected]);
});

test('a credential in a configured header is scrubbed like the API key, with or without its auth scheme', async () => {
  const secret = '3f9a1c0b7d2e4a6b8c1d0e2f3a4b5c6d';
  next = { status: 401, headers: { 'content-type': 'application/json' }, chunks: [enc(`{"error":{"code":"401","message":"Access denied: invalid subscription key ${secret}, token tok-abcdefgh."}}`)] };
  const timeouts = { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 };
  const turn = await collect(createOpenAiProvider({ baseUrl: server.baseUrl, headers: { 'api-key': secret, 'X-Proxy-Authorization': 'Bearer tok-abcdefgh' }, timeouts }).stream(REQUEST));
  assert.deepEqual(turn.error, {
    code: 'auth',
    message: 'Provider "openai" failed (HTTP 401): Access denied: invalid subscription key [redacted], token [redacted].',
    status: 401,
    retryable: false,
    providerCode: '401',
  });
});

test('Security: a key in a plain-text error body is scrubbed whole, also where the first line is cut', async () => {
  const key = 'sk-proj-9f8e7d6c5b4a39281706f5e4d3c2b1a0ZYXWVUTSRQPONMLKJIHGFEDCBA';
  // The key straddles the 200th character, where the message is cut.
  next = { status: 401, headers: { 'content-type': 'text/plain' }, chunks: [enc(`${'x'.repeat(150)} rejected token ${key} for this route and more words after it\n`)] };
  const turn = await collect(provider(undefined, key).stream(REQUEST));
  assert.deepEqual(turn.error, {
    code: 'auth',
    message: `Provider "openai" failed (HTTP 401): ${'x'.repeat(150)} rejected token [redacted] for this route and more…`,
    status: 401,
    retryable: false,
  });
});

test('an endless line, an endless stream and a huge JSON body each end with a non-retryable failure naming the cap', async () => {
  const timeouts = { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 };
  const limits = { maxEventBytes: 1024, maxResponseBytes: 4096 };
  const capped = (stream: boolean) => createOpenAiProvider({ baseUrl: server.baseUrl, timeouts, limits, stream });
  const failure = (what: string) => ({ code: 'upstream', message: `Provider "openai" sent too much: ${what}`, retryable: false });

  next = { chunks: [enc('data: '), ...Array.from({ length: 40 }, () => enc('x'.repeat(100)))] };
  const line = await collect(capped(true).stream(REQUEST));
  next = { chunks: Array.from({ length: 100 }, () => CHUNK) };
  const endless = await collect(capped(true).stream(REQUEST));
  next = { headers: { 'content-type': 'application/json' }, chunks: [enc(`{"x":"${'y'.repeat(8000)}"}`)] };
  const json = await collect(capped(false).stream(REQUEST));

  assert.deepEqual([line.error, endless.error, json.error], [
    failure('one SSE event exceeds the 1 KiB event cap'),
    failure('the response exceeds the 4 KiB response cap'),
    failure('the response exceeds the 4 KiB response cap'),
  ]);
  // Everything before the cap was delivered; nothing after it.
  assert.ok(endless.text.length > 0 && endless.text.length < 4096 / CHUNK.length + 1);
});

test('a streaming request answered with a JSON body is mapped as JSON, not retried as a broken stream', async () => {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  next = { headers: json, chunks: [enc('{"error":{"message":"Invalid API key","type":"invalid_request_error","code":"invalid_api_key"}}')] };
  const failed = await collect(provider().stream(REQUEST));
  next = { headers: json, chunks: [enc('{"choices":[{"index":0,"message":{"content":"whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1}}')] };
  const whole = await collect(provider().stream(REQUEST));
  assert.deepEqual(failed.error, { code: 'auth', message: 'Provider "openai" failed: Invalid API key', retryable: false, providerCode: 'invalid_api_key' });
  assert.deepEqual(whole, { text: 'whole', toolCalls: [], finish: 'stop', finishReason: 'stop', usage: { inputTokens: 2, outputTokens: 1 }, error: null, invalidArguments: [], route: null });
});

test('a streaming request answered with an event stream labelled application/json (Foundry Local) is read as SSE', async () => {
  const json = { 'content-type': 'application/json' };
  next = { headers: json, chunks: [enc('\r\n'), enc(': hello\n'), CHUNK, enc('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')] };
  const commented = await collect(provider().stream(REQUEST));
  next = { headers: json, chunks: [enc('da'), enc('ta: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')] };
  const split = await collect(provider().stream(REQUEST));
  next = { headers: json, chunks: [enc('not json')] };
  const garbage = await collect(provider().stream(REQUEST));
  const turn = (text: string) => ({ text, toolCalls: [], finish: 'stop', finishReason: 'stop', usage: null, error: null, invalidArguments: [], route: null });
  assert.deepEqual([commented, split], [turn('a'), turn('b')]);
  assert.match(garbage.error?.message ?? '', /the body is not JSON/);
});

test('an API key with a line break is a non-retryable bad_request, not a network failure', async () => {
  const turn = await collect(provider(undefined, 'sk-proj-abcdefghijkl\n').stream(REQUEST));
  assert.deepEqual(turn.error, {
    code: 'bad_request',
    message: 'Request to provider "openai" is invalid: UND_ERR_INVALID_ARG (invalid authorization header); check the API key and headers for line breaks or other control characters',
    retryable: false,
  });
});

test('an SSE body sending only keep-alive comments and pings fails with KeepAliveOnlyError; real events keep it alive', async () => {
  const mapper = { push: (data: string) => ({ events: data === 'x' ? [{ type: 'text_delta' as const, text: 'x' }] : [], done: false }), end: () => [] };
  async function* body(frames: string[]): AsyncGenerator<Uint8Array> {
    for (let i = 0; ; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield enc(frames[i % frames.length] as string);
    }
  }
  const read = async (frames: string[], atMost: number): Promise<unknown> => {
    const seen: ProviderEvent[] = [];
    try {
      for await (const event of sseBody(mapper, { maxKeepAliveOnlyMs: 150 })(body(frames))) if (seen.push(event) >= atMost) return seen.length;
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const started = Date.now();
  const quiet = await read([': keep-alive\n\n', 'event: ping\ndata: {"type":"ping"}\n\n'], 100);
  assert.ok(quiet instanceof KeepAliveOnlyError);
  assert.ok(Date.now() - started < 1000);
  assert.equal(await read([': keep-alive\n\n', 'data: x\n\n'], 20), 20, 'events 40 ms apart outlast the 150 ms limit');
  assert.deepEqual(timeoutFailure('anthropic', 'keep-alive'), { code: 'timeout', message: 'Provider "anthropic" timed out: no event but keep-alives within the keep-alive timeout', retryable: true });
});
