import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import type { RunView } from '../../gateway/index.ts';
import { runEndedError, toOpenAiError } from './openai-errors.ts';

function ended(state: RunView['state'], reason: string | null): RunView {
  return { runId: 'run_1', sessionId: 'ses_1', state, reason, messageIds: [], createdAt: 0, finishedAt: 1, finalText: null, counters: null, resumedFrom: null, steeredInto: null };
}

test('a run that ended without an answer: 502 for the provider, 409 when cancelled, 500 otherwise', () => {
  const cases: Array<[RunView, number, string, string]> = [
    [ended('failed', 'provider: overloaded: busy'), 502, 'run_failed', 'Run "run_1" failed: provider: overloaded: busy'],
    [ended('cancelled', 'cancelled by request'), 409, 'run_cancelled', 'Run "run_1" was cancelled: cancelled by request'],
    [ended('failed', 'budget: turns'), 500, 'run_failed', 'Run "run_1" failed: budget: turns'],
    [ended('failed', null), 500, 'run_failed', 'Run "run_1" failed: no reason recorded'],
  ];
  for (const [run, status, code, message] of cases) {
    const e = runEndedError(run);
    const type = status === 409 ? 'conflict_error' : 'server_error';
    assert.deepEqual([e.status, e.body, e.retry], [status, { error: { message, type, code, param: null, run_id: 'run_1' } }, false]);
  }
});

test('PalyraErrors keep their status and code; other throwables are internal; only 503 is retryable', () => {
  const notFound = toOpenAiError(new PalyraError('PALYRA_NOT_FOUND', 'No session "x"'));
  assert.deepEqual([notFound.status, notFound.body, notFound.retry], [404, { error: { message: 'No session "x"', type: 'not_found_error', code: 'PALYRA_NOT_FOUND', param: null } }, false]);
  const stopping = toOpenAiError(new PalyraError('PALYRA_UNAVAILABLE', 'stopping'));
  assert.deepEqual([stopping.status, stopping.body.error.type, stopping.retry], [503, 'server_error', true]);
  const boom = toOpenAiError(new Error('boom'));
  assert.deepEqual([boom.status, boom.body], [500, { error: { message: 'Internal error: boom', type: 'server_error', code: 'PALYRA_INTERNAL', param: null } }]);
});
