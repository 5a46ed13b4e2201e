import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tieringBudgetGiven } from './v8-daemon-tuning.ts';

test('an operator\'s own wasm tiering budget, on the command line or in NODE_OPTIONS, is left alone', () => {
  assert.equal(tieringBudgetGiven([], undefined), false);
  assert.equal(tieringBudgetGiven(['--max-old-space-size=512'], '--enable-source-maps'), false);
  assert.equal(tieringBudgetGiven(['--wasm-tiering-budget=5000'], undefined), true);
  assert.equal(tieringBudgetGiven([], '--enable-source-maps --wasm_tiering_budget=9'), true);
  assert.equal(tieringBudgetGiven(['--wasm-tiering-budgets'], undefined), false, 'only the flag itself');
});
