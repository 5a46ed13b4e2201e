import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ProviderEvent } from '../contract.ts';
import { sseEvents } from '../sse/sse-events.ts';
import { AnthropicStreamMapper, mapAnthropicMessage } from './anthropic-events.ts';

const DIR = new URL('../../../fixtures/providers/anthropic/', import.meta.url);

async function* bytesOf(file: string): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(readFileSync(new URL(file, DIR)));
}

/** Every event the mapper emits for a recorded stream, `end()` included. */
async function mapFixture(file: string): Promise<ProviderEvent[]> {
  const mapper = new AnthropicStreamMapper('anthropic');
  const events: ProviderEvent[] = [];
  for await (const sse of sseEvents(bytesOf(file))) events.push(...mapper.push(sse.data).events);
  return [...events, ...mapper.end()];
}

test('a tool_use block after a text block is tool call 0: tool calls are indexed densely, not by content block', async () => {
  // The recorded stream has the text in content block 0 and the tool call in block 1.
  const toolDeltas = (await mapFixture('messages-stream-tool-use.sse')).filter((e) => e.type === 'tool_call_delta');
  assert.deepEqual(toolDeltas, [
    { type: 'tool_call_delta', index: 0, id: 'toolu_01NRLabsLyVHZPKxbKvkfSMn', name: 'get_weather', argumentsFragment: '' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: '{"locati' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: 'on": "P' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: 'ar' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: 'is"}' },
  ]);
});

test('tool calls between text blocks are numbered 0, 1 in block order', () => {
  const mapper = new AnthropicStreamMapper('anthropic');
  const payloads = [
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'a' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } } },
    { type: 'content_block_stop', index: 1 },
    { type: 'content_block_start', index: 2, content_block: { type: 'text', text: 'b' } },
    { type: 'content_block_stop', index: 2 },
    { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 't2', name: 'g', input: {} } },
    { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{"y":2}' } },
    { type: 'content_block_stop', index: 3 },
  ];
  assert.deepEqual(
    payloads.flatMap((p) => mapper.push(JSON.stringify(p)).events),
    [
      { type: 'text_delta', text: 'a' },
      { type: 'tool_call_delta', index: 0, id: 't1', name: 'f', argumentsFragment: '' },
      { type: 'tool_call_delta', index: 0, argumentsFragment: '{"x":1}' },
      { type: 'text_delta', text: 'b' },
      { type: 'tool_call_delta', index: 1, id: 't2', name: 'g', argumentsFragment: '' },
      { type: 'tool_call_delta', index: 1, argumentsFragment: '{"y":2}' },
    ],
  );
});

test('a stream that ends before message_stop is a retryable upstream failure, not a finished turn', () => {
  const mapper = new AnthropicStreamMapper('anthropic');
  mapper.push(JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 3, output_tokens: 1 } } }));
  mapper.push(JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  mapper.push(JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }));
  assert.deepEqual(mapper.end(), [
    { type: 'error', error: { code: 'upstream', message: 'Provider "anthropic" sent a malformed response: the stream ended before message_stop', retryable: true } },
  ]);
});

test('a stream event that is not JSON ends the stream with an upstream failure', () => {
  const mapper = new AnthropicStreamMapper('anthropic');
  assert.deepEqual(mapper.push('{"type":"content_block_delta",'), {
    events: [{ type: 'error', error: { code: 'upstream', message: 'Provider "anthropic" sent a malformed response: a stream event is not JSON', retryable: true } }],
    done: true,
  });
});

const TOO_MANY = { code: 'upstream', message: 'Provider "anthropic" sent too much: the turn has more than the 256 tool calls a turn may hold', retryable: false };
const toolStart = (index: number): string => JSON.stringify({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: `toolu_${index}`, name: 'f', input: {} } });

test('a tool_use block past the per-turn cap of 256 tool calls ends the stream with a non-retryable failure', () => {
  const mapper = new AnthropicStreamMapper('anthropic');
  for (let i = 0; i < 256; i++) assert.equal(mapper.push(toolStart(i)).done, false);
  assert.deepEqual(mapper.push(toolStart(256)), { events: [{ type: 'error', error: TOO_MANY }], done: true });
  const content = Array.from({ length: 300 }, (_, i) => ({ type: 'tool_use', id: `toolu_${i}`, name: 'f', input: {} }));
  const whole = mapAnthropicMessage('anthropic', { type: 'message', content, stop_reason: 'tool_use', usage: { input_tokens: 1, output_tokens: 1 } });
  assert.deepEqual([whole.length, whole.at(-1)], [2 * 256 + 1, { type: 'error', error: TOO_MANY }]);
});

test('usage that is not a non-negative safe integer counts as absent', () => {
  const mapper = new AnthropicStreamMapper('anthropic');
  mapper.push('{"type":"message_start","message":{"usage":{"input_tokens":"12","output_tokens":-4}}}');
  assert.deepEqual(mapper.push('{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1e999}}').events, [{ type: 'usage', inputTokens: 0, outputTokens: 0 }]);
  assert.deepEqual(mapper.push('{"type":"message_delta","delta":{},"usage":{"input_tokens":9,"output_tokens":"5"}}').events, [{ type: 'usage', inputTokens: 9, outputTokens: 0 }]);
  assert.deepEqual(
    mapAnthropicMessage('anthropic', { content: [], stop_reason: 'end_turn', usage: { input_tokens: -1, output_tokens: '3' } }),
    [{ type: 'usage', inputTokens: 0, outputTokens: 0 }, { type: 'finish', reason: 'stop', raw: 'end_turn' }],
  );
});

test('JSON of the wrong shape is a malformed response or ignored, never a thrown TypeError', () => {
  const malformed = (what: string) => ({ events: [{ type: 'error', error: { code: 'upstream', message: `Provider "anthropic" sent a malformed response: ${what}`, retryable: true } }], done: true });
  const push = (data: string) => new AnthropicStreamMapper('anthropic').push(data);
  assert.deepEqual(
    ['null', '"ping"', '{"type":"content_block_delta","index":"0","delta":{}}', '{"type":"message_delta","delta":"x"}', '{"type":"message_start","message":{"usage":5}}'].map(push),
    [
      malformed('a stream event is not an object'),
      malformed('a stream event is not an object'),
      malformed("an event's `index` is not a non-negative integer"),
      malformed("an event's `delta` is not an object"),
      malformed("a message's `usage` is not an object"),
    ],
  );
  // A block that is not an object is skipped, like a block type added later.
  assert.deepEqual(push('{"type":"content_block_start","index":0,"content_block":"x"}'), { events: [], done: false });
  assert.deepEqual(mapAnthropicMessage('anthropic', { content: {} }), [
    { type: 'error', error: { code: 'upstream', message: 'Provider "anthropic" sent a malformed response: `content` is not an array', retryable: true } },
  ]);
  assert.deepEqual(mapAnthropicMessage('anthropic', { content: [null, { type: 'tool_use', id: 7, name: 'f', input: { a: 1 } }], stop_reason: 5 }), [
    { type: 'tool_call_delta', index: 0, name: 'f', argumentsFragment: '' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: '{"a":1}' },
    { type: 'usage', inputTokens: 0, outputTokens: 0 },
    { type: 'finish', reason: 'other', raw: null },
  ]);
});
