import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelProvider, ProviderEvent } from '../contract.ts';
import { withConcurrencyLimit } from './concurrency-limit.ts';
import type { Sleep } from './sleep.ts';
import { collectEvents, ok, request } from './test-fakes.ts';

/** A provider whose streams each wait for `open()` before answering; counts concurrency. */
function gatedProvider(): ModelProvider & { open: () => void; started: number; peak: number } {
  let running = 0;
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  const provider = {
    id: 'p',
    started: 0,
    peak: 0,
    open: () => release(),
    async *stream(): AsyncGenerator<ProviderEvent> {
      provider.started++;
      running++;
      provider.peak = Math.max(provider.peak, running);
      try {
        await gate;
        yield* ok();
      } finally {
        running--;
      }
    },
  };
  return provider;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A sleep whose timeouts fire only when the test calls `fire()`. */
function manualSleep(): Sleep & { fire: () => void } {
  const pending: Array<() => void> = [];
  const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      pending.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  return Object.assign(sleep, { fire: () => pending.splice(0).forEach((resolve) => resolve()) });
}

test('runs at most `max` streams at once and queues the rest in order', async () => {
  const inner = gatedProvider();
  const limited = withConcurrencyLimit(inner, { max: 2 });
  const runs = [1, 2, 3, 4].map(() => collectEvents(limited.stream(request())));
  await tick();
  assert.deepEqual(limited.status(), { active: 2, waiting: 2, max: 2 });
  assert.equal(inner.started, 2);
  inner.open();
  for (const run of runs) assert.deepEqual(await run, ok());
  assert.equal(inner.peak, 2);
  assert.deepEqual(limited.status(), { active: 0, waiting: 0, max: 2 });
});

test('too many waiting fails at once with rate_limited', async () => {
  const inner = gatedProvider();
  const limited = withConcurrencyLimit(inner, { max: 1, queueLimit: 1 });
  const first = collectEvents(limited.stream(request()));
  const second = collectEvents(limited.stream(request()));
  await tick();
  const third = await collectEvents(limited.stream(request()));
  assert.deepEqual(third, [
    {
      type: 'error',
      error: {
        code: 'rate_limited',
        message: 'Too many concurrent requests to provider "p": 1 callers already waiting',
        retryable: true,
        providerCode: 'lease_queue_full',
      },
    },
  ]);
  inner.open();
  assert.deepEqual(await first, ok());
  assert.deepEqual(await second, ok());
});

test('a caller waiting longer than queueTimeoutMs gets rate_limited and leaves the queue', async () => {
  const inner = gatedProvider();
  const sleep = manualSleep();
  const limited = withConcurrencyLimit(inner, { max: 1, queueTimeoutMs: 250, sleep });
  const first = collectEvents(limited.stream(request()));
  const waiting = collectEvents(limited.stream(request()));
  await tick();
  sleep.fire();
  const events = await waiting;
  assert.equal(events.length, 1);
  assert.equal(events[0]?.type === 'error' && events[0].error.providerCode, 'lease_queue_timeout');
  assert.deepEqual(limited.status(), { active: 1, waiting: 0, max: 1 });
  inner.open();
  assert.deepEqual(await first, ok());
  assert.deepEqual(limited.status(), { active: 0, waiting: 0, max: 1 });
});

test('abort while queued ends the wait with cancelled', async () => {
  const inner = gatedProvider();
  const limited = withConcurrencyLimit(inner, { max: 1 });
  const first = collectEvents(limited.stream(request()));
  const controller = new AbortController();
  const waiting = collectEvents(limited.stream(request(controller.signal)));
  await tick();
  controller.abort();
  assert.deepEqual(await waiting, [
    { type: 'error', error: { code: 'cancelled', message: 'Request to provider "p" was cancelled', retryable: false } },
  ]);
  assert.equal(limited.status().waiting, 0);
  inner.open();
  await first;
  assert.equal(inner.started, 1);
});

test('the lease is released when the consumer stops iterating early', async () => {
  const inner = gatedProvider();
  inner.open();
  const limited = withConcurrencyLimit(inner, { max: 1 });
  for await (const _event of limited.stream(request())) break;
  assert.deepEqual(limited.status(), { active: 0, waiting: 0, max: 1 });
  assert.deepEqual(await collectEvents(limited.stream(request())), ok());
});

test('the lease is released when the stream fails', async () => {
  const failing: ModelProvider = {
    id: 'p',
    async *stream() {
      yield { type: 'error', error: { code: 'network', message: 'reset', retryable: true } };
    },
  };
  const limited = withConcurrencyLimit(failing, { max: 1 });
  await collectEvents(limited.stream(request()));
  assert.deepEqual(limited.status(), { active: 0, waiting: 0, max: 1 });
});
