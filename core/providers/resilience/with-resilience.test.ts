import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withFailover } from './failover.ts';
import { collectEvents, fail, fakeClock, fakeProvider, ok, recordingSleep, request, withoutRoutes } from './test-fakes.ts';
import { withResilience } from './with-resilience.ts';

test('retries count against the breaker; an open circuit ends retries and failover moves on', async () => {
  const clock = fakeClock();
  const sleep = recordingSleep();
  const a = fakeProvider('a', [[fail('overloaded')]]);
  const b = fakeProvider('b', [ok('from b')]);
  const resilientA = withResilience(a, { clock, sleep, retries: { maxAttempts: 5, random: () => 0 }, breaker: { failureThreshold: 2 } });
  const provider = withFailover([resilientA, withResilience(b, { clock, sleep })]);

  assert.deepEqual(withoutRoutes(await collectEvents(provider.stream(request()))), ok('from b'));
  // Two real attempts open the circuit; the third attempt fails fast and is not retried.
  assert.equal(a.calls.length, 2);
  assert.deepEqual(sleep.delays, [0, 0]);
  assert.deepEqual(resilientA.status(), {
    circuit: { state: 'open', consecutiveFailures: 2, retryAt: clock.now() + 30_000 },
    leases: { active: 0, waiting: 0, max: 4 },
  });
});
