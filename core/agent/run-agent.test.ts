import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayTape } from './replay.ts';
import { NOT_REPEATED_CODE, resumePoint } from './resume.ts';
import { runAgent } from './run-agent.ts';
import type { TapeEvent } from './tape-events.ts';
import { approvalsBy, decideBy, deferred, echoTool, failed, hangingProvider, harness, input, kinds, ok, payloads, scripted, tool, until } from './test-fakes.ts';
import type { AgentApprovalOutcome } from './ports.ts';
import type { ToolResult } from '../tools/index.ts';
import type { ProviderEvent } from '../providers/index.ts';

/** Every tape a test records must replay to the same tape. */
async function assertReplays(tape: TapeEvent[]): Promise<void> {
  const report = await replayTape(tape);
  assert.deepEqual(report.divergences, [], 'replay diverged');
  assert.equal(report.identical, true);
  assert.equal(report.steps, tape.length);
}

function transitions(tape: TapeEvent[]): string[] {
  return payloads(tape, 'run.transition').map((t) => `${t.from}→${t.to}: ${t.reason}`);
}

test('a text-only run records start, one turn and the final answer, and replays identically', async () => {
  const { ports, tape, events, timers } = harness({ provider: scripted([{ text: ['Hel', 'lo'], usage: { inputTokens: 3, outputTokens: 2 } }]) });
  const outcome = await runAgent(input(), ports);
  assert.deepEqual(
    { state: outcome.state, reason: outcome.reason, finalText: outcome.finalText, counters: outcome.counters, steps: outcome.steps },
    { state: 'completed', reason: 'final answer', finalText: 'Hello', counters: { turns: 1, toolCalls: 0, inputTokens: 3, outputTokens: 2, cost: 0 }, steps: 6 },
  );
  assert.deepEqual(kinds(tape), ['run.started', 'run.transition', 'model.request', 'model.response', 'run.transition', 'run.finished']);
  assert.deepEqual(transitions(tape), ['queued→running: started', 'running→completed: final answer']);
  assert.deepEqual(
    tape.map((e) => [e.payload.tapeVersion, e.payload.step]),
    [1, 2, 3, 4, 5, 6].map((s) => [2, s]),
  );
  const response = payloads(tape, 'model.response')[0];
  assert.deepEqual({ ...response, at: 0 }, {
    tapeVersion: 2, step: 4, at: 0, turn: 1, text: 'Hello', toolCalls: [], invalidArguments: [], usage: { inputTokens: 3, outputTokens: 2 },
    finish: 'stop', finishReason: 'stop', error: null, interrupted: null, route: { providerId: 'scripted', model: 'test-model', failedOver: [] },
  });
  assert.deepEqual(events.filter((e) => e.type === 'text_delta').map((e) => (e as { text: string }).text), ['Hel', 'lo']);
  assert.equal(timers.pending, 0, 'the wall-clock timer is cleared at the end');
  await assertReplays(tape);
});

test('parallel-safe calls run at most 4 at once, and results are fed back in the model order whatever order they finish in', async () => {
  const calls = ['a', 'b', 'c', 'd', 'e', 'f'].map((text) => ({ name: 'slow', arguments: { text } }));
  const gates = new Map<string, ReturnType<typeof deferred<void>>>();
  let active = 0;
  let maxActive = 0;
  const started: string[] = [];
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: calls }, { text: 'done' }]),
    tools: {
      list: [tool('slow', true)],
      invoke: async (name, args) => {
        const text = (args as { text: string }).text;
        started.push(text);
        active++;
        maxActive = Math.max(maxActive, active);
        const gate = deferred<void>();
        gates.set(text, gate);
        await gate.promise;
        active--;
        return ok(name, { echoed: text });
      },
    },
  });
  const running = runAgent(input(), ports);
  await until(() => started.length === 4);
  assert.deepEqual(started, ['a', 'b', 'c', 'd'], 'the fifth call waits for a free place');
  // Finish in reverse order: d, c, then the rest as they start.
  gates.get('d')?.resolve();
  await until(() => started.length === 5);
  gates.get('c')?.resolve();
  await until(() => started.length === 6);
  for (const t of ['f', 'e', 'b', 'a']) gates.get(t)?.resolve();
  const outcome = await running;
  assert.equal(outcome.state, 'completed');
  assert.equal(maxActive, 4);
  assert.deepEqual(payloads(tape, 'tool.result').map((r) => [r.index, r.output]), ['a', 'b', 'c', 'd', 'e', 'f'].map((t, i) => [i, { echoed: t }]));
  assert.deepEqual(
    outcome.messages.filter((m) => m.role === 'tool').map((m) => m.content),
    ['a', 'b', 'c', 'd', 'e', 'f'].map((t) => `{"echoed":"${t}"}`),
  );
  await assertReplays(tape);
});

/** One turn proposing echo 1, a write 2 that is not parallel-safe, echo 3; `invoke` runs each by its text. */
function serialBatch(invoke: (text: string) => Promise<void>) {
  return harness({
    provider: scripted([{ toolCalls: [{ name: 'echo', arguments: { text: '1' } }, { name: 'write', arguments: { text: '2' } }, { name: 'echo', arguments: { text: '3' } }] }, { text: 'done' }]),
    tools: {
      list: [echoTool, tool('write', false)],
      invoke: async (name, args) => {
        const text = (args as { text: string }).text;
        await invoke(text);
        return ok(name, text);
      },
    },
  });
}

test('a call that is not parallel-safe waits for the calls before it and runs alone', async () => {
  const log: string[] = [];
  const { ports, tape } = serialBatch(async (text) => {
    log.push(`start ${text}`);
    await Promise.resolve();
    log.push(`end ${text}`);
  });
  assert.equal((await runAgent(input(), ports)).state, 'completed');
  assert.deepEqual(log, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  await assertReplays(tape);
});

test('a denied call is fed back to the model as a tool error naming the reasons, and the run goes on', async () => {
  const invoked: string[] = [];
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'fs.write', arguments: { path: 'x' } }] }, { text: 'could not write' }]),
    tools: { list: [tool('fs.write', false, ['fs_write'], 'medium')], invoke: (name) => (invoked.push(name), Promise.resolve(ok(name, null))) },
    decide: decideBy({ 'fs.write': 'deny' }),
  });
  const outcome = await runAgent(input(), ports);
  assert.equal(outcome.state, 'completed');
  assert.deepEqual(invoked, []);
  const [result] = payloads(tape, 'tool.result');
  assert.deepEqual({ source: result?.source, ok: result?.ok, error: result?.error }, {
    source: 'policy', ok: false, error: { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Denied by policy: Test says deny for "fs.write"' },
  });
  assert.deepEqual(outcome.messages[2], { role: 'tool', toolCallId: 'call_1_0', name: 'fs.write', content: 'PALYRA_TOOL_FORBIDDEN: Denied by policy: Test says deny for "fs.write"', isError: true });
  await assertReplays(tape);
});

test('a decider that throws is a deny naming the error', async () => {
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] }, { text: 'ok' }]),
    decide: () => {
      throw new Error('engine down');
    },
  });
  assert.equal((await runAgent(input(), ports)).state, 'completed');
  assert.deepEqual(payloads(tape, 'tool.decision').map((d) => [d.decision, d.reasons]), [['deny', ['Policy could not judge the call: engine down']]]);
  await assertReplays(tape);
});

test('ask: the run waits, and an approved call is decided again as approved, then runs', async () => {
  const answer = deferred<AgentApprovalOutcome>();
  const approvals = approvalsBy([answer.promise]);
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'fs.write', arguments: { path: 'x' } }] }, { text: 'written' }]),
    tools: { list: [tool('fs.write', false, ['fs_write'], 'medium')], invoke: (name) => Promise.resolve(ok(name, { written: true })) },
    decide: decideBy({ 'fs.write': 'ask' }),
    approvals,
  });
  const running = runAgent(input(), ports);
  await until(() => tape.some((e) => e.kind === 'approval.requested'));
  assert.equal(payloads(tape, 'run.transition').at(-1)?.to, 'waiting');
  answer.resolve({ type: 'approved', by: 'operator', scope: 'once' });
  const outcome = await running;
  assert.equal(outcome.state, 'completed');
  assert.deepEqual(transitions(tape), [
    'queued→running: started',
    'running→waiting: approval needed for tool "fs.write"',
    'waiting→running: approval approved',
    'running→completed: final answer',
  ]);
  assert.deepEqual(payloads(tape, 'tool.decision').map((d) => [d.approval, d.decision]), [['none', 'ask'], ['approved', 'allow']]);
  assert.deepEqual(approvals.asked.map((r) => [r.tool.name, r.approval]), [['fs.write', 'none']]);
  const [resolved] = payloads(tape, 'approval.resolved');
  assert.deepEqual({ outcome: resolved?.outcome, by: resolved?.by, scope: resolved?.scope, approvalId: resolved?.approvalId }, { outcome: 'approved', by: 'operator', scope: 'once', approvalId: 'appr-1' });
  assert.deepEqual(payloads(tape, 'tool.result').map((r) => [r.source, r.output]), [['tool', { written: true }]]);
  await assertReplays(tape);
});

test('ask → expired and ask → denied are fed back as tool errors', async () => {
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'fs.write', arguments: { path: 'a' } }, { name: 'fs.write', arguments: { path: 'b' } }] }, { text: 'gave up' }]),
    tools: { list: [tool('fs.write', false, ['fs_write'], 'medium')], invoke: (name) => Promise.resolve(ok(name, null)) },
    decide: decideBy({ 'fs.write': 'ask' }),
    approvals: approvalsBy([{ type: 'expired' }, { type: 'denied', by: 'operator', reason: 'not today' }]),
  });
  const outcome = await runAgent(input(), ports);
  assert.equal(outcome.state, 'completed');
  assert.deepEqual(payloads(tape, 'tool.result').map((r) => [r.source, r.error]), [
    ['approval', { code: 'PALYRA_APPROVAL_EXPIRED', message: 'Approval "appr-1" expired before anyone answered' }],
    ['approval', { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Denied by operator: not today' }],
  ]);
  await assertReplays(tape);
});

test('cancelling mid-stream stops a stream that ignores its signal, and the run ends cancelled', async () => {
  const controller = new AbortController();
  const { ports, tape } = harness({
    provider: hangingProvider('Hel', new Promise<void>(() => undefined)),
    onEvent: (event) => {
      if (event.type === 'text_delta') controller.abort();
    },
  });
  const outcome = await runAgent(input(), ports, { signal: controller.signal });
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'cancelled', reason: 'cancelled by request' });
  const [response] = payloads(tape, 'model.response');
  assert.deepEqual({ text: response?.text, error: response?.error, interrupted: response?.interrupted }, {
    text: 'Hel',
    error: { code: 'cancelled', message: 'Stream of provider "hanging" was interrupted (run cancelled)', retryable: false },
    interrupted: 'cancelled',
  });
  assert.deepEqual(payloads(tape, 'run.transition').at(-1), { ...payloads(tape, 'run.transition').at(-1), from: 'running', to: 'cancelled', interrupt: 'cancelled' });
  await assertReplays(tape);
});

test('cancelling mid-tool aborts the tool signal; the result is recorded and the run ends cancelled', async () => {
  const controller = new AbortController();
  let toolSignal: AbortSignal | undefined;
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] }, { text: 'never' }]),
    tools: {
      list: [echoTool],
      invoke: (name, _input, signal) => {
        toolSignal = signal;
        const cancelled = failed(name, 'PALYRA_TOOL_CANCELLED', `Tool "${name}" was cancelled`);
        if (signal.aborted) return Promise.resolve(cancelled);
        return new Promise<ToolResult>((resolve) => signal.addEventListener('abort', () => resolve(cancelled)));
      },
    },
    onEvent: (event) => {
      // After the tool has started listening: the cancel lands mid-tool.
      if (event.type === 'tool_call_started') queueMicrotask(() => controller.abort());
    },
  });
  const outcome = await runAgent(input(), ports, { signal: controller.signal });
  assert.equal(outcome.state, 'cancelled');
  assert.equal(toolSignal?.aborted, true);
  assert.deepEqual(payloads(tape, 'tool.result').map((r) => r.error?.code), ['PALYRA_TOOL_CANCELLED']);
  assert.deepEqual(kinds(tape).slice(-3), ['tool.result', 'run.transition', 'run.finished']);
  assert.equal(payloads(tape, 'model.request').length, 1, 'no turn after the cancel');
  await assertReplays(tape);
});

test('cancelling while an approval is pending withdraws it and ends the run from waiting', async () => {
  const controller = new AbortController();
  const approvals = approvalsBy([new Promise<AgentApprovalOutcome>(() => undefined)]);
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'fs.write', arguments: { path: 'x' } }] }]),
    tools: { list: [tool('fs.write', false, ['fs_write'], 'medium')], invoke: (name) => Promise.resolve(ok(name, null)) },
    decide: decideBy({ 'fs.write': 'ask' }),
    approvals,
    onEvent: (event) => {
      if (event.type === 'approval_requested') controller.abort();
    },
  });
  const outcome = await runAgent(input(), ports, { signal: controller.signal });
  assert.equal(outcome.state, 'cancelled');
  assert.deepEqual(approvals.cancelled, ['appr-1']);
  assert.deepEqual(payloads(tape, 'approval.resolved').map((r) => [r.outcome, r.interrupt]), [['interrupted', 'cancelled']]);
  assert.deepEqual(transitions(tape).at(-1), 'waiting→cancelled: cancelled by request');
  await assertReplays(tape);
});

test('a run cancelled before it starts goes from queued to cancelled', async () => {
  const controller = new AbortController();
  controller.abort();
  const { ports, tape } = harness();
  const outcome = await runAgent(input(), ports, { signal: controller.signal });
  assert.equal(outcome.state, 'cancelled');
  assert.deepEqual(transitions(tape), ['queued→cancelled: cancelled by request']);
  await assertReplays(tape);
});

/** A model that proposes one new echo call per turn, forever. */
function endlessEcho(usage = { inputTokens: 10, outputTokens: 5 }) {
  return scripted([{ when: {}, toolCalls: [{ name: 'echo', arguments: { text: '{{lastToolResult}}+' } }], usage }]);
}

test('each budget ends the run failed with a reason naming it', async () => {
  const cases: [string, Parameters<typeof harness>[0], Parameters<typeof input>[0], string][] = [
    ['turns', { provider: endlessEcho() }, { budgets: { maxTurns: 2 } }, 'budget: max model turns 2 reached'],
    ['tool calls', { provider: endlessEcho() }, { budgets: { maxToolCalls: 3 } }, 'budget: max tool calls 3 reached'],
    ['tokens', { provider: endlessEcho() }, { budgets: { maxTokens: 40 } }, 'budget: max tokens 40 reached (used 45)'],
    ['cost', { provider: endlessEcho() }, { budgets: { cost: { inputPerToken: 0.5, outputPerToken: 1, ceiling: 20 } } }, 'budget: cost ceiling 20 reached (spent 20)'],
  ];
  for (const [name, ports, overrides, reason] of cases) {
    const h = harness(ports);
    const outcome = await runAgent(input(overrides), h.ports);
    assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason }, name);
    assert.deepEqual(payloads(h.tape, 'run.finished').map((f) => [f.state, f.reason]), [['failed', reason]], name);
    await assertReplays(h.tape);
  }
});

test('a resumed run counts what the run it goes on from used against its budgets; its own counters stay its own', async () => {
  const prices = { inputPerToken: 0.5, outputPerToken: 1, ceiling: 1000 };
  // The old run: two echo turns with usage, then the daemon died (the tape is cut before turn 3's answer).
  const old = harness({ provider: endlessEcho() });
  await runAgent(input({ budgets: { maxTurns: 3, cost: prices } }), old.ports);
  const cut = old.tape.slice(0, old.tape.findIndex((e) => e.kind === 'model.response' && e.payload.turn === 3));
  const point = resumePoint(cut);
  assert.deepEqual(point.spent, { turns: 3, toolCalls: 2, inputTokens: 20, outputTokens: 10, cost: 20 }, 'turn 3 was asked for, its answer never recorded');

  // [budget, what is left after the carried usage → turns this run gets, reason]
  const cases: [string, Parameters<typeof input>[0], number, string][] = [
    ['turns', { budgets: { maxTurns: 4 } }, 1, 'budget: max model turns 4 reached'],
    ['tool calls', { budgets: { maxToolCalls: 3 } }, 2, 'budget: max tool calls 3 reached'],
    ['tokens', { budgets: { maxTokens: 40 } }, 1, 'budget: max tokens 40 reached (used 45)'],
    ['cost', { budgets: { cost: { ...prices, ceiling: 40 } } }, 2, 'budget: cost ceiling 40 reached (spent 40)'],
  ];
  for (const [name, overrides, turns, reason] of cases) {
    const h = harness({ provider: endlessEcho() });
    const outcome = await runAgent(input({ ...overrides, messages: point.messages, carried: point.spent }), h.ports);
    assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason }, name);
    assert.equal(outcome.counters.turns, turns, `${name}: the counters count only this run's turns`);
    assert.deepEqual(payloads(h.tape, 'run.started')[0]?.carried, point.spent, `${name}: the tape says what was carried`);
    await assertReplays(h.tape);
    // Resuming the resumed run carries both runs' usage.
    assert.equal(resumePoint(h.tape).spent.turns, point.spent.turns + turns, name);
  }
  // A fresh run records no carried field: tapes of runs that resume nothing are as before.
  assert.equal('carried' in (payloads(old.tape, 'run.started')[0] as object), false);
  await assert.rejects(runAgent(input({ carried: { ...point.spent, toolCalls: -1 } }), harness().ports), { code: 'PALYRA_INVALID_ARGUMENT', message: /Carried toolCalls must be a non-negative number/ });
});

test('the wall-clock budget aborts a hung model stream through the timers port', async () => {
  const h = harness({ provider: hangingProvider('thinking', new Promise<void>(() => undefined)) });
  h.ports.onEvent = (event) => {
    if (event.type === 'text_delta') h.timers.advance(1000);
  };
  const outcome = await runAgent(input({ budgets: { wallClockMs: 1000 } }), h.ports);
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason: 'budget: wall clock 1000 ms reached' });
  assert.deepEqual(payloads(h.tape, 'model.response').map((r) => r.interrupted), ['wall_clock']);
  assert.equal(payloads(h.tape, 'run.transition').at(-1)?.interrupt, 'wall_clock');
  await assertReplays(h.tape);
});

test('the same call proposed three times ends the run as a loop', async () => {
  const h = harness({ provider: scripted([{ when: {}, toolCalls: [{ name: 'echo', arguments: { text: 'again' } }] }]) });
  const outcome = await runAgent(input(), h.ports);
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason: 'loop: tool "echo" proposed 3 times with the same arguments' });
  assert.equal(payloads(h.tape, 'tool.proposed').length, 3);
  assert.deepEqual(payloads(h.tape, 'tool.result').map((r) => [r.turn, r.source, r.ok, r.error]), [
    [1, 'tool', true, null],
    [2, 'tool', true, null],
    [3, 'stopped', false, { code: 'PALYRA_TOOL_NOT_RUN', message: 'Tool "echo" was not run: the run ended (loop: tool "echo" proposed 3 times with the same arguments)' }],
  ], 'the third call never runs, and its result says so');
  await assertReplays(h.tape);
});

test('every proposed call gets one tool.result when the batch ends early (cancel during an approval wait); replay and resume follow', async () => {
  const controller = new AbortController();
  const h = harness({
    provider: scripted([{ toolCalls: [{ name: 'echo', arguments: { text: 'a' } }, { name: 'deny', arguments: {} }, { name: 'w', arguments: { x: 1 } }, { name: 'echo', arguments: { text: 'b' } }] }]),
    tools: { list: [echoTool, tool('deny', true), tool('w', false, ['fs_write'], 'medium')], invoke: (name, args) => Promise.resolve(ok(name, args)) },
    decide: decideBy({ w: 'ask', deny: 'deny' }),
    approvals: approvalsBy([new Promise<AgentApprovalOutcome>(() => undefined)]),
    onEvent: (event) => {
      if (event.type === 'approval_requested') controller.abort();
    },
  });
  const outcome = await runAgent(input(), h.ports, { signal: controller.signal });
  assert.equal(outcome.state, 'cancelled');
  const notRun = (name: string) => ({ code: 'PALYRA_TOOL_NOT_RUN', message: `Tool "${name}" was not run: the run ended (cancelled by request)` });
  assert.deepEqual(payloads(h.tape, 'tool.result').map((r) => [r.index, r.source, r.error]), [
    [0, 'stopped', notRun('echo')],
    [1, 'policy', { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Denied by policy: Test says deny for "deny"' }],
    [2, 'stopped', notRun('w')],
    [3, 'stopped', notRun('echo')],
  ]);
  assert.deepEqual(kinds(h.tape).slice(-7), ['approval.resolved', 'tool.result', 'tool.result', 'tool.result', 'tool.result', 'run.transition', 'run.finished']);
  await assertReplays(h.tape);
  const resumed = resumePoint(h.tape);
  // Calls that never ran are not reused: the resumed run is told they were not run; the denial stays.
  const ref = (index: number, tool: string) => ({ turn: 1, index, callId: `call_1_${index}`, tool });
  assert.deepEqual([resumed.reused, resumed.notRepeated], [1, [ref(0, 'echo'), ref(2, 'w'), ref(3, 'echo')]]);
  assert.deepEqual(resumed.messages.at(-1), { role: 'tool', toolCallId: 'call_1_3', name: 'echo', content: `${NOT_REPEATED_CODE}: the run stopped before this call ran; it was not run. Call it again if it is still needed.`, isError: true });
});

test('the tape bound ends the run failed; the closing steps still get recorded', async () => {
  const h = harness({ provider: endlessEcho() });
  const outcome = await runAgent(input({ budgets: { tapeMaxEvents: 9 } }), h.ports);
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason: 'tape limit: 9 events reached' });
  assert.equal(h.tape.length, 11);
  assert.deepEqual(kinds(h.tape).slice(-2), ['run.transition', 'run.finished']);
  await assertReplays(h.tape);

  const bytes = harness({ provider: endlessEcho() });
  const byBytes = await runAgent(input({ budgets: { tapeMaxBytes: 4000 } }), bytes.ports);
  assert.deepEqual({ state: byBytes.state, reason: byBytes.reason }, { state: 'failed', reason: 'tape limit: 4000 bytes reached' });
  await assertReplays(bytes.tape);
});

test('the tape bound refusing a transition leaves the state as the tape shows it: the closing transition starts there, and the tape replays', async () => {
  // 1: the bound refuses queued→running; 6: it refuses running→waiting.
  const expected: Record<number, string[]> = { 1: ['queued→failed: tape limit: 1 events reached'], 6: ['queued→running: started', 'running→failed: tape limit: 6 events reached'] };
  for (const maxEvents of [1, 6]) {
    const h = harness({
      provider: scripted([{ toolCalls: [{ name: 'w', arguments: { x: 1 } }] }, { text: 'done' }]),
      tools: { list: [tool('w', false, ['fs_write'], 'medium')], invoke: (name) => Promise.resolve(ok(name, null)) },
      decide: decideBy({ w: 'ask' }),
      approvals: approvalsBy([{ type: 'approved', by: 'a', scope: 'once' }]),
    });
    const outcome = await runAgent(input({ budgets: { tapeMaxEvents: maxEvents } }), h.ports);
    assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason: `tape limit: ${maxEvents} events reached` });
    assert.deepEqual(transitions(h.tape), expected[maxEvents]);
    await assertReplays(h.tape);
  }
});

test('a provider error ends the run failed, naming the failure', async () => {
  const h = harness({ provider: scripted([{ error: { code: 'overloaded', message: 'busy' } }]) });
  const outcome = await runAgent(input(), h.ports);
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason: 'provider: overloaded: busy' });
  assert.deepEqual(payloads(h.tape, 'model.response')[0]?.error, { code: 'overloaded', message: 'busy', retryable: true });
  await assertReplays(h.tape);
});

test('an unknown tool and arguments that are not an object are fed back as tool errors without a decision', async () => {
  let turn = 0;
  const provider = {
    id: 'raw',
    async *stream(): AsyncGenerator<ProviderEvent> {
      if (turn++ > 0) {
        yield { type: 'finish', reason: 'stop', raw: 'stop' };
        return;
      }
      yield { type: 'tool_call_delta', index: 0, id: 'c0', name: 'nope', argumentsFragment: '{}' };
      yield { type: 'tool_call_delta', index: 1, id: 'c1', name: 'echo', argumentsFragment: '{bad' };
      yield { type: 'tool_call_delta', index: 2, id: 'c2', name: 'echo', argumentsFragment: '[1]' };
      yield { type: 'finish', reason: 'tool_calls', raw: 'tool_calls' };
    },
  };
  const h = harness({ provider });
  assert.equal((await runAgent(input(), h.ports)).state, 'completed');
  assert.deepEqual(payloads(h.tape, 'tool.decision'), []);
  assert.deepEqual(payloads(h.tape, 'tool.proposed').map((p) => p.args), [{}, '{bad', [1]]);
  assert.deepEqual(payloads(h.tape, 'tool.result').map((r) => [r.source, r.error?.code]), [
    ['invalid', 'PALYRA_TOOL_NOT_FOUND'],
    ['invalid', 'PALYRA_TOOL_INPUT_INVALID'],
    ['invalid', 'PALYRA_TOOL_INPUT_INVALID'],
  ]);
  await assertReplays(h.tape);
});

test('steering: messages that arrive during a tool call join at the next model boundary, are on the tape, and replay', async () => {
  const gate = deferred<void>();
  const inbox: { id: string; text: string }[] = [];
  const seen: unknown[][] = [];
  const provider = scripted([{ toolCalls: [{ name: 'echo', arguments: { text: 'x' } }] }, { text: 'adjusted' }]);
  const { ports, tape, events } = harness({
    provider: { id: provider.id, stream: (request) => (seen.push(request.messages.map((m) => m.role)), provider.stream(request)) },
    tools: {
      list: [echoTool],
      invoke: async (name, args) => {
        inbox.push({ id: 'run-b', text: 'actually, use y' }); // arrives mid-tool: waits for the boundary
        await gate.promise;
        return ok(name, args);
      },
    },
    steering: { take: () => inbox.splice(0) },
  });
  const running = runAgent(input(), ports);
  await until(() => inbox.length === 1);
  assert.ok(!kinds(tape).includes('run.steered'), 'never taken in mid-tool');
  gate.resolve();
  const outcome = await running;
  assert.equal(outcome.state, 'completed');
  const steered = payloads(tape, 'run.steered');
  assert.deepEqual(steered.map((s) => [s.turn, s.steers]), [[2, [{ id: 'run-b', text: 'actually, use y' }]]]);
  const order = kinds(tape);
  assert.ok(order.indexOf('tool.result') < order.indexOf('run.steered') && order.indexOf('run.steered') < order.lastIndexOf('model.request'));
  assert.deepEqual(seen[1], ['user', 'assistant', 'tool', 'user'], 'the second request carries the steer as a user message');
  assert.deepEqual(outcome.messages[3], { role: 'user', content: 'actually, use y' });
  assert.ok(events.some((e) => e.type === 'steered'));
  await assertReplays(tape);
  // Resuming puts the steer back in place: the same conversation, at any cut after it.
  assert.deepEqual(resumePoint(tape).messages, outcome.messages);
  const beforeAnswer = tape.slice(0, kinds(tape).lastIndexOf('model.response'));
  assert.deepEqual(resumePoint(beforeAnswer).messages, outcome.messages.slice(0, -1));
});

test('budgets are reached at their limit: tokens used equal to the ceiling, and the wall clock by the last step before a turn', async () => {
  const tokens = harness({ provider: endlessEcho() });
  const byTokens = await runAgent(input({ budgets: { maxTokens: 30 } }), tokens.ports);
  assert.deepEqual({ state: byTokens.state, reason: byTokens.reason, turns: byTokens.counters.turns }, { state: 'failed', reason: 'budget: max tokens 30 reached (used 30)', turns: 2 });
  await assertReplays(tokens.tape);

  // The fake clock moves 5 ms per reading: the step before turn 1 is 5 ms after run.started.
  // No timer fires (nobody advances them), so only the check before the turn can end the run.
  const clock = harness({ provider: endlessEcho() });
  const byClock = await runAgent(input({ budgets: { wallClockMs: 5 } }), clock.ports);
  assert.deepEqual({ state: byClock.state, reason: byClock.reason }, { state: 'failed', reason: 'budget: wall clock 5 ms reached' });
  assert.deepEqual(kinds(clock.tape), ['run.started', 'run.transition', 'run.transition', 'run.finished'], 'no turn starts');
  assert.deepEqual(payloads(clock.tape, 'run.transition').map((t) => [t.from, t.to, t.interrupt]), [['queued', 'running', null], ['running', 'failed', null]]);
  await assertReplays(clock.tape);
});

test('a final answer completes the run even when its own turn crosses the token or cost ceiling', async () => {
  const budgets = [{ maxTokens: 10 }, { cost: { inputPerToken: 1, outputPerToken: 1, ceiling: 10 } }];
  for (const b of budgets) {
    const h = harness({ provider: scripted([{ text: 'all done', usage: { inputTokens: 50, outputTokens: 50 } }]) });
    const outcome = await runAgent(input({ budgets: b }), h.ports);
    assert.deepEqual({ state: outcome.state, reason: outcome.reason, finalText: outcome.finalText }, { state: 'completed', reason: 'final answer', finalText: 'all done' }, JSON.stringify(b));
    await assertReplays(h.tape);
  }
});

test('the usage of a turn cut off by an interrupt is not counted, by the run nor by a resume', async () => {
  const controller = new AbortController();
  const h = harness({
    provider: {
      id: 'hanging',
      async *stream(): AsyncGenerator<ProviderEvent> {
        yield { type: 'usage', inputTokens: 7, outputTokens: 3 };
        yield { type: 'text_delta', text: 'Hel' };
        await new Promise<void>(() => undefined);
      },
    },
    onEvent: (event) => {
      if (event.type === 'text_delta') controller.abort();
    },
  });
  const outcome = await runAgent(input({ budgets: { cost: { inputPerToken: 1, outputPerToken: 1, ceiling: 100 } } }), h.ports, { signal: controller.signal });
  assert.equal(outcome.state, 'cancelled');
  assert.deepEqual(payloads(h.tape, 'model.response').map((r) => [r.usage, r.interrupted]), [[{ inputTokens: 7, outputTokens: 3 }, 'cancelled']], 'the tape keeps what the stream said');
  assert.deepEqual(outcome.counters, { turns: 1, toolCalls: 0, inputTokens: 0, outputTokens: 0, cost: 0 });
  assert.deepEqual(payloads(h.tape, 'run.finished')[0]?.counters, outcome.counters);
  assert.deepEqual(resumePoint(h.tape).spent, { turns: 1, toolCalls: 0, inputTokens: 0, outputTokens: 0, cost: 0 });
  await assertReplays(h.tape);
});

test('an approved call that the second decision does not allow is not run; the model is told why', async () => {
  const invoked: string[] = [];
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'fs.write', arguments: { path: 'x' } }] }, { text: 'not written' }]),
    tools: { list: [tool('fs.write', false, ['fs_write'], 'medium')], invoke: (name) => (invoked.push(name), Promise.resolve(ok(name, null))) },
    // Asks first; once approved, policy still forbids it (e.g. a forbid that approval does not lift).
    decide: (request) => ({
      decision: request.approval === 'approved' ? 'deny' : 'ask',
      policies: ['test'],
      reasons: [request.approval === 'approved' ? 'Forbidden even when approved' : 'Needs a human'],
      policySetHash: 'test-set',
    }),
    approvals: approvalsBy([{ type: 'approved', by: 'operator', scope: 'once' }]),
  });
  const outcome = await runAgent(input(), ports);
  assert.equal(outcome.state, 'completed');
  assert.deepEqual(invoked, []);
  assert.deepEqual(payloads(tape, 'tool.decision').map((d) => [d.approval, d.decision]), [['none', 'ask'], ['approved', 'deny']]);
  assert.deepEqual(payloads(tape, 'tool.result').map((r) => [r.source, r.ok, r.error]), [
    ['approval', false, { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Not allowed even when approved: Forbidden even when approved' }],
  ]);
  await assertReplays(tape);
});

test('each policy request carries the tool calls left: the budget less the calls judged before it, this run\'s and carried ones', async () => {
  for (const [carried, expected] of [[undefined, [5, 4, 3]], [{ turns: 1, toolCalls: 2, inputTokens: 0, outputTokens: 0, cost: 0 }, [3, 2, 1]]] as const) {
    const left: number[] = [];
    const h = harness({
      provider: scripted([
        { toolCalls: [{ name: 'echo', arguments: { text: 'a' } }, { name: 'echo', arguments: { text: 'b' } }] },
        { toolCalls: [{ name: 'echo', arguments: { text: 'c' } }] },
        { text: 'done' },
      ]),
      decide: (request) => (left.push(request.toolCallsLeft), decideBy()(request)),
    });
    const outcome = await runAgent(input({ budgets: { maxToolCalls: 5 }, ...(carried === undefined ? {} : { carried }) }), h.ports);
    assert.equal(outcome.state, 'completed');
    assert.deepEqual(left, expected);
    await assertReplays(h.tape);
  }
});

/** Lets every pending callback run a few macrotask turns, for asserting that something did not happen. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

test('a call that is not parallel-safe starts only once every call before it has ended, and nothing after it starts until it ends', async () => {
  const started: string[] = [];
  const gates = new Map(['1', '2'].map((t) => [t, deferred<void>()]));
  const { ports, tape } = serialBatch(async (text) => {
    started.push(text);
    await gates.get(text)?.promise;
  });
  const running = runAgent(input(), ports);
  await until(() => started.length === 1);
  await settle();
  assert.deepEqual(started, ['1'], 'the write waits for the echo before it');
  gates.get('1')?.resolve();
  await until(() => started.length === 2);
  await settle();
  assert.deepEqual(started, ['1', '2'], 'the echo after the write waits for it');
  gates.get('2')?.resolve();
  assert.equal((await running).state, 'completed');
  assert.deepEqual(started, ['1', '2', '3']);
  await assertReplays(tape);
});

test('once recording a result fails (the tape bound), no call of the batch that has not started yet starts', async () => {
  const invoked: string[] = [];
  const h = harness({
    provider: scripted([{ toolCalls: [{ name: 'echo', arguments: { text: 'a' } }, { name: 'echo', arguments: { text: 'b' } }, { name: 'write', arguments: { text: 'c' } }] }, { text: 'done' }]),
    tools: {
      list: [echoTool, tool('write', false)],
      invoke: (name, args, signal) => {
        const text = (args as { text: string }).text;
        invoked.push(text);
        // b runs until the batch is stopped; the write waits for it.
        if (text !== 'b') return Promise.resolve(ok(name, text));
        return new Promise<ToolResult>((resolve) => signal.addEventListener('abort', () => resolve(failed(name, 'PALYRA_TOOL_CANCELLED', 'stopped')), { once: true }));
      },
    },
  });
  // Steps 1–10: start, transition, request, response, 3 proposals, 3 decisions; a's result would be step 11.
  const outcome = await runAgent(input({ budgets: { tapeMaxEvents: 10 } }), h.ports);
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'failed', reason: 'tape limit: 10 events reached' });
  assert.deepEqual(invoked, ['a', 'b'], 'the write never starts');
  assert.deepEqual(kinds(h.tape).slice(-3), ['tool.decision', 'run.transition', 'run.finished']);
  await assertReplays(h.tape);
});

test('an approval that cannot be requested is fed back as a tool error, the run goes back to running, and the tape replays', async () => {
  const invoked: string[] = [];
  const { ports, tape } = harness({
    provider: scripted([{ toolCalls: [{ name: 'w', arguments: { x: 1 } }] }, { text: 'done' }]),
    tools: { list: [tool('w', false, ['fs_write'], 'medium')], invoke: (name) => (invoked.push(name), Promise.resolve(ok(name, null))) },
    decide: decideBy({ w: 'ask' }),
    approvals: {
      requestApproval: () => {
        throw new Error('registry closed');
      },
    },
  });
  const outcome = await runAgent(input(), ports);
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'completed', reason: 'final answer' });
  assert.deepEqual(invoked, []);
  assert.deepEqual(transitions(tape), [
    'queued→running: started',
    'running→waiting: approval needed for tool "w"',
    'waiting→running: approval could not be requested',
    'running→completed: final answer',
  ]);
  assert.deepEqual(payloads(tape, 'approval.requested'), []);
  assert.deepEqual(payloads(tape, 'tool.result').map((r) => [r.source, r.error]), [['approval', { code: 'PALYRA_TOOL_FORBIDDEN', message: 'Approval could not be requested: registry closed' }]]);
  await assertReplays(tape);
});

test('the first interrupt wins: a cancel stays a cancel when the wall clock runs out before the loop looks', async () => {
  const controller = new AbortController();
  const h = harness({
    provider: hangingProvider('thinking', new Promise<void>(() => undefined)),
    onEvent: (event) => {
      if (event.type !== 'text_delta') return;
      controller.abort();
      h.timers.advance(1000);
    },
  });
  const outcome = await runAgent(input({ budgets: { wallClockMs: 1000 } }), h.ports, { signal: controller.signal });
  assert.deepEqual({ state: outcome.state, reason: outcome.reason }, { state: 'cancelled', reason: 'cancelled by request' });
  assert.deepEqual(payloads(h.tape, 'model.response').map((r) => r.interrupted), ['cancelled']);
  await assertReplays(h.tape);
});
