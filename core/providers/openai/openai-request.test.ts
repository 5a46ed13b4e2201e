import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { collect } from '../collect.ts';
import type { ProviderRequest } from '../contract.ts';
import { startFixtureServer, type FixtureServer } from '../sse/fixture-server.ts';
import { createOpenAiProvider } from './openai-provider.ts';

const TIMEOUTS = { connectMs: 2000, firstByteMs: 2000, idleMs: 2000 };
const DONE = new TextEncoder().encode('data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n');

let server: FixtureServer;
before(async () => {
  server = await startFixtureServer(() => ({ chunks: [DONE] }));
});
after(() => server.close());

export const CONVERSATION: ProviderRequest = {
  model: 'm-1',
  system: 'Be brief.',
  messages: [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] },
    { role: 'tool', toolCallId: 'call_1', name: 'get_weather', content: '{"c":21}' },
    { role: 'user', content: 'Thanks' },
  ],
  tools: [{ name: 'get_weather', description: 'Weather by city', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }],
  parameters: { temperature: 0.2, topP: 0.9, maxTokens: 100, stop: ['END'] },
};

test('openai request body for a conversation with a tool call and a tool result', async () => {
  const turn = await collect(createOpenAiProvider({ baseUrl: server.baseUrl, timeouts: TIMEOUTS }).stream(CONVERSATION));
  assert.equal(turn.text, 'ok');
  const sent = server.requests.at(-1);
  assert.equal(sent?.url, '/chat/completions');
  assert.deepEqual(JSON.parse(sent?.body ?? ''), {
    model: 'm-1',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"c":21}' },
      { role: 'user', content: 'Thanks' },
    ],
    tools: [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
      },
    ],
    temperature: 0.2,
    top_p: 0.9,
    max_tokens: 100,
    stop: ['END'],
    stream: true,
    stream_options: { include_usage: true },
  });
});

test('no Authorization header without a key; a bearer token with one; default model when the request has none', async () => {
  await collect(createOpenAiProvider({ baseUrl: server.baseUrl, model: 'llama3', timeouts: TIMEOUTS }).stream({ model: '', messages: [] }));
  assert.equal(server.requests.at(-1)?.headers.authorization, undefined);
  assert.equal(JSON.parse(server.requests.at(-1)?.body ?? '').model, 'llama3');
  await collect(createOpenAiProvider({ baseUrl: server.baseUrl, apiKey: 'sk-secret', timeouts: TIMEOUTS }).stream({ model: 'x', messages: [] }));
  assert.equal(server.requests.at(-1)?.headers.authorization, 'Bearer sk-secret');
});

test('tolerates local-server chunks: no index or id on continuations, no usage, no finish_reason before [DONE]', async () => {
  const body =
    'data: {"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\\"x\\""}}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}\n\n' +
    'data: {"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}\n\n' +
    'data: [DONE]\n\n';
  const local = await startFixtureServer(() => ({ chunks: [new TextEncoder().encode(body)] }));
  try {
    const turn = await collect(createOpenAiProvider({ baseUrl: local.baseUrl, timeouts: TIMEOUTS }).stream({ model: 'x', messages: [] }));
    assert.deepEqual(turn, {
      text: '',
      toolCalls: [
        { id: 'a', name: 'f', arguments: { x: 1 } },
        { id: 'b', name: 'g', arguments: {} },
      ],
      finish: 'tool_calls',
      finishReason: null,
      usage: null,
      error: null,
      invalidArguments: [],
      route: null,
    });
  } finally {
    await local.close();
  }
});
