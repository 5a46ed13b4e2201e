import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderErrorCode, ProviderFailure } from '../contract.ts';
import { withFailover, type FailoverAttempt } from './failover.ts';
import { collectEvents, fail, fakeProvider, ok, request } from './test-fakes.ts';

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
  assert.deepEqual(await collectEvents(provider.stream(request())), ok('from c'));
  assert.deepEqual(attempts, [
    { providerId: 'a', index: 0, outcome: 'failed_over', failure: failureOf('overloaded') },
    { providerId: 'b', index: 1, outcome: 'failed_over', failure: failureOf('auth') },
    { providerId: 'c', index: 2, outcome: 'answered' },
  ]);
});

test('context_length fails over to the next (maybe larger) model', async () => {
  const a = fakeProvider('a', [[fail('context_length')]]);
  const b = fakeProvider('b', [ok()]);
  assert.deepEqual(await collectEvents(withFailover([a, b]).stream(request())), ok());
});

test('cancelled and bad_request end failover at once', async () => {
  for (const code of ['cancelled', 'bad_request'] as const) {
    const a = fakeProvider('a', [[fail(code)]]);
    const b = fakeProvider('b', [ok()]);
    assert.deepEqual(await collectEvents(withFailover([a, b]).stream(request())), [fail(code)]);
    assert.equal(b.calls.length, 0);
  }
});

test('no failover once content was streamed', async () => {
  const a = fakeProvider('a', [[{ type: 'text_delta', text: 'half' }, fail('network')]]);
  const b = fakeProvider('b', [ok()]);
  const events = await collectEvents(withFailover([a, b]).stream(request()));
  assert.deepEqual(events, [{ type: 'text_delta', text: 'half' }, fail('network')]);
  assert.equal(b.calls.length, 0);
});

test('when all fail, the last failure is passed on with a summary', async () => {
  const a = fakeProvider('a', [[fail('overloaded')]]);
  const b = fakeProvider('b', [[fail('timeout', { status: 504 })]]);
  const events = await collectEvents(withFailover([a, b]).stream(request()));
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

test('an empty list is refused', () => {
  assert.throws(() => withFailover([]), /at least one provider/);
});
