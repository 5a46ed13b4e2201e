import assert from 'node:assert/strict';
import { test } from 'node:test';
import { realSleep } from './sleep.ts';

test('realSleep waits, and resolves at once when aborted', async () => {
  const start = performance.now();
  await realSleep(5);
  assert.ok(performance.now() - start >= 4);

  const controller = new AbortController();
  const pending = realSleep(60_000, controller.signal);
  controller.abort();
  await pending;
  await realSleep(60_000, controller.signal);
});
