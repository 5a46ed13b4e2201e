import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stepSummary } from './tape-render.ts';

test('a model response shows where the turn went and which providers failed over before it', () => {
  const route = { providerId: 'backup', model: 'small', failedOver: [{ providerId: 'primary', model: 'big', error: { code: 'auth', message: 'no' } }] };
  const response = { turn: 1, text: 'hi', toolCalls: [], error: null, interrupted: null, finish: 'stop' };
  assert.equal(stepSummary('model.response', { ...response, route }), 'turn 1, "hi", via backup (small) after primary (big) failed: auth, finish stop');
  assert.equal(stepSummary('model.response', response), 'turn 1, "hi", finish stop', 'a tape recorded before routes were');
});
