import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderErrorCode, ProviderFailure } from '../contract.ts';
import { withFailover, type FailoverAttempt } from './failover.ts';
import { withRetries } from './retries.ts';
import { collectEvents, fail, fakeProvider, ok, recordingSleep, request, withoutRoutes } from './test-fakes.ts';

function failureOf(code: ProviderErrorCode): ProviderFailure {
  const event = fail(code);
  assert.ok(event.type === 'error');
  return event.error;
}

test('tries providers in order and reports which one answered', async () => {
  const a = fakeProvider('a', [[fail('overloaded')]]);
  const b = fakeProvider('b', [[fail('auth')]]);
  const c = fakeProvider('c', [ok('from c')]);
  const attempts: FailoverAttempt[] = [];
  const provider = withFailover([a, b, c], { onAttempt: (x) => attempts.push(x) });
  assert.equal(provider.id, 'failover(a,b,c)');
  assert.deepEqual(withoutRoutes(await collectEvents(provider.stream(request()))), ok('from c'));
  assert.deepEqual(attempts, [
    { providerId: 'a', index: 0, outcome: 'failed_over', failure: failureOf('overloaded') },
    { providerId: 'b', index: 1, outcome: 'failed_over', failure: failureOf('auth') },
    { providerId: 'c', index: 2, outcome: 'answered' },
  ]);
});

test('context_length fails over to the next (maybe larger) model', async () => {
  const a = fakeProvider('a', [[fail('context_length')]]);
  const b = fakeProvider('b', [ok()]);
  assert.deepEqual(withoutRoutes(await collectEvents(withFailover([a, b]).stream(request()))), ok());
});

test('cancelled and bad_request end failover at once', async () => {
  for (const code of ['cancelled', 'bad_request'] as const) {
    const a = fakeProvider('a', [[fail(code)]]);
    const b = fakeProvider('b', [ok()]);
    assert.deepEqual(withoutRoutes(await collectEvents(withFailover([a, b]).stream(request()))), [fail(code)]);
    assert.equal(b.calls.length, 0);
  }
});

test('no failover once content was streamed', async () => {
  const a = fakeProvider('a', [[{ type: 'text_delta', text: 'half' }, fail('network')]]);
  const b = fakeProvider('b', [ok()]);
  const events = withoutRoutes(await collectEvents(withFailover([a, b]).stream(request())));
  assert.deepEqual(events, [{ type: 'text_delta', text: 'half' }, fail('network')]);
  assert.equal(b.calls.length, 0);
});

test('when all fail, the last failure is passed on with a summary', async () => {
  const a = fakeProvider('a', [[fail('overloaded')]]);
  const b = fakeProvider('b', [[fail('timeout', { status: 504 })]]);
  const events = withoutRoutes(await collectEvents(withFailover([a, b]).stream(request())));
  assert.deepEqual(events, [
    {
      type: 'error',
      error: { code: 'timeout', message: 'All 2 providers failed; the last: timeout happened', retryable: true, status: 504 },
    },
  ]);
});

test('a candidate may name its own model', async () => {
  const a = fakeProvider('a', [[fail('overloaded')]]);
  const b = fakeProvider('b', [ok()]);
  await collectEvents(withFailover([a, { provider: b, model: 'small' }]).stream(request()));
  assert.equal(a.calls[0]?.model, 'm');
  assert.equal(b.calls[0]?.model, 'small');
});

test('before each attempt a route names the provider and model asked and the attempts that failed over', async () => {
  const a = fakeProvider('a', [[fail('overloaded')]]);
  const b = fakeProvider('b', [[fail('auth', { status: 401 })]]);
  const c = fakeProvider('c', [ok('from c')]);
  const events = await collectEvents(withFailover([{ provider: a, model: 'big' }, b, { provider: c, model: 'small' }]).stream(request()));
  const failedA = { providerId: 'a', model: 'big', error: failureOf('overloaded') };
  const failedB = { providerId: 'b', model: 'm', error: { ...failureOf('auth'), status: 401 } };
  assert.deepEqual(events, [
    { type: 'route', route: { providerId: 'a', model: 'big', failedOver: [] } },
    { type: 'route', route: { providerId: 'b', model: 'm', failedOver: [failedA] } },
    { type: 'route', route: { providerId: 'c', model: 'small', failedOver: [failedA, failedB] } },
    ...ok('from c'),
  ]);
});

test('a failover inside a failover: the inner route is the precise one, after the outer attempts', async () => {
  const a = fakeProvider('a', [[fail('overloaded')]]);
  const b = fakeProvider('b', [[fail('timeout')]]);
  const c = fakeProvider('c', [ok()]);
  const events = await collectEvents(withFailover([a, withFailover([b, c])]).stream(request()));
  const routes = events.flatMap((e) => (e.type === 'route' ? [e.route] : []));
  const failedA = { providerId: 'a', model: 'm', error: failureOf('overloaded') };
  assert.deepEqual(routes.at(-1), { providerId: 'c', model: 'm', failedOver: [failedA, { providerId: 'b', model: 'm', error: failureOf('timeout') }] });
});

test('a route is not content: a retry around a failover still retries', async () => {
  const a = fakeProvider('a', [[fail('overloaded')], ok('again')]);
  const events = await collectEvents(withRetries(withFailover([a]), { sleep: recordingSleep(), random: () => 0 }).stream(request()));
  assert.deepEqual(withoutRoutes(events), ok('again'));
  assert.equal(a.calls.length, 2);
});

test('an empty list is refused', () => {
  assert.throws(() => withFailover([]), /at least one provider/);
});
