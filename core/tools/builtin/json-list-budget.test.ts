import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../base/index.ts';
import { JsonListBudget } from './json-list-budget.ts';

test('the budget admits items while the canonical JSON of the output fits, to the byte', () => {
  const items = ['a\u0001', 'é', { b: 1, a: '\u2603' }, 'last'];
  const whole = Buffer.byteLength(canonicalJson({ list: items, truncated: true }));
  for (const [maxBytes, admitted] of [[whole, 4], [whole - 1, 3], [Buffer.byteLength('{"list":[],"truncated":true}'), 0]] as const) {
    const budget = new JsonListBudget(maxBytes, { list: [], truncated: true });
    const kept = items.filter((item) => budget.admit(item));
    assert.deepEqual(kept, items.slice(0, admitted), `cap ${maxBytes}`);
    assert.ok(Buffer.byteLength(canonicalJson({ list: kept, truncated: true })) <= maxBytes);
  }
});

test('an item that does not fit is not counted, so a smaller one after it may still fit', () => {
  const budget = new JsonListBudget(Buffer.byteLength('{"list":["ab","c"]}'), { list: [] });
  assert.deepEqual([budget.admit('ab'), budget.admit('too long'), budget.admit('c'), budget.admit('')], [true, false, true, false]);
});
