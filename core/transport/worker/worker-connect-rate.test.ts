import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectRateLimiter } from './worker-connect-rate.ts';

test('a worker may connect perMinute times at once, then once per 60/perMinute s; other workers are not affected', () => {
  let now = 0;
  const limiter = new ConnectRateLimiter(6, { now: () => now });
  assert.deepEqual(Array.from({ length: 8 }, () => limiter.take('gpu-1')), [0, 0, 0, 0, 0, 0, 10, 10]);
  assert.equal(limiter.take('gpu-2'), 0);
  now = 4_000;
  assert.equal(limiter.take('gpu-1'), 6, 'seconds until one connection has refilled');
  now = 10_000;
  assert.deepEqual([limiter.take('gpu-1'), limiter.take('gpu-1')], [0, 10]);
  now = 10_000 + 60_000;
  assert.deepEqual(Array.from({ length: 7 }, () => limiter.take('gpu-1')), [0, 0, 0, 0, 0, 0, 10]);
});

test('a limit of 0 lets every connection through', () => {
  const limiter = new ConnectRateLimiter(0, { now: () => 0 });
  assert.deepEqual(Array.from({ length: 100 }, () => limiter.take('gpu-1')).filter((s) => s !== 0), []);
});
