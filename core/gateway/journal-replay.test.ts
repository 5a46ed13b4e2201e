import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeUserText } from './journal-replay.ts';

test('composeUserText: up to the cap every message is verbatim; past it the rest are summarized one line each, none dropped', () => {
  const texts = Array.from({ length: 20 }, (_, i) => `m${i + 1}`);
  assert.equal(composeUserText(texts, 20), texts.join('\n\n'), 'exactly the cap (20 pending) is not summarized');
  const long = `first line\n  of a long message ${'x'.repeat(100)}`;
  assert.equal(
    composeUserText([...texts, long], 20),
    `${texts.slice(0, 19).join('\n\n')}\n\n[2 more messages arrived meanwhile, summarized:]\n- m20\n- ${`first line of a long message ${'x'.repeat(100)}`.slice(0, 80)}…`,
  );
  assert.equal(composeUserText(['only'], 1), 'only');
});
