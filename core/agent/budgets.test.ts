import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_BUDGETS, resolveBudgets } from './budgets.ts';

test('a wall-clock budget longer than a timer can wait is refused', () => {
  assert.deepEqual(resolveBudgets({ wallClockMs: 2_147_483_647 }), { ...DEFAULT_BUDGETS, wallClockMs: 2_147_483_647 });
  assert.throws(() => resolveBudgets({ wallClockMs: 3_000_000_000 }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: 'Budget wallClockMs must be at most 2147483647 (about 24.8 days), not "3000000000"',
  });
});
