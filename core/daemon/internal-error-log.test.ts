import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redactor } from '../journal/index.ts';
import { internalErrorLogger } from './internal-error-log.ts';

test('a bug a client met is logged under its reference with its stack, secrets the daemon knows hidden', () => {
  const secret = 'sk-live-0123456789abcdefghijklmnop';
  const lines: { message: string; fields?: Record<string, unknown> }[] = [];
  const report = internalErrorLogger((message, fields) => void lines.push({ message, fields }), new Redactor({ knownSecrets: [secret] }));
  const bug = new TypeError(`provider answered 401 for key ${secret}`);
  report('0badc0de', bug);
  report('feedface', 'a thrown string');
  assert.equal(lines.length, 2);
  const [first, second] = lines;
  assert.match(first?.message ?? '', /^internal error \(reference 0badc0de\) answering a client: TypeError: provider answered 401 for key \S+\n\s+at /);
  assert.ok(!JSON.stringify(lines).includes(secret), 'the secret is in no line');
  assert.deepEqual(Object.keys(first?.fields?.internalError as object), ['reference', 'detail']);
  assert.equal((first?.fields?.internalError as { reference: string }).reference, '0badc0de');
  assert.equal(second?.message, 'internal error (reference feedface) answering a client: a thrown string');
});
