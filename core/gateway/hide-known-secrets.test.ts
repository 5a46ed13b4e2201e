import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../base/index.ts';
import type { ToolsPort } from '../agent/index.ts';
import { Redactor, redactionMarker } from '../journal/index.ts';
import { failureReceipt, successReceipt, type ToolResult } from '../tools/index.ts';
import { hidingKnownSecrets } from './hide-known-secrets.ts';

const SECRET = 'admin-token-0123456789abcdef';
const MARKER = redactionMarker('known_secret');

function portReturning(result: ToolResult): ToolsPort {
  return { list: [], invoke: async () => result };
}

const invoke = (result: ToolResult) => hidingKnownSecrets(portReturning(result), new Redactor({ knownSecrets: [SECRET] })).invoke('t', {}, new AbortController().signal);

test('a tool output holding a daemon secret reaches the model with a marker and the receipt of what it saw', async () => {
  const output: JsonValue = { stdout: `TOKEN=${SECRET}\n`, exitCode: 0 };
  const seen = await invoke({ ok: true, tool: 'process.run', output, receipt: 'r', durationMs: 3 });
  const hidden = { stdout: `TOKEN=${MARKER}\n`, exitCode: 0 };
  assert.deepEqual(seen, { ok: true, tool: 'process.run', output: hidden, receipt: successReceipt('process.run', JSON.stringify({ exitCode: 0, stdout: hidden.stdout })), durationMs: 3 });
});

test('a failure message holding a secret is hidden too; a clean result passes as it is', async () => {
  const failed = await invoke({ ok: false, tool: 'process.run', error: { code: 'PALYRA_TOOL_FAILED', message: `exit 1: ${SECRET}` }, receipt: 'r', durationMs: 1 });
  const error = { code: 'PALYRA_TOOL_FAILED', message: `exit 1: ${MARKER}` };
  assert.deepEqual(failed, { ok: false, tool: 'process.run', error, receipt: failureReceipt('process.run', error), durationMs: 1 });
  const clean: ToolResult = { ok: true, tool: 'echo', output: { text: 'hi' }, receipt: 'r', durationMs: 0 };
  assert.equal(await invoke(clean), clean);
});

test('an output too deep to check is withheld, not passed on unchecked', async () => {
  let deep: JsonValue = SECRET;
  for (let i = 0; i < 300; i++) deep = [deep];
  const seen = await invoke({ ok: true, tool: 'echo', output: deep, receipt: 'r', durationMs: 0 });
  assert.equal(seen.ok, false);
  assert.deepEqual(!seen.ok && seen.error, { code: 'PALYRA_TOOL_FAILED', message: 'Output of tool "echo" was withheld: it nests too deep to check for secrets' });
});
