import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collect } from './collect.ts';
import type { ProviderEvent } from './contract.ts';

async function* events(list: ProviderEvent[]): AsyncGenerator<ProviderEvent> {
  yield* list;
}

test('collect orders tool calls by index, keeps first id and name, parses arguments, keeps the last usage', async () => {
  const turn = await collect(
    events([
      { type: 'text_delta', text: 'Hel' },
      { type: 'tool_call_delta', index: 1, id: 'b', name: 'g', argumentsFragment: '' },
      { type: 'tool_call_delta', index: 0, id: 'a', name: 'f', argumentsFragment: '{"x":' },
      { type: 'text_delta', text: 'lo' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '1}' },
      { type: 'tool_call_delta', index: 2, id: 'c', name: 'h', argumentsFragment: '{bad' },
      { type: 'usage', inputTokens: 1, outputTokens: 1 },
      { type: 'usage', inputTokens: 5, outputTokens: 7 },
      { type: 'finish', reason: 'tool_calls', raw: 'tool_use' },
    ]),
  );
  assert.deepEqual(turn, {
    text: 'Hello',
    toolCalls: [
      { id: 'a', name: 'f', arguments: { x: 1 } },
      { id: 'b', name: 'g', arguments: {} },
      { id: 'c', name: 'h', arguments: '{bad' },
    ],
    finish: 'tool_calls',
    finishReason: 'tool_use',
    usage: { inputTokens: 5, outputTokens: 7 },
    error: null,
    invalidArguments: [2],
    route: null,
  });
});

test('collect keeps the last route the stream named', async () => {
  const failure = { code: 'overloaded' as const, message: 'busy', retryable: true };
  const first = { providerId: 'a', model: 'big', failedOver: [] };
  const second = { providerId: 'b', model: 'small', failedOver: [{ providerId: 'a', model: 'big', error: failure }] };
  const turn = await collect(events([{ type: 'route', route: first }, { type: 'route', route: second }, { type: 'text_delta', text: 'hi' }]));
  assert.deepEqual([turn.route, turn.text], [second, 'hi']);
});

test('calls sent without an id get the prefix and their index; ids the provider sent stay', async () => {
  const calls: ProviderEvent[] = [
    { type: 'tool_call_delta', index: 0, name: 'echo', argumentsFragment: '{}' },
    { type: 'tool_call_delta', index: 1, id: 'sent', name: 'echo', argumentsFragment: '{}' },
  ];
  const unprefixed = await collect(events(calls));
  const prefixed = await collect(events(calls), { callIdPrefix: 'call_req-7_' });
  assert.deepEqual([unprefixed.toolCalls.map((c) => c.id), prefixed.toolCalls.map((c) => c.id)], [['call_0', 'sent'], ['call_req-7_0', 'sent']]);
});

test('a continuation delta naming another id or tool does not rename the call', async () => {
  const turn = await collect(
    events([
      { type: 'tool_call_delta', index: 0, id: 'call_a', name: 'fs.read', argumentsFragment: '{"path":' },
      { type: 'tool_call_delta', index: 0, id: 'call_b', name: 'fs.write', argumentsFragment: '"a.txt"}' },
    ]),
  );
  assert.deepEqual(turn.toolCalls, [{ id: 'call_a', name: 'fs.read', arguments: { path: 'a.txt' } }]);
});

test('collect of an error-only stream', async () => {
  const error = { code: 'cancelled' as const, message: 'x', retryable: false };
  const turn = await collect(events([{ type: 'error', error }]));
  assert.deepEqual([turn.text, turn.toolCalls, turn.finish, turn.error], ['', [], null, error]);
});

test('a provider numbering calls from 1: invalid arguments are marked by position in toolCalls', async () => {
  const turn = await collect(
    events([
      { type: 'tool_call_delta', index: 1, id: 'c1', name: 'echo', argumentsFragment: '{"text": broken' },
      { type: 'tool_call_delta', index: 2, id: 'c2', name: 'echo', argumentsFragment: '{"text":"fine"}' },
    ]),
  );
  assert.deepEqual(turn.toolCalls.map((c) => c.id), ['c1', 'c2']);
  assert.deepEqual(turn.invalidArguments, [0]);
});
