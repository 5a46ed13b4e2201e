import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PalyraError } from '../../base/index.ts';
import { DEFAULT_SCRIPT } from './default-script.ts';
import { loadScript, parseScript } from './script.ts';

function rejects(value: unknown, message: string): void {
  assert.throws(
    () => parseScript(value, 's.json'),
    (error: unknown) => error instanceof PalyraError && error.code === 'PALYRA_INVALID_ARGUMENT' && error.message === message,
  );
}

test('accepts the default script and a full-featured one', () => {
  assert.deepEqual(parseScript(structuredClone(DEFAULT_SCRIPT)), DEFAULT_SCRIPT);
  const script = {
    version: 1,
    turns: [
      { when: { lastUserMatches: '^hi' }, text: ['a', 'b'], delayMs: 5, usage: { inputTokens: 1, outputTokens: 2 } },
      { toolCalls: [{ id: 'c1', name: 'echo', arguments: { text: 'x' } }], finish: 'tool_calls' },
      { error: { code: 'rate_limited', message: 'slow down', status: 429, retryAfterMs: 100 } },
    ],
  };
  assert.deepEqual(parseScript(script), script);
});

test('names the bad field in each error', () => {
  rejects({ turns: [] }, 'Invalid script "s.json": version is required');
  rejects({ version: 2, turns: [{ text: 'x' }] }, 'Invalid script "s.json": version must be 1');
  rejects({ version: 1, turns: [] }, 'Invalid script "s.json": turns must NOT have fewer than 1 items');
  rejects({ version: 1, turns: [{ txt: 'x' }] }, 'Invalid script "s.json": turns[0].txt is not a known field');
  rejects(
    { version: 1, turns: [{ text: 'x' }, { error: { code: 'boom', message: 'x' } }] },
    'Invalid script "s.json": turns[1].error.code must be one of: auth, rate_limited, overloaded, timeout, bad_request, context_length, upstream, network, cancelled',
  );
  rejects({ version: 1, turns: [{ toolCalls: [{ name: 'echo' }] }] }, 'Invalid script "s.json": turns[0].toolCalls[0].arguments is required');
  rejects({ version: 1, turns: [{ text: 'x', delayMs: -1 }] }, 'Invalid script "s.json": turns[0].delayMs must be >= 0');
  rejects({ version: 1, turns: [{ when: {} }] }, 'Invalid script "s.json": turns[0] needs text, toolCalls or error');
  rejects(
    { version: 1, turns: [{ when: { lastUserMatches: '(' }, text: 'x' }] },
    'Invalid script "s.json": turns[0].when.lastUserMatches is not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
  );
});

test('loadScript reads, parses and validates a file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'palyra-script-'));
  try {
    const good = join(dir, 'good.json');
    await writeFile(good, JSON.stringify({ version: 1, turns: [{ text: 'hi' }] }));
    assert.deepEqual(await loadScript(good), { version: 1, turns: [{ text: 'hi' }] });

    const notJson = join(dir, 'bad.json');
    await writeFile(notJson, '{ nope');
    await assert.rejects(loadScript(notJson), (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_INVALID_JSON');

    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ version: 1, turns: [{ text: 3 }] }));
    await assert.rejects(loadScript(wrong), { message: `Invalid script "${wrong}": turns[0].text must be string or array` });

    await assert.rejects(loadScript(join(dir, 'missing.json')), (e: unknown) => e instanceof PalyraError && e.code === 'PALYRA_IO');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
