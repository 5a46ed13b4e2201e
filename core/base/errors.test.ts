import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorBody, exitCodeOf, httpStatusOf, ioError, PalyraError } from './errors.ts';

test('exit codes derive from the error code: integrity 1, usage and I/O 2', () => {
  assert.equal(exitCodeOf(new PalyraError('PALYRA_JOURNAL_CHAIN_BROKEN', 'x')), 1);
  assert.equal(exitCodeOf(new PalyraError('PALYRA_INVALID_JSON', 'x')), 2);
  assert.equal(exitCodeOf(new PalyraError('PALYRA_STATE_LOCKED', 'x')), 2);
  assert.equal(exitCodeOf(new Error('boom')), 2);
});

test('HTTP statuses derive from the error code', () => {
  assert.deepEqual(
    [
      httpStatusOf(new PalyraError('PALYRA_NOT_FOUND', 'x')),
      httpStatusOf(new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', 'x')),
      httpStatusOf(new PalyraError('PALYRA_INVALID_JSON', 'x')),
      httpStatusOf(new PalyraError('PALYRA_STATE_LOCKED', 'x')),
      httpStatusOf(new Error('x')),
    ],
    [404, 413, 400, 409, 500],
  );
});

test('error bodies carry code and message; unknown errors are internal', () => {
  assert.deepEqual(errorBody(new PalyraError('PALYRA_USAGE', 'Bad flag')), { error: { code: 'PALYRA_USAGE', message: 'Bad flag' } });
  assert.deepEqual(errorBody(new TypeError('oops')), { error: { code: 'PALYRA_INTERNAL', message: 'Internal error: oops' } });
});

test('ioError names the action and the errno code in one sentence', () => {
  const cause = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT' });
  const err = ioError('read "/x"', cause);
  assert.equal(err.code, 'PALYRA_IO');
  assert.equal(err.message, 'Cannot read "/x": ENOENT (no such file or directory)');
});

test('error messages that quote input are cut at 2,000 characters, saying how much was cut', () => {
  const long = new PalyraError('PALYRA_INVALID_ARGUMENT', `Invalid key ${'k'.repeat(100_000)}`);
  const { message } = errorBody(long).error;
  assert.equal(message.length < 2100, true);
  assert.match(message, /^Invalid key k+… \(98012 more characters cut\)$/);
  assert.equal(errorBody(new PalyraError('PALYRA_NOT_FOUND', 'short')).error.message, 'short');
});
