import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { collect, type CollectedTurn } from '../collect.ts';
import type { ProviderRequest } from '../contract.ts';
import { cutBytes, startFixtureServer, type FixtureServer, type ScriptedResponse } from '../sse/fixture-server.ts';
import { createOpenAiProvider } from './openai-provider.ts';

const DIR = new URL('../../../fixtures/providers/openai/', import.meta.url);
const TIMEOUTS = { connectMs: 2000, firstByteMs: 2000, idleMs: 2000 };
const REQUEST: ProviderRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] };

let next: ScriptedResponse = {};
let server: FixtureServer;
before(async () => {
  server = await startFixtureServer(() => next);
});
after(() => server.close());

function provider(extra: { stream?: boolean; apiKey?: string } = {}) {
  return createOpenAiProvider({ baseUrl: `${server.baseUrl}/v1/`, timeouts: TIMEOUTS, ...extra });
}

/** The test's view of a turn in SOURCES.md terms: refusal text is part of our text. */
function expectedTurn(expected: Record<string, unknown>): Record<string, unknown> {
  const { refusal, error, ...rest } = expected as { text: string; refusal?: string; error?: { message: string; type: string; code: string | null } };
  const out: Record<string, unknown> = { ...rest, text: `${rest.text}${refusal ?? ''}` };
  out.error = error === undefined ? null : { providerCode: error.code ?? error.type, message: `Provider "openai" failed: ${error.message}` };
  return out;
}

function actualTurn(turn: CollectedTurn): Record<string, unknown> {
  return {
    text: turn.text,
    toolCalls: turn.toolCalls,
    finishReason: turn.finishReason,
    usage: turn.usage,
    error: turn.error === null ? null : { providerCode: turn.error.providerCode, message: turn.error.message },
  };
}

const SSE_FILES = readdirSync(DIR).filter((f) => f.endsWith('.sse'));

for (const file of SSE_FILES) {
  test(`openai stream fixture ${file}: whole and cut at random chunk boundaries`, async () => {
    const bytes = new Uint8Array(readFileSync(new URL(file, DIR)));
    const expected = expectedTurn(JSON.parse(readFileSync(new URL(file.replace(/\.sse$/, '.expected.json'), DIR), 'utf8')));
    // 1-byte chunks over TCP cost one write each; the 100 KB file gets small random cuts instead.
    const cuts: [number, number][] = [[0, bytes.length], [1, 7], [2, 64], [3, 1000], [4, bytes.length > 20000 ? 16 : 1]];
    for (const [seed, size] of cuts) {
      next = { chunks: seed === 0 ? [bytes] : cutBytes(bytes, seed, size) };
      const turn = await collect(provider().stream(REQUEST));
      assert.deepEqual(actualTurn(turn), expected, `seed ${seed}, max chunk ${size}`);
    }
  });
}

test('refusal is text with finish content_filter; in-stream error is classified upstream, retryable', async () => {
  next = { chunks: [readFileSync(new URL('chat-stream-refusal.sse', DIR))] };
  const refusal = await collect(provider().stream(REQUEST));
  assert.equal(refusal.finish, 'content_filter');
  next = { chunks: [readFileSync(new URL('chat-stream-error-first-chunk.sse', DIR))] };
  const failed = await collect(provider().stream(REQUEST));
  assert.equal(failed.error?.code, 'upstream');
  assert.equal(failed.error?.retryable, true);
});

const JSON_CASES: [string, string][] = [
  ['chat-text.json', 'chat-stream-include-usage'],
  ['chat-tool-call.json', 'chat-stream-tool-call'],
  ['chat-tool-calls-parallel.json', 'chat-stream-parallel-tool-calls'],
];

for (const [file] of JSON_CASES) {
  test(`openai non-streaming fixture ${file} maps to the same events`, async () => {
    const json = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'));
    next = { headers: { 'content-type': 'application/json' }, chunks: [readFileSync(new URL(file, DIR))] };
    const turn = await collect(provider({ stream: false }).stream(REQUEST));
    const message = json.choices[0].message;
    assert.deepEqual(actualTurn(turn), {
      text: message.content ?? '',
      toolCalls: (message.tool_calls ?? []).map((c: { id: string; function: { name: string; arguments: string } }) => ({
        id: c.id,
        name: c.function.name,
        arguments: JSON.parse(c.function.arguments),
      })),
      finishReason: json.choices[0].finish_reason,
      usage: { inputTokens: json.usage.prompt_tokens, outputTokens: json.usage.completion_tokens },
      error: null,
    });
    const sent = JSON.parse(server.requests.at(-1)?.body ?? '{}');
    assert.equal(sent.stream, false);
    assert.equal(sent.stream_options, undefined);
  });
}

test('a whole (non-streaming) response whose tool calls have neither index nor id gives one call per entry', async () => {
  const body = {
    choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [
      { type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
      { type: 'function', function: { name: 'g', arguments: '{"b":2}' } },
    ] } }],
    usage: { prompt_tokens: 3, completion_tokens: 4 },
  };
  next = { headers: { 'content-type': 'application/json' }, chunks: [Buffer.from(JSON.stringify(body))] };
  const turn = await collect(provider({ stream: false }).stream(REQUEST));
  assert.deepEqual(turn.toolCalls.map((c) => [c.name, c.arguments]), [['f', { a: 1 }], ['g', { b: 2 }]]);
  assert.deepEqual([turn.invalidArguments, turn.finish], [[], 'tool_calls']);
});

test('tool-call deltas without index and with an empty id continue the current call', async () => {
  const delta = (call: object, finish: string | null = null) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: [call] }, finish_reason: finish }] })}\n\n`;
  const body = [
    delta({ id: 'call_a', function: { name: 'f', arguments: '' } }),
    delta({ id: '', function: { name: '', arguments: '{"a":' } }),
    delta({ id: '', function: { arguments: '1}' } }),
    delta({ id: 'call_b', function: { name: 'g', arguments: '{}' } }, 'tool_calls'),
    'data: [DONE]\n\n',
  ].join('');
  next = { chunks: [Buffer.from(body)] };
  const turn = await collect(provider().stream(REQUEST));
  assert.deepEqual([turn.toolCalls, turn.invalidArguments, turn.finish], [
    [
      { id: 'call_a', name: 'f', arguments: { a: 1 } },
      { id: 'call_b', name: 'g', arguments: {} },
    ],
    [],
    'tool_calls',
  ]);
});
