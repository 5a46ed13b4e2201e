import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ProviderEvent } from '../contract.ts';
import { sseEvents } from '../sse/sse-events.ts';
import { AnthropicStreamMapper } from './anthropic-events.ts';

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
