import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProviderEvent, ProviderRequest } from '../contract.ts';
import { withRetries } from '../resilience/retries.ts';
import { collectEvents, recordingSleep } from '../resilience/test-fakes.ts';
import { DEFAULT_SCRIPT } from './default-script.ts';
import type { Script } from './script.ts';
import { createScriptedProvider } from './scripted-provider.ts';

const ask = (content: string, signal?: AbortSignal): ProviderRequest => ({
  model: 'scripted',
  messages: [{ role: 'user', content }],
  ...(signal ? { signal } : {}),
});

test('streams chunked text with delays, usage and finish', async () => {
  const sleep = recordingSleep();
  const script: Script = { version: 1, turns: [{ text: 'Hello world', chunkSize: 5, delayMs: 10 }] };
  const events = await collectEvents(createScriptedProvider(script, { sleep }).stream(ask('hi there')));
  assert.deepEqual(events, [
    { type: 'text_delta', text: 'Hello' },
    { type: 'text_delta', text: ' worl' },
    { type: 'text_delta', text: 'd' },
    { type: 'usage', inputTokens: 2, outputTokens: 3 },
    { type: 'finish', reason: 'stop', raw: 'stop' },
  ]);
  assert.deepEqual(sleep.delays, [10, 10, 10]);
});

test('emits tool calls as argument fragments that reassemble to the arguments', async () => {
  const script: Script = {
    version: 1,
    turns: [{ toolCalls: [{ name: 'echo', arguments: { text: 'abc' } }, { id: 'x', name: 'clock', arguments: {} }] }],
  };
  const events = await collectEvents(createScriptedProvider(script).stream(ask('go')));
  assert.deepEqual(events, [
    { type: 'tool_call_delta', index: 0, id: 'call_1_0', name: 'echo', argumentsFragment: '{"text"' },
    { type: 'tool_call_delta', index: 0, argumentsFragment: ':"abc"}' },
    { type: 'tool_call_delta', index: 1, id: 'x', name: 'clock', argumentsFragment: '{' },
    { type: 'tool_call_delta', index: 1, argumentsFragment: '}' },
    { type: 'usage', inputTokens: 1, outputTokens: 4 },
    { type: 'finish', reason: 'tool_calls', raw: 'tool_calls' },
  ]);
});

test('rules match first; plain turns play once each in order; then the script is exhausted', async () => {
  const script: Script = {
    version: 1,
    turns: [{ text: 'one' }, { when: { lastUserMatches: '^ping' }, text: 'pong' }, { text: 'two' }],
  };
  const provider = createScriptedProvider(script);
  const texts: string[] = [];
  for (const message of ['a', 'ping', 'b', 'ping!', 'c']) {
    const events = await collectEvents(provider.stream(ask(message)));
    const first = events[0];
    texts.push(first?.type === 'text_delta' ? first.text : first?.type === 'error' ? first.error.message : '?');
  }
  assert.deepEqual(texts, ['one', 'pong', 'two', 'pong', 'Script of provider "scripted" is exhausted: no turn matches call 5']);
});

test('is deterministic: the same script and requests give the same events', async () => {
  const run = async (): Promise<ProviderEvent[][]> => {
    const provider = createScriptedProvider(DEFAULT_SCRIPT, { sleep: recordingSleep() });
    return Promise.all(['hello', 'echo hi', 'what?'].map((m) => collectEvents(provider.stream(ask(m)))));
  };
  assert.deepEqual(await run(), await run());
});

test('the default script calls echo on "echo ..." and then reports the tool result', async () => {
  const provider = createScriptedProvider(DEFAULT_SCRIPT);
  const call = await collectEvents(provider.stream(ask('echo hi "there"')));
  const args = call
    .flatMap((e) => (e.type === 'tool_call_delta' ? [e.argumentsFragment] : []))
    .join('');
  assert.deepEqual(JSON.parse(args), { text: 'hi "there"' });
  assert.deepEqual(call.at(-1), { type: 'finish', reason: 'tool_calls', raw: 'tool_calls' });

  const after = await collectEvents(
    provider.stream({
      model: 'scripted',
      messages: [
        { role: 'user', content: 'echo hi' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'call_1_0', name: 'echo', arguments: { text: 'hi' } }] },
        { role: 'tool', toolCallId: 'call_1_0', name: 'echo', content: '{"text":"hi"}' },
      ],
    }),
  );
  assert.deepEqual(after[0], { type: 'text_delta', text: 'The tool returned: {"text":"hi"}' });

  const hello = await collectEvents(provider.stream(ask('hello')));
  const text = hello.flatMap((e) => (e.type === 'text_delta' ? [e.text] : [])).join('');
  assert.match(text, /^Hello! I am palyrad's scripted provider/);
});

test('an error turn feeds retries: error first, then success', async () => {
  const script: Script = {
    version: 1,
    turns: [{ error: { code: 'overloaded', message: 'busy', status: 529, retryAfterMs: 40 } }, { text: 'ok' }],
  };
  const sleep = recordingSleep();
  const provider = withRetries(createScriptedProvider(script), { sleep, random: () => 0 });
  const events = await collectEvents(provider.stream(ask('x')));
  assert.deepEqual(events[0], { type: 'text_delta', text: 'ok' });
  assert.deepEqual(sleep.delays, [40]);
});

test('text then error lets tests exercise failures after content', async () => {
  const script: Script = { version: 1, turns: [{ text: 'par', error: { code: 'network', message: 'reset' } }] };
  const events = await collectEvents(createScriptedProvider(script).stream(ask('x')));
  assert.deepEqual(events, [
    { type: 'text_delta', text: 'par' },
    { type: 'error', error: { code: 'network', message: 'reset', retryable: true } },
  ]);
});

test('abort during a delay ends the stream with cancelled', async () => {
  const controller = new AbortController();
  const sleep = (_ms: number, signal?: AbortSignal): Promise<void> => {
    controller.abort();
    return signal?.aborted ? Promise.resolve() : new Promise(() => {});
  };
  const script: Script = { version: 1, turns: [{ text: ['a', 'b'], delayMs: 5 }] };
  const events = await collectEvents(createScriptedProvider(script, { sleep }).stream(ask('x', controller.signal)));
  assert.deepEqual(events, [
    { type: 'error', error: { code: 'cancelled', message: 'Request to provider "scripted" was cancelled', retryable: false } },
  ]);
});
