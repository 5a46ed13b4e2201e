import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapOpenAiResponse, OpenAiStreamMapper } from './openai-events.ts';

const MALFORMED = { code: 'upstream', message: 'Provider "openai" sent a malformed response: a stream chunk is not JSON', retryable: true };

test('a stream chunk that is not JSON ends the stream with a retryable upstream failure', () => {
  const mapper = new OpenAiStreamMapper('openai');
  assert.deepEqual(mapper.push('{"choices":[{"index":0,"delta":{"content":"a"}}]}'), { events: [{ type: 'text_delta', text: 'a' }], done: false });
  assert.deepEqual(mapper.push('{"choices":[{"index":0,"delta":{"content":'), { events: [{ type: 'error', error: MALFORMED }], done: true });
});

const delta = (toolCalls: unknown): string => JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: toolCalls } }] });
const malformed = (what: string) => ({ code: 'upstream', message: `Provider "openai" sent a malformed response: ${what}`, retryable: true });

test('a tool-call delta without an index continues the call its id names, also when calls interleave', () => {
  const mapper = new OpenAiStreamMapper('openai');
  const events = [
    delta([{ id: 'a', function: { name: 'f', arguments: '{"x":' } }]),
    delta([{ id: 'b', function: { name: 'g', arguments: '{' } }]),
    delta([{ id: 'a', function: { arguments: '1}' } }]),
    delta([{ function: { arguments: '}' } }]),
  ].flatMap((data) => mapper.push(data).events);
  assert.deepEqual(events, [
    { type: 'tool_call_delta', index: 0, id: 'a', name: 'f', argumentsFragment: '{"x":' },
    { type: 'tool_call_delta', index: 1, id: 'b', name: 'g', argumentsFragment: '{' },
    { type: 'tool_call_delta', index: 0, id: 'a', argumentsFragment: '1}' },
    { type: 'tool_call_delta', index: 1, argumentsFragment: '}' },
  ]);
});

test('a chunk with 100 000 tool calls fails fast at the per-turn cap with a non-retryable failure', () => {
  const calls = Array.from({ length: 100_000 }, (_, i) => ({ id: `call_${i}`, function: { name: 'f', arguments: '{}' } }));
  const started = performance.now();
  const { events, done } = new OpenAiStreamMapper('openai').push(delta(calls));
  assert.ok(performance.now() - started < 1000, 'mapping took over a second');
  assert.equal(done, true);
  assert.equal(events.length, 257);
  assert.deepEqual(events.at(-2), { type: 'tool_call_delta', index: 255, id: 'call_255', name: 'f', argumentsFragment: '{}' });
  assert.deepEqual(events.at(-1), {
    type: 'error',
    error: { code: 'upstream', message: 'Provider "openai" sent too much: the turn has more than the 256 tool calls a turn may hold', retryable: false },
  });
});

test('a whole response with more tool calls than the cap is a non-retryable failure', () => {
  const calls = Array.from({ length: 300 }, (_, i) => ({ id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '{}' } }));
  const events = mapOpenAiResponse('openai', { choices: [{ index: 0, message: { tool_calls: calls }, finish_reason: 'tool_calls' }] });
  assert.deepEqual(events.at(-1), {
    type: 'error',
    error: { code: 'upstream', message: 'Provider "openai" sent too much: the turn has more than the 256 tool calls a turn may hold', retryable: false },
  });
});

test('usage that is not a non-negative safe integer counts as 0', () => {
  const usage = (value: unknown) => new OpenAiStreamMapper('openai').push(`{"choices":[],"usage":{"prompt_tokens":${value},"completion_tokens":7}}`).events;
  assert.deepEqual(
    ['"12"', '-5', '1e999', '1.5', '9007199254740993', 'null', '12'].map(usage),
    [0, 0, 0, 0, 0, 0, 12].map((inputTokens) => [{ type: 'usage', inputTokens, outputTokens: 7 }]),
  );
  assert.deepEqual(new OpenAiStreamMapper('openai').push('{"usage":"lots"}').events, []);
});

test('JSON of the wrong shape is a malformed response, not a thrown TypeError', () => {
  const push = (data: string) => new OpenAiStreamMapper('openai').push(data);
  assert.deepEqual(
    ['null', '[1]', '{"choices":{}}', '{"choices":[null]}', '{"choices":[{"delta":"x"}]}', delta({}), delta([null]), delta([{ function: 'f' }]), delta([{ index: '0' }]), delta([{ index: -1 }]), delta([{ id: 5 }])].map(push),
    [
      'a stream chunk is not an object',
      'a stream chunk is not an object',
      '`choices` is not an array',
      'a choice is not an object',
      "a choice's `delta` is not an object",
      '`tool_calls` is not an array',
      'a tool call is not an object',
      "a tool call's `function` is not an object",
      "a tool call's `index` is not a non-negative integer",
      "a tool call's `index` is not a non-negative integer",
      "a tool call's `id` or `name` is not a string",
    ].map((what) => ({ events: [{ type: 'error', error: malformed(what) }], done: true })),
  );
  assert.deepEqual(mapOpenAiResponse('openai', { choices: [{ message: { tool_calls: {} } }] }), [{ type: 'error', error: malformed('`tool_calls` is not an array') }]);
  assert.deepEqual(mapOpenAiResponse('openai', { choices: {} }), [{ type: 'error', error: malformed('`choices` is not an array') }]);
});

test('tool-call arguments sent as an object become its JSON text', () => {
  const { events } = new OpenAiStreamMapper('openai').push(delta([{ index: 0, id: 'a', function: { name: 'echo', arguments: { text: 'hi' } } }]));
  assert.deepEqual(events, [{ type: 'tool_call_delta', index: 0, id: 'a', name: 'echo', argumentsFragment: '{"text":"hi"}' }]);
});
