import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { collect, type CollectedTurn } from '../collect.ts';
import type { ProviderRequest } from '../contract.ts';
import { cutBytes, startFixtureServer, type FixtureServer, type ScriptedResponse } from '../sse/fixture-server.ts';
import { createAnthropicProvider } from './anthropic-provider.ts';
import { toAnthropicBody } from './anthropic-request.ts';

const DIR = new URL('../../../fixtures/providers/anthropic/', import.meta.url);
const TIMEOUTS = { connectMs: 2000, firstByteMs: 2000, idleMs: 2000 };
const REQUEST: ProviderRequest = { model: 'claude-test', messages: [{ role: 'user', content: 'hi' }] };

let next: ScriptedResponse = {};
let server: FixtureServer;
before(async () => {
  server = await startFixtureServer(() => next);
});
after(() => server.close());

const provider = (stream = true) => createAnthropicProvider({ baseUrl: server.baseUrl, apiKey: 'sk-ant-test', timeouts: TIMEOUTS, stream });

/**
 * SOURCES.md's view mapped to ours. One documented difference: usage is reported once, from
 * message_delta, so a stream that fails before message_delta has `usage: null`.
 */
function expectedTurn(expected: Record<string, unknown>): Record<string, unknown> {
  const { error, ...rest } = expected as { error?: { message: string; type: string } };
  if (error === undefined) return { ...rest, error: null };
  return { ...rest, usage: null, error: { code: 'overloaded', retryable: true, providerCode: error.type, message: `Provider "anthropic" failed: ${error.message}` } };
}

function actualTurn(turn: CollectedTurn): Record<string, unknown> {
  const e = turn.error;
  return {
    text: turn.text,
    toolCalls: turn.toolCalls,
    finishReason: turn.finishReason,
    usage: turn.usage,
    error: e === null ? null : { code: e.code, retryable: e.retryable, providerCode: e.providerCode, message: e.message },
  };
}

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.sse'))) {
  test(`anthropic stream fixture ${file}: whole and cut at random chunk boundaries`, async () => {
    const bytes = new Uint8Array(readFileSync(new URL(file, DIR)));
    const expected = expectedTurn(JSON.parse(readFileSync(new URL(file.replace(/\.sse$/, '.expected.json'), DIR), 'utf8')));
    for (const [seed, size] of [[0, bytes.length], [1, 1], [2, 5], [3, 64], [4, 700]] as const) {
      next = { chunks: seed === 0 ? [bytes] : cutBytes(bytes, seed, size) };
      assert.deepEqual(actualTurn(await collect(provider().stream(REQUEST))), expected, `seed ${seed}, max chunk ${size}`);
    }
  });
}

for (const file of ['message-text.json', 'message-tool-use.json', 'message-text-and-tool-use.json']) {
  test(`anthropic non-streaming fixture ${file} maps to the same events`, async () => {
    const json = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'));
    next = { headers: { 'content-type': 'application/json' }, chunks: [readFileSync(new URL(file, DIR))] };
    const turn = await collect(provider(false).stream(REQUEST));
    type Block = { type: string; text?: string; id?: string; name?: string; input?: unknown };
    const blocks: Block[] = json.content;
    assert.deepEqual(actualTurn(turn), {
      text: blocks.filter((b) => b.type === 'text').map((b) => b.text).join(''),
      toolCalls: blocks.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, arguments: b.input })),
      finishReason: json.stop_reason,
      usage: { inputTokens: json.usage.input_tokens, outputTokens: json.usage.output_tokens },
      error: null,
    });
  });
}

test('anthropic request body and headers for a conversation with a tool call and a tool result', async () => {
  next = { chunks: [readFileSync(new URL('messages-stream-text.sse', DIR))] };
  const request: ProviderRequest = {
    model: 'claude-x',
    system: 'Be brief.',
    messages: [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        toolCalls: [
          { id: 'toolu_1', name: 'get_weather', arguments: { city: 'Paris' } },
          { id: 'toolu_2', name: 'get_weather', arguments: { city: 'Rome' } },
        ],
      },
      { role: 'tool', toolCallId: 'toolu_1', name: 'get_weather', content: '21C' },
      { role: 'tool', toolCallId: 'toolu_2', name: 'get_weather', content: 'unavailable', isError: true },
      { role: 'user', content: 'Thanks' },
    ],
    tools: [{ name: 'get_weather', description: 'Weather by city', inputSchema: { type: 'object' } }],
    parameters: { temperature: 0, maxTokens: 50, stop: ['END'] },
  };
  await collect(provider().stream(request));
  const sent = server.requests.at(-1);
  assert.equal(sent?.url, '/v1/messages');
  assert.deepEqual([sent?.headers['x-api-key'], sent?.headers['anthropic-version'], sent?.headers.authorization], ['sk-ant-test', '2023-06-01', undefined]);
  assert.deepEqual(JSON.parse(sent?.body ?? ''), {
    model: 'claude-x',
    max_tokens: 50,
    system: 'Be brief.',
    messages: [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '21C' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'unavailable', is_error: true },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ],
    tools: [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object' } }],
    temperature: 0,
    stop_sequences: ['END'],
    stream: true,
  });
});

test('HTTP 529 overloaded through the adapter is overloaded and retryable', async () => {
  next = { status: 529, headers: { 'content-type': 'application/json' }, chunks: [readFileSync(new URL('error-529-overloaded.json', DIR))] };
  const turn = await collect(provider().stream(REQUEST));
  assert.deepEqual(turn.error, { code: 'overloaded', message: 'Provider "anthropic" failed (HTTP 529): Overloaded', status: 529, retryable: true, providerCode: 'overloaded_error' });
});

test('the key is scrubbed from an in-stream error event', async () => {
  const event = { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key sk-ant-test' } };
  next = { chunks: [Buffer.from(`event: error\ndata: ${JSON.stringify(event)}\n\n`)] };
  const turn = await collect(provider().stream(REQUEST));
  assert.deepEqual(turn.error, { code: 'auth', message: 'Provider "anthropic" failed: invalid x-api-key [redacted]', retryable: false, providerCode: 'authentication_error' });
});

test('a tool call whose arguments are not an object is sent back with input {}', () => {
  const request: ProviderRequest = {
    model: 'm',
    messages: [
      { role: 'user', content: 'write' },
      {
        role: 'assistant',
        content: null,
        toolCalls: [
          { id: 'toolu_1', name: 'fs.write', arguments: '{"path":"a.txt","content":"lorem ips' },
          { id: 'toolu_2', name: 'f', arguments: [1, 2] },
          { id: 'toolu_3', name: 'g', arguments: { ok: true } },
        ],
      },
    ],
  };
  const body = toAnthropicBody(request, { model: 'm', stream: true }) as { messages: Array<{ content: unknown }> };
  assert.deepEqual(body.messages[1]?.content, [
    { type: 'tool_use', id: 'toolu_1', name: 'fs.write', input: {} },
    { type: 'tool_use', id: 'toolu_2', name: 'f', input: {} },
    { type: 'tool_use', id: 'toolu_3', name: 'g', input: { ok: true } },
  ]);
});

test('a request without maxTokens is sent with max_tokens 4096, which the Messages API requires', () => {
  assert.deepEqual(toAnthropicBody(REQUEST, { model: 'claude-test', stream: false }), {
    model: 'claude-test',
    max_tokens: 4096,
    messages: [{ role: 'user', content: 'hi' }],
    stream: false,
  });
});
