import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderEvent } from '../contract.ts';
import { withCircuitBreaker } from './circuit-breaker.ts';
import { collectEvents, fail, fakeClock, fakeProvider, ok, request } from './test-fakes.ts';

test('opens after N consecutive health failures and fails fast without calling the provider', async () => {
  const clock = fakeClock();
  const inner = fakeProvider('p', [[fail('overloaded')]]);
  const breaker = withCircuitBreaker(inner, { failureThreshold: 3, openMs: 10_000, clock });
  for (let i = 0; i < 2; i++) await collectEvents(breaker.stream(request()));
  assert.deepEqual(breaker.status(), { state: 'closed', consecutiveFailures: 2, retryAt: null });
  await collectEvents(breaker.stream(request()));
  assert.deepEqual(breaker.status(), { state: 'open', consecutiveFailures: 3, retryAt: clock.now() + 10_000 });

  clock.advance(4000);
  const events = await collectEvents(breaker.stream(request()));
  assert.deepEqual(events, [
    {
      type: 'error',
      error: {
        code: 'overloaded',
        message: 'Circuit for provider "p" is open after 3 consecutive failures',
        retryable: false,
        retryAfterMs: 6000,
        providerCode: 'circuit_open',
      },
    },
  ]);
  assert.equal(inner.calls.length, 3);
});

test('half-open lets one probe through; success closes, failure reopens', async () => {
  const clock = fakeClock();
  const inner = fakeProvider('p', [[fail('network')], [fail('network')], [fail('timeout')], ok()]);
  const breaker = withCircuitBreaker(inner, { failureThreshold: 2, openMs: 1000, clock });
  await collectEvents(breaker.stream(request()));
  await collectEvents(breaker.stream(request()));
  assert.equal(breaker.status().state, 'open');

  clock.advance(1000);
  assert.equal(breaker.status().state, 'half_open');
  // The probe fails: the circuit reopens for another full period.
  assert.deepEqual(await collectEvents(breaker.stream(request())), [fail('timeout')]);
  assert.deepEqual(breaker.status(), { state: 'open', consecutiveFailures: 3, retryAt: clock.now() + 1000 });

  clock.advance(1000);
  assert.deepEqual(await collectEvents(breaker.stream(request())), ok());
  assert.deepEqual(breaker.status(), { state: 'closed', consecutiveFailures: 0, retryAt: null });
  assert.equal(inner.calls.length, 4);
});

test('while a probe is in flight, other calls fail fast', async () => {
  const clock = fakeClock();
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const inner = {
    id: 'p',
    async *stream(): AsyncGenerator<ProviderEvent> {
      calls++;
      if (calls === 1) {
        yield fail('upstream');
        return;
      }
      await gate;
      yield* ok();
    },
  };
  const breaker = withCircuitBreaker(inner, { failureThreshold: 1, openMs: 100, clock });
  await collectEvents(breaker.stream(request()));
  clock.advance(100);
  const probe = collectEvents(breaker.stream(request()));
  await new Promise((resolve) => setImmediate(resolve));
  const second = await collectEvents(breaker.stream(request()));
  assert.equal(second[0]?.type === 'error' && second[0].error.providerCode, 'circuit_open');
  release();
  assert.deepEqual(await probe, ok());
  assert.equal(breaker.status().state, 'closed');
  assert.equal(calls, 2);
});

test('request errors reset the count; cancellations and early exits change nothing', async () => {
  const clock = fakeClock();
  const inner = fakeProvider('p', [[fail('overloaded')], [fail('bad_request')], [fail('overloaded')], [fail('cancelled')], ok()]);
  const breaker = withCircuitBreaker(inner, { failureThreshold: 2, clock });
  await collectEvents(breaker.stream(request()));
  await collectEvents(breaker.stream(request()));
  assert.equal(breaker.status().consecutiveFailures, 0);
  await collectEvents(breaker.stream(request()));
  await collectEvents(breaker.stream(request()));
  assert.deepEqual(breaker.status(), { state: 'closed', consecutiveFailures: 1, retryAt: null });
  // The consumer stops after the first event, before finish.
  for await (const _event of breaker.stream(request())) break;
  assert.deepEqual(breaker.status(), { state: 'closed', consecutiveFailures: 1, retryAt: null });
});
