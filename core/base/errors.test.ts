import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientErrorBody, errorBody, exitCodeOf, httpStatusOf, ioError, PalyraError, reportInternal } from './errors.ts';

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

test('a remote client gets a reference for a bug, and the report gets the error under it; PalyraErrors are told as they are', () => {
  const reported: [string, unknown][] = [];
  const report = (reference: string, error: unknown) => void reported.push([reference, error]);
  const bug = new TypeError("Cannot open '/home/op/.config/palyra/private.key'");
  const body = clientErrorBody(bug, report);
  assert.equal(body.error.code, 'PALYRA_INTERNAL');
  const reference = /^Internal error \(reference ([0-9a-f]{8})\); the daemon's log has the details$/.exec(body.error.message)?.[1];
  assert.ok(reference, body.error.message);
  assert.deepEqual(reported, [[reference, bug]]);
  assert.notEqual(clientErrorBody(bug, report).error.message, body.error.message, 'each error gets its own reference');
  assert.deepEqual(clientErrorBody(new PalyraError('PALYRA_NOT_FOUND', 'No run "r"'), report), { error: { code: 'PALYRA_NOT_FOUND', message: 'No run "r"' } });
  assert.equal(reported.length, 2, 'a PalyraError is not reported');
  assert.deepEqual(clientErrorBody(bug, undefined), errorBody(bug), 'with nobody to report to, the details are told');
  // A response already under way is only cut; the bug is still reported, under a reference of its own.
  reported.length = 0;
  const cut = reportInternal(bug, report);
  assert.match(cut ?? '', /^[0-9a-f]{8}$/);
  assert.deepEqual(reported, [[cut, bug]]);
  assert.equal(reportInternal(new PalyraError('PALYRA_NOT_FOUND', 'x'), report), null);
  assert.equal(reportInternal(bug, undefined), null);
  assert.equal(reported.length, 1);
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
