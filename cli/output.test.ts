import assert from 'node:assert/strict';
import { test } from 'node:test';
import { terminalSafe } from './output.ts';

/** What a hostile model or journal may put in text the CLI prints. */
const HOSTILE = [
  '\x1b]0;pwned\x07', // OSC: retitles the window
  '\x1b[2J\x1b[H', // CSI: clears the screen, moves the cursor
  '\u009b31m', // the 8-bit CSI
  'safe\roverwritten', // CR rewrites the line
  'abc\u202edcba', // bidi override reorders what is shown
  'line\u2028sep',
  '\x7f\x00\x08',
];

test('terminal controls are printed as escapes; newlines, tabs and the CLI\'s own colours stay', () => {
  for (const text of HOSTILE) {
    const safe = terminalSafe(text);
    assert.equal(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/.test(safe.replace(/\x1b\[[0-9;]*m/g, '')), false, JSON.stringify(safe));
  }
  assert.equal(terminalSafe('\x1b]0;pwned\x07'), '\\u001b]0;pwned\\u0007');
  assert.equal(terminalSafe('a\u009bb\u202ec'), 'a\\u009bb\\u202ec');
  assert.equal(terminalSafe('two\n\tlines'), 'two\n\tlines');
  assert.equal(terminalSafe('\x1b[31mred\x1b[39m'), '\x1b[31mred\x1b[39m', 'colour (SGR) is kept');
  assert.equal(terminalSafe('\x1b[31mred\x1b[39m', false), '\\u001b[31mred\\u001b[39m', 'unless the text is data');
});

test('in JSON text the escapes keep the same value: what a script parses is what was recorded', () => {
  const value = { texts: HOSTILE, nested: { k: HOSTILE.join('') } };
  for (const json of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
    const safe = terminalSafe(json, false);
    assert.equal(/[\u007f-\u009f\u2028\u2029\u202a-\u202e]/.test(safe), false);
    assert.deepEqual(JSON.parse(safe), value);
  }
});
