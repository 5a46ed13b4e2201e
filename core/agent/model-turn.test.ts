import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScriptedProvider, parseScript, withFailover, type ModelProvider, type ProviderEvent, type ScriptTurn } from '../providers/index.ts';
import { replayTape } from './replay.ts';
import { runAgent } from './run-agent.ts';
import type { TapeEvent } from './tape-events.ts';
import { harness, input, payloads, scripted } from './test-fakes.ts';

const BUSY = { code: 'overloaded' as const, message: 'busy', retryable: true };

/** A provider that fails every request before any content. */
function failing(id: string): ModelProvider {
  return {
    id,
    async *stream(): AsyncGenerator<ProviderEvent> {
      yield { type: 'error', error: BUSY };
    },
  };
}

function named(id: string, turns: ScriptTurn[]): ModelProvider {
  return createScriptedProvider(parseScript({ version: 1, turns }), { id });
}

/** A run over a failover of `primary` (fails before content) and `backup` (answers), each asked for its own model. */
async function recordFailoverRun(): Promise<TapeEvent[]> {
  const provider = withFailover([
    { provider: failing('primary'), model: 'big-model' },
    { provider: named('backup', [{ toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] }, { text: 'done' }]), model: 'small-model' },
  ]);
  const h = harness({ provider });
  const outcome = await runAgent(input(), h.ports);
  assert.deepEqual([outcome.state, outcome.finalText], ['completed', 'done']);
  return h.tape;
}

test('a failover turn records the provider and model that answered and the attempt that failed over before it', async () => {
  const tape = await recordFailoverRun();
  assert.equal(payloads(tape, 'run.started')[0]?.providerId, 'failover(primary,backup)');
  const route = { providerId: 'backup', model: 'small-model', failedOver: [{ providerId: 'primary', model: 'big-model', error: BUSY }] };
  assert.deepEqual(payloads(tape, 'model.response').map((r) => r.route), [route, route]);
  const report = await replayTape(tape);
  assert.deepEqual([report.identical, report.divergences], [true, []]);
});

test('a single provider: each turn records its id and the run model, with no failed attempts', async () => {
  const h = harness({ provider: scripted([{ toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] }, { text: 'done' }]) });
  await runAgent(input({ model: 'm-1' }), h.ports);
  const route = { providerId: 'scripted', model: 'm-1', failedOver: [] };
  assert.deepEqual(payloads(h.tape, 'model.response').map((r) => r.route), [route, route]);
  assert.equal((await replayTape(h.tape)).identical, true);
});

test('when every provider fails, the turn names the last one asked and the one that failed over before it', async () => {
  const h = harness({ provider: withFailover([failing('a'), failing('b')]) });
  const outcome = await runAgent(input(), h.ports);
  assert.deepEqual([outcome.state, outcome.reason], ['failed', 'provider: overloaded: All 2 providers failed; the last: busy']);
  assert.deepEqual(payloads(h.tape, 'model.response').map((r) => r.route), [{ providerId: 'b', model: 'test-model', failedOver: [{ providerId: 'a', model: 'test-model', error: BUSY }] }]);
  assert.equal((await replayTape(h.tape)).identical, true);
});

test('a tape recorded before routes were (no model.response has one) replays identically', async () => {
  const old = structuredClone(await recordFailoverRun());
  for (const e of old) if (e.kind === 'model.response') delete e.payload.route;
  const report = await replayTape(old);
  assert.deepEqual([report.identical, report.divergences, report.steps], [true, [], old.length]);
});

test('a route edited out of one step of a tape that records them diverges there', async () => {
  const tape = structuredClone(await recordFailoverRun());
  const second = tape.filter((e) => e.kind === 'model.response')[1] as TapeEvent & { kind: 'model.response' };
  delete second.payload.route;
  const report = await replayTape(tape);
  assert.deepEqual(report.divergences.map((d) => [d.step, d.expected?.kind]), [[second.payload.step, 'model.response']]);
});

test('calls sent without an id get ids unique in the run, from the request id; ids the provider sent stay', async () => {
  const call = (id?: string): ProviderEvent => ({ type: 'tool_call_delta', index: 0, ...(id === undefined ? {} : { id }), name: 'echo', argumentsFragment: '{"text":"x"}' });
  const turns: ProviderEvent[][] = [
    [call(), { type: 'finish', reason: 'tool_calls', raw: 'tool_calls' }],
    [call(), { type: 'finish', reason: 'tool_calls', raw: 'tool_calls' }],
    [call('sent-by-model'), { type: 'finish', reason: 'tool_calls', raw: 'tool_calls' }],
    [{ type: 'text_delta', text: 'done' }, { type: 'finish', reason: 'stop', raw: 'stop' }],
  ];
  let n = 0;
  const noIds: ModelProvider = { id: 'local', stream: async function* () { yield* turns[n++] ?? []; } };
  const h = harness({ provider: noIds });
  // Distinct arguments are not needed: the loop check counts the same call 3 times.
  const outcome = await runAgent(input({ budgets: { loopThreshold: 10 } }), h.ports);
  assert.equal(outcome.state, 'completed');
  const requestIds = payloads(h.tape, 'model.request').map((r) => r.requestId);
  assert.deepEqual(requestIds, ['id-1', 'id-2', 'id-3', 'id-4']);
  assert.deepEqual(payloads(h.tape, 'tool.proposed').map((p) => p.callId), ['call_id-1_0', 'call_id-2_0', 'sent-by-model']);
  const toolMessages = outcome.messages.filter((m) => m.role === 'tool').map((m) => (m as { toolCallId: string }).toolCallId);
  assert.deepEqual(toolMessages, ['call_id-1_0', 'call_id-2_0', 'sent-by-model']);
  assert.equal((await replayTape(h.tape)).identical, true);
});
