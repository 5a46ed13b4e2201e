import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import OpenAI from 'openai';
import { FIXTURE_TOKEN, startGatewayFixture, type GatewayFixture } from '../../../test/helpers/gateway-fixture.ts';
import { createScriptedProvider, parseScript, type ChatMessage, type ModelProvider } from '../../providers/index.ts';
import { registerOpenAiRoutes } from './openai-routes.ts';

const MODEL = 'palyra-test-model';

/** "write …" needs an approval, "echo …" runs the echo tool, "fail" fails the provider, anything else is chunked text. */
const SCRIPT = parseScript({
  version: 1,
  turns: [
    { when: { lastMessageRole: 'tool' }, text: 'tool said {{lastToolResult}}' },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'write ' }, toolCalls: [{ name: 'fs.write', arguments: { path: 'out.txt', content: '{{lastUserRest}}', mode: 'create' } }] },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'echo ' }, toolCalls: [{ name: 'echo', arguments: { text: '{{lastUserRest}}' } }] },
    { when: { lastMessageRole: 'user', lastUserStartsWith: 'fail' }, error: { code: 'overloaded', message: 'busy', retryable: false } },
    { when: {}, text: 'a reply streamed in several small chunks', chunkSize: 5, usage: { inputTokens: 11, outputTokens: 7 } },
  ],
});

/** The scripted provider, recording the messages of every model request. */
function recordingProvider(): { provider: ModelProvider; seen: ChatMessage[][] } {
  const inner = createScriptedProvider(SCRIPT);
  const seen: ChatMessage[][] = [];
  return {
    seen,
    provider: {
      id: inner.id,
      stream: (request) => {
        seen.push(request.messages.map((m) => ({ ...m })));
        return inner.stream(request);
      },
    },
  };
}

async function withSurface(body: (ctx: { fx: GatewayFixture; client: OpenAI; seen: ChatMessage[][] }) => Promise<void>): Promise<void> {
  const { provider, seen } = recordingProvider();
  const fx = await startGatewayFixture({ provider, model: MODEL, extraRoutes: (router, gateway) => registerOpenAiRoutes(router, { gateway, model: MODEL }) });
  const client = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: FIXTURE_TOKEN, maxRetries: 0 });
  try {
    await body({ fx, client, seen });
  } finally {
    await fx.close();
  }
}

test('a non-streaming completion runs the tool under policy and returns the answer with usage', async () => {
  await withSurface(async ({ fx, client }) => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'ignored' }, { role: 'user', content: 'echo hi' }] });
    const [run] = fx.gateway.listRuns();
    assert.ok(run);
    assert.equal(completion.id, `chatcmpl-${run.runId}`);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, MODEL);
    assert.equal(completion.created, Math.floor(run.createdAt / 1000));
    assert.deepEqual(completion.choices, [{ index: 0, message: { role: 'assistant', content: 'tool said {"text":"hi"}', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    const counters = run.counters;
    assert.ok(counters && counters.toolCalls === 1);
    assert.deepEqual(completion.usage, { prompt_tokens: counters.inputTokens, completion_tokens: counters.outputTokens, total_tokens: counters.inputTokens + counters.outputTokens });
    assert.ok((completion.usage?.total_tokens ?? 0) > 0);
    assert.equal(fx.gateway.sessions.resolve(run.sessionId).channel, 'openai');
  });
});

test('a streamed completion arrives in several chunks that join to the answer, then usage', async () => {
  await withSurface(async ({ fx, client }) => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const [run] = fx.gateway.listRuns();
    assert.ok(run);
    assert.ok(chunks.every((c) => c.id === `chatcmpl-${run.runId}` && c.object === 'chat.completion.chunk' && c.model === MODEL));
    assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
    const contents = chunks.map((c) => c.choices[0]?.delta.content).filter((t): t is string => typeof t === 'string' && t !== '');
    assert.ok(contents.length > 3, `expected several content chunks, got ${contents.length}`);
    assert.equal(contents.join(''), 'a reply streamed in several small chunks');
    assert.equal(contents.join(''), run.finalText);
    assert.deepEqual(chunks.at(-2)?.choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual({ choices: chunks.at(-1)?.choices, usage: chunks.at(-1)?.usage }, { choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
  });
});

test('a stream without include_usage has no usage chunk', async () => {
  await withSurface(async ({ client }) => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'echo streamed' }], stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'tool said {"text":"streamed"}');
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
    assert.ok(chunks.every((c) => c.usage === undefined));
  });
});

test('a wrong API key is an AuthenticationError', async () => {
  await withSurface(async ({ fx }) => {
    const wrong = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: 'not-the-token', maxRetries: 0 });
    await assert.rejects(wrong.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] }), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
    assert.deepEqual(fx.gateway.listRuns(), []);
  });
});

test('requests with the same user share a session: the second run sees the first exchange', async () => {
  await withSurface(async ({ fx, client, seen }) => {
    const first = await client.chat.completions.create({ model: MODEL, user: 'alice', messages: [{ role: 'user', content: 'hello' }] });
    // A client resending the whole conversation: only the newest user message is admitted.
    const second = await client.chat.completions.create({
      model: MODEL,
      user: 'alice',
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: first.choices[0]?.message.content ?? '' },
        { role: 'user', content: 'echo again' },
      ],
    });
    await client.chat.completions.create({ model: MODEL, user: 'bob', messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(second.choices[0]?.message.content, 'tool said {"text":"again"}');
    assert.deepEqual(
      seen[1]?.map((m) => [m.role, m.content]),
      [
        ['user', 'hello'],
        ['assistant', 'a reply streamed in several small chunks'],
        ['user', 'echo again'],
      ],
    );
    assert.deepEqual(seen.at(-1)?.map((m) => [m.role, m.content]), [['user', 'hello']], 'bob has a session of his own');
    const alice = fx.gateway.sessions.resolve('openai:alice');
    assert.equal(fx.gateway.listRuns({ sessionId: alice.id }).length, 2);
    assert.notEqual(fx.gateway.sessions.resolve('openai:bob').id, alice.id);
  });
});

test('the x-palyra-session header picks an existing session; without user or header each request gets a new one', async () => {
  await withSurface(async ({ fx, client }) => {
    const { session } = await fx.gateway.sessions.create({ key: 'ops', label: 'Operations' });
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-palyra-session': 'Operations' } });
    assert.equal(fx.gateway.listRuns({ sessionId: session.id }).length, 1);
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] });
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(new Set(fx.gateway.listRuns().map((r) => r.sessionId)).size, 3);
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-palyra-session': 'nope' } }),
      (e) => e instanceof OpenAI.NotFoundError && /No session "nope"/.test(e.message),
    );
  });
});

test('an Idempotency-Key makes a retried request return the first run instead of starting another', async () => {
  await withSurface(async ({ fx, client }) => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'echo once' }] };
    const a = await client.chat.completions.create(body, { headers: { 'Idempotency-Key': 'req-1' } });
    const b = await client.chat.completions.create(body, { headers: { 'Idempotency-Key': 'req-1' } });
    assert.equal(b.id, a.id);
    assert.equal(b.choices[0]?.message.content, 'tool said {"text":"once"}');
    assert.equal(fx.gateway.listRuns().length, 1);
    // The same key with another request is refused, not answered with the first run's answer.
    const other = { model: MODEL, messages: [{ role: 'user' as const, content: 'echo twice' }] };
    await assert.rejects(client.chat.completions.create(other, { headers: { 'Idempotency-Key': 'req-1' } }), (e) => e instanceof OpenAI.ConflictError);
    assert.equal(fx.gateway.listRuns().length, 1);
    // A key the gateway would refuse is refused before a session is made for it.
    const sessions = fx.gateway.sessions.list().length;
    await assert.rejects(client.chat.completions.create(body, { headers: { 'Idempotency-Key': 'k'.repeat(300) } }), (e) => e instanceof OpenAI.BadRequestError);
    assert.equal(fx.gateway.sessions.list().length, sessions);
  });
});

test('a call that needs an approval waits for it and completes once approved', async () => {
  await withSurface(async ({ fx, client }) => {
    const pending = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'write hello' }] });
    let approvals = fx.approvals.pending();
    for (let i = 0; i < 500 && approvals.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      approvals = fx.approvals.pending();
    }
    assert.equal(approvals.length, 1);
    assert.equal(approvals[0]?.request.tool.name, 'fs.write');
    await fx.approvals.resolve(approvals[0]?.id as string, { type: 'approve', scope: 'once', by: 'test', bindArgs: true });
    const completion = await pending;
    assert.match(completion.choices[0]?.message.content ?? '', /^tool said /);
    assert.equal(readFileSync(join(fx.workspace, 'out.txt'), 'utf8'), 'hello');
  });
});

test('a provider failure is a 502 APIError naming the reason, not retried, also mid-stream', async () => {
  await withSurface(async ({ fx }) => {
    const retrying = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: FIXTURE_TOKEN, maxRetries: 2 });
    await assert.rejects(retrying.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'fail now' }] }), (e) => {
      assert.ok(e instanceof OpenAI.InternalServerError);
      assert.equal(e.status, 502);
      assert.match(e.message, /^502 Run "run_[^"]+" failed: provider: overloaded: busy$/);
      assert.equal(e.code, 'run_failed');
      return true;
    });
    assert.equal(fx.gateway.listRuns().length, 1, 'x-should-retry: false keeps the client from starting another run');
    const stream = await retrying.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'fail again' }], stream: true });
    const texts: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) texts.push(chunk.choices[0]?.delta.content ?? '');
      })(),
      (e) => e instanceof OpenAI.APIError && /failed: provider: overloaded: busy/.test(e.message) && e.code === 'run_failed',
    );
    assert.deepEqual(texts, ['']);
  });
});

test('malformed requests are OpenAI-shaped 400s the client raises as BadRequestError', async () => {
  await withSurface(async ({ fx, client }) => {
    const cases: Array<[unknown, RegExp]> = [
      [{ model: MODEL, messages: [] }, /messages must be a non-empty array/],
      [{ model: MODEL, messages: [{ role: 'assistant', content: 'hi' }] }, /last message must be a user message/],
      [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], n: 2 }, /n must be 1/],
      [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }, { role: 'tool', tool_call_id: 'x', content: '{}' }] }, /takes no tool results/],
      [{ model: MODEL, messages: [{ role: 'user', content: 'hi' }], user: 'has spaces' }, /user must be/],
    ];
    for (const [body, message] of cases) {
      await assert.rejects(client.chat.completions.create(body as never), (e) => e instanceof OpenAI.BadRequestError && message.test(e.message) && e.type === 'invalid_request_error');
    }
    const res = await fetch(`${fx.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${FIXTURE_TOKEN}`, 'content-type': 'application/json' }, body: '{"messages":' });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: { message: 'Request body is not valid JSON', type: 'invalid_request_error', code: 'PALYRA_INVALID_JSON', param: null } });
    assert.equal(fx.gateway.listRuns().length, 0);
  });
});

test('GET /v1/models lists the daemon model', async () => {
  await withSurface(async ({ client }) => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    assert.deepEqual(models.map((m) => ({ ...m, created: typeof m.created })), [{ id: MODEL, object: 'model', created: 'number', owned_by: 'palyrad' }]);
    assert.equal((await client.models.retrieve(MODEL)).id, MODEL);
    await assert.rejects(client.models.retrieve('other'), OpenAI.NotFoundError);
  });
});

test('a client that drops a stream does not cancel the run: it completes once approved', async () => {
  await withSurface(async ({ fx, client }) => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'write bye' }], stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    assert.deepEqual((await iterator.next()).value?.choices[0]?.delta, { role: 'assistant', content: '' });
    let approvals = fx.approvals.pending();
    for (let i = 0; i < 500 && approvals.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      approvals = fx.approvals.pending();
    }
    assert.equal(approvals.length, 1);
    stream.controller.abort();
    await new Promise((r) => setTimeout(r, 50));
    const [run] = fx.gateway.listRuns();
    assert.equal(run?.state, 'waiting');
    await fx.approvals.resolve(approvals[0]?.id as string, { type: 'approve', scope: 'once', by: 'test', bindArgs: true });
    assert.equal((await fx.gateway.waitFor(run.runId)).state, 'completed');
    assert.equal(readFileSync(join(fx.workspace, 'out.txt'), 'utf8'), 'bye');
  });
});
