import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelayMs, withRetries } from './retries.ts';
import { collectEvents, fail, fakeProvider, ok, recordingSleep, request } from './test-fakes.ts';

const half = (): number => 0.5;

test('retries retryable failures with jittered exponential backoff, then succeeds', async () => {
  const inner = fakeProvider('p', [[fail('overloaded')], [fail('upstream', { status: 502 })], ok()]);
  const sleep = recordingSleep();
  const events = await collectEvents(withRetries(inner, { sleep, random: half }).stream(request()));
  assert.deepEqual(events, ok());
  assert.equal(inner.calls.length, 3);
  // Full jitter at 0.5: half of 500 then half of 1000.
  assert.deepEqual(sleep.delays, [250, 500]);
});

test('gives up after maxAttempts and passes the last failure on', async () => {
  const inner = fakeProvider('p', [[fail('network')]]);
  const sleep = recordingSleep();
  const events = await collectEvents(withRetries(inner, { sleep, random: half, maxAttempts: 4 }).stream(request()));
  assert.deepEqual(events, [fail('network')]);
  assert.equal(inner.calls.length, 4);
  assert.deepEqual(sleep.delays, [250, 500, 1000]);
});

test('honours Retry-After as a floor, up to maxDelayMs itself', async () => {
  const inner = fakeProvider('p', [[fail('rate_limited', { retryAfterMs: 7000 })], [fail('rate_limited', { retryAfterMs: 20_000 })], ok()]);
  const sleep = recordingSleep();
  await collectEvents(withRetries(inner, { sleep, random: half, maxDelayMs: 20_000 }).stream(request()));
  assert.deepEqual(sleep.delays, [7000, 20_000]);
});

test('a Retry-After beyond maxDelayMs is not retried early: the failure is passed on', async () => {
  const inner = fakeProvider('p', [[fail('rate_limited', { retryAfterMs: 7000 })], [fail('rate_limited', { retryAfterMs: 90_000 })], ok()]);
  const sleep = recordingSleep();
  const events = await collectEvents(withRetries(inner, { sleep, random: half, maxDelayMs: 20_000 }).stream(request()));
  assert.deepEqual(events, [fail('rate_limited', { retryAfterMs: 90_000 })]);
  assert.deepEqual([sleep.delays, inner.calls.length], [[7000], 2]);
});

test('backoff is capped by maxDelayMs and drawn from [0, cap)', () => {
  const opts = { baseDelayMs: 500, maxDelayMs: 30_000 };
  const f = { code: 'upstream' as const, message: 'x', retryable: true };
  assert.equal(retryDelayMs(20, f, { ...opts, random: () => 0.999 }), 29_970);
  assert.equal(retryDelayMs(3, f, { ...opts, random: () => 0 }), 0);
});

test('never retries once content reached the caller', async () => {
  const inner = fakeProvider('p', [[{ type: 'text_delta', text: 'par' }, fail('network')], ok()]);
  const sleep = recordingSleep();
  const events = await collectEvents(withRetries(inner, { sleep }).stream(request()));
  assert.deepEqual(events, [{ type: 'text_delta', text: 'par' }, fail('network')]);
  assert.equal(inner.calls.length, 1);
});

test('usage before the failure does not block a retry', async () => {
  const usage = { type: 'usage', inputTokens: 3, outputTokens: 0 } as const;
  const inner = fakeProvider('p', [[usage, fail('timeout')], ok()]);
  const events = await collectEvents(withRetries(inner, { sleep: recordingSleep(), random: half }).stream(request()));
  assert.deepEqual(events, [usage, ...ok()]);
});

test('never retries cancelled, auth, bad_request, context_length or quota exhaustion', async () => {
  const finals = [
    fail('cancelled'),
    fail('auth'),
    fail('bad_request'),
    fail('context_length'),
    fail('rate_limited', { providerCode: 'insufficient_quota' }),
    fail('upstream', { retryable: false }),
  ];
  for (const failure of finals) {
    const inner = fakeProvider('p', [[failure], ok()]);
    const events = await collectEvents(withRetries(inner, { sleep: recordingSleep() }).stream(request()));
    assert.deepEqual(events, [failure]);
    assert.equal(inner.calls.length, 1);
  }
});

test('stops waiting at once when the request is aborted', async () => {
  const inner = fakeProvider('p', [[fail('overloaded')], ok()]);
  const controller = new AbortController();
  // A sleep that would never end on its own: only the abort can release it.
  const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
  const pending = collectEvents(withRetries(inner, { sleep }).stream(request(controller.signal)));
  setImmediate(() => controller.abort());
  const events = await pending;
  assert.deepEqual(events, [
    { type: 'error', error: { code: 'cancelled', message: 'Request to provider "p" was cancelled', retryable: false } },
  ]);
  assert.equal(inner.calls.length, 1);
});

test('a provider that throws becomes an upstream failure', async () => {
  const inner = {
    id: 'boom',
    async *stream() {
      throw new Error('socket closed');
    },
  };
  const events = await collectEvents(withRetries(inner, { sleep: recordingSleep() }).stream(request()));
  assert.deepEqual(events, [
    { type: 'error', error: { code: 'upstream', message: 'Provider "boom" threw: socket closed', retryable: false } },
  ]);
});
