/**
 * The daemon's provider stack (providerFromConfig) under a real run journaled as the
 * daemon does: each model turn's record names the provider and model that answered and
 * the providers that failed over before it, without their keys; and tool calls an
 * OpenAI-compatible server sends without ids get ids unique in the run.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { replayTape, runAgent, type ModelResponsePayload, type TapeEvent } from '../core/agent/index.ts';
import { harness, input } from '../core/agent/test-fakes.ts';
import { providerDefaults } from '../core/daemon/config-defaults.ts';
import { providerFromConfig } from '../core/daemon/providers-from-config.ts';
import { journalTapePort, readRunTapeOf } from '../core/gateway/index.ts';
import type { ModelProvider } from '../core/providers/index.ts';
import { freshJournal } from './helpers/journal-fixture.ts';

// No known secret shape: only the adapter's own scrubber can keep it out of the record.
const KEY = 'k3y-local-0123456789abcdef';
const TIMEOUTS = { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 };
const sse = (...chunks: unknown[]) => [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n'].join('');
const idlessCall = sse({ choices: [{ delta: { tool_calls: [{ index: 0, function: { name: 'echo', arguments: '{"text":"x"}' } }] } }] }, { choices: [{ delta: {}, finish_reason: 'tool_calls' }] });
const answer = sse({ choices: [{ delta: { content: 'done' }, finish_reason: 'stop' }] });

/** Request bodies by path. /down refuses the key (401, quoting it); /idless answers two id-less tool calls, then text. */
const bodies: Record<string, { messages: { role: string; tool_call_id?: string; tool_calls?: { id: string }[] }[] }[]> = {};
let baseUrl = '';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const path = (req.url ?? '').split('/')[1] ?? '';
    const seen = (bodies[path] ??= []);
    seen.push(JSON.parse(body));
    if (path === 'down') {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}`, type: 'invalid_request_error' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end(seen.length <= 2 ? idlessCall : answer);
  });
});
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

/** Runs one agent run over `provider`, journaled; returns the tape read back from the journal and the journal's folder. */
async function journaledRun(provider: ModelProvider, model: string): Promise<{ tape: TapeEvent[]; root: string }> {
  const { store, root } = await freshJournal();
  try {
    const port = journalTapePort(store, { runId: 'run-1', sessionId: 'session-1' });
    const outcome = await runAgent(input({ model }), harness({ provider, tape: port }).ports);
    await port.settled();
    assert.deepEqual([outcome.state, outcome.reason], ['completed', 'final answer']);
    const { events } = readRunTapeOf(store, 'run-1');
    return { tape: events.map((e) => ({ kind: e.kind, payload: e.payload }) as unknown as TapeEvent), root };
  } finally {
    await store.close();
  }
}

const responses = (tape: TapeEvent[]) => tape.filter((e) => e.kind === 'model.response').map((e) => e.payload as ModelResponsePayload);

/** Every byte the journal wrote, as text. */
function journalBytes(root: string): string {
  const dir = join(root, 'journal');
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name)).toString('latin1'))
    .join('\n');
}

test('a failover turn in the journal names the provider and model that answered and the one that failed before it, without its key', async () => {
  const { provider, model } = await providerFromConfig(
    [
      providerDefaults({ type: 'openai', id: 'primary', baseUrl: `${baseUrl}/down`, model: 'gpt-primary', apiKeyEnv: 'PRIMARY_KEY', timeouts: TIMEOUTS, retries: 0 }),
      providerDefaults({ type: 'scripted', id: 'backup', model: 'backup-model' }),
    ],
    { PRIMARY_KEY: KEY },
    { now: () => 0 },
  );
  const { tape, root } = await journaledRun(provider, model);
  const [route] = responses(tape).map((r) => r.route);
  assert.deepEqual(route, {
    providerId: 'backup',
    model: 'backup-model',
    failedOver: [
      {
        providerId: 'primary',
        model: 'gpt-primary',
        error: { code: 'auth', status: 401, retryable: false, providerCode: 'invalid_request_error', message: 'Provider "primary" failed (HTTP 401): Incorrect API key provided: [redacted]' },
      },
    ],
  });
  assert.equal(bodies['down']?.length, 1, 'the prompt did go to the primary');
  const journal = journalBytes(root);
  assert.ok(journal.includes('Incorrect API key provided'), 'the journal holds the record as searchable text');
  assert.ok(!journal.includes(KEY), 'the key is nowhere in the journal');
  const report = await replayTape(tape);
  assert.deepEqual([report.identical, report.divergences], [true, []]);
});

test('tool calls an OpenAI-compatible server sends without ids get ids unique in the run, and are sent back with them', async () => {
  const { provider, model } = await providerFromConfig([providerDefaults({ type: 'openai', id: 'local', baseUrl: `${baseUrl}/idless`, model: 'llama', timeouts: TIMEOUTS, retries: 0 })], {}, { now: () => 0 });
  const { tape } = await journaledRun(provider, model);
  const requestIds = tape.filter((e) => e.kind === 'model.request').map((e) => (e.payload as { requestId: string }).requestId);
  const ids = responses(tape).flatMap((r) => r.toolCalls.map((c) => c.id));
  assert.deepEqual(ids, [`call_${requestIds[0]}_0`, `call_${requestIds[1]}_0`]);
  assert.notEqual(ids[0], ids[1]);
  const last = bodies['idless']?.at(-1)?.messages ?? [];
  assert.deepEqual(last.filter((m) => m.role === 'tool').map((m) => m.tool_call_id), ids);
  assert.deepEqual(last.flatMap((m) => m.tool_calls?.map((c) => c.id) ?? []), ids);
  assert.equal((await replayTape(tape)).identical, true);
});
