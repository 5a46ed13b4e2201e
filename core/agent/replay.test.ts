import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePolicySet, decideToolCall, type CompiledPolicySet } from '../policy/index.ts';
import { replayTape } from './replay.ts';
import { runAgent } from './run-agent.ts';
import { buildSyntheticTape } from './synthetic-tape.ts';
import type { TapeEvent } from './tape-events.ts';
import { harness, input, scripted } from './test-fakes.ts';

async function compile(text = ''): Promise<CompiledPolicySet> {
  const files = text === '' ? [] : [{ file: 'ops.cedar', text, origin: { type: 'file' as const, path: 'ops.cedar' } }];
  const result = await compilePolicySet(files, { validateRequests: true });
  if (result.type !== 'ok') throw new Error(JSON.stringify(result.problems));
  return result.set;
}

/** A two-turn run with three echo calls, decided by the real default policy set. */
async function recordEchoRun(set: CompiledPolicySet): Promise<TapeEvent[]> {
  const h = harness({
    provider: scripted([
      { toolCalls: [{ name: 'echo', arguments: { text: 'one' } }, { name: 'echo', arguments: { text: 'a secret' } }] },
      { toolCalls: [{ name: 'echo', arguments: { text: 'two' } }] },
      { text: 'all echoed' },
    ]),
    decide: (request) => decideToolCall(request, set),
  });
  const outcome = await runAgent(input({ policySetHash: set.hash }), h.ports);
  assert.equal(outcome.state, 'completed');
  return h.tape;
}

/** A deep copy with one payload edited. */
function tamper(tape: TapeEvent[], step: number, edit: (payload: Record<string, unknown>) => void): TapeEvent[] {
  const copy = structuredClone(tape);
  edit((copy[step - 1] as TapeEvent).payload as unknown as Record<string, unknown>);
  return copy;
}

function stepOf(tape: TapeEvent[], kind: TapeEvent['kind'], nth = 0): number {
  return (tape.filter((e) => e.kind === kind)[nth] as TapeEvent).payload.step;
}

test('a run decided by the real default policy set replays identically, without a model or a tool', async () => {
  const tape = await recordEchoRun(await compile());
  const report = await replayTape(tape);
  assert.deepEqual({ identical: report.identical, steps: report.steps, recordedSteps: report.recordedSteps, divergences: report.divergences, whatIf: report.whatIf }, {
    identical: true, steps: tape.length, recordedSteps: tape.length, divergences: [], whatIf: [],
  });
  assert.deepEqual({ state: report.outcome.state, finalText: report.outcome.finalText }, { state: 'completed', finalText: 'all echoed' });
});

test('an edited tool output diverges at its own step (receipt) and at the next model request', async () => {
  const tape = await recordEchoRun(await compile());
  const resultStep = stepOf(tape, 'tool.result', 0);
  const edited = tamper(tape, resultStep, (p) => (p['output'] = { text: 'forged' }));
  const report = await replayTape(edited);
  assert.equal(report.identical, false);
  // Every later hash of the conversation differs too.
  assert.deepEqual(report.divergences.map((d) => [d.step, d.expected?.kind]), [
    [resultStep, 'tool.result'],
    [stepOf(tape, 'model.request', 1), 'model.request'],
    [stepOf(tape, 'model.request', 2), 'model.request'],
    [tape.length, 'run.finished'],
  ]);
  const first = report.divergences[0];
  assert.notEqual((first?.actual?.payload as { receipt: string }).receipt, (first?.expected?.payload as { receipt: string }).receipt);
});

test('an edited model response diverges where it first changes what the loop derives', async () => {
  const tape = await recordEchoRun(await compile());
  // A mid-run response: the next request's messages hash changes.
  const midStep = stepOf(tape, 'model.response', 1);
  const mid = await replayTape(tamper(tape, midStep, (p) => (p['text'] = 'I will echo')));
  assert.deepEqual(mid.divergences.map((d) => [d.step, d.expected?.kind]), [
    [stepOf(tape, 'model.request', 2), 'model.request'],
    [tape.length, 'run.finished'],
  ]);
  // The final answer: run.finished carries the answer and the conversation hash.
  const lastStep = stepOf(tape, 'model.response', 2);
  const last = await replayTape(tamper(tape, lastStep, (p) => (p['text'] = 'forged answer')));
  assert.deepEqual(last.divergences.map((d) => [d.step, d.expected?.kind]), [[tape.length, 'run.finished']]);
  assert.equal(last.outcome.finalText, 'forged answer');
});

test('a tape cut off before run.finished (a crash) replays up to its end, reported unfinished; steps beyond it are not counted', async () => {
  const tape = await recordEchoRun(await compile());
  for (let cutAt = 1; cutAt < tape.length; cutAt++) {
    const cut = await replayTape(tape.slice(0, cutAt));
    assert.deepEqual([cut.identical, cut.unfinished, cut.steps, cut.recordedSteps, cut.divergences], [true, true, cutAt, cutAt, []], `cut after step ${cutAt}`);
  }
  const whole = await replayTape(tape);
  assert.deepEqual([whole.identical, whole.unfinished], [true, false]);
  // An edit inside an unfinished tape still diverges.
  const edited = await replayTape(tamper(tape.slice(0, 10), stepOf(tape, 'tool.proposed'), (p) => (p['args'] = { text: 'other' })));
  assert.deepEqual([edited.identical, edited.unfinished], [false, true]);
});

test('what-if: a stricter policy set reports each call whose decision would change; the replay still follows the tape', async () => {
  const tape = await recordEchoRun(await compile());
  const strict = await compile(`@id("ops.no-secret-echo")
@reason("Echoing secrets is forbidden")
forbid (principal, action == Action::"tool.invoke", resource)
when { resource.name == "echo" && context.argsJson like "*secret*" };`);
  const report = await replayTape(tape, { decide: (request) => decideToolCall(request, strict) });
  assert.equal(report.identical, true, 'the replay follows the recorded decisions');
  const step = stepOf(tape, 'tool.decision', 1);
  assert.deepEqual(
    report.whatIf.map((w) => ({ step: w.step, tool: w.tool, args: w.args, recorded: w.recorded.decision, decided: w.decided.decision, policies: w.decided.policies, reasons: w.reasons })),
    [{ step, tool: 'echo', args: { text: 'a secret' }, recorded: 'allow', decided: 'deny', policies: ['ops.no-secret-echo'], reasons: ['Echoing secrets is forbidden'] }],
  );
});

test('what-if: a call whose arguments the journal redacted is flagged, since it was judged on the redacted values', async () => {
  const tape = await recordEchoRun(await compile());
  // As the journal stores it: the second call's text redacted (a secret-shaped value).
  const response = stepOf(tape, 'model.response', 0);
  const redacted = tamper(tape, response, (p) => {
    const calls = p['toolCalls'] as { arguments: { text: string } }[];
    (calls[1] as { arguments: { text: string } }).arguments.text = 'a [REDACTED:key]';
  });
  const strict = await compile(`@id("ops.no-secret-echo") forbid (principal, action == Action::"tool.invoke", resource) when { resource.name == "echo" && context.argsJson like "*secret*" };`);
  const lenient = await compile(`@id("ops.no-redacted-echo") forbid (principal, action == Action::"tool.invoke", resource) when { resource.name == "echo" && context.argsJson like "*REDACTED*" };`);
  const flags = (set: CompiledPolicySet) =>
    replayTape(redacted, { decide: (request) => decideToolCall(request, set) }).then((r) => r.whatIf.map((w) => [w.args, w.argsRedacted]));
  assert.deepEqual(await flags(strict), []);
  assert.deepEqual(await flags(lenient), [[{ text: 'a [REDACTED:key]' }, true]]);
  const plain = await replayTape(tape, { decide: (request) => decideToolCall(request, strict) });
  assert.deepEqual(plain.whatIf.map((w) => w.argsRedacted), [false]);
});

test('an unknown newer tapeVersion is refused with its own error', async () => {
  const tape = await recordEchoRun(await compile());
  const newer = tamper(tape, 3, (p) => (p['tapeVersion'] = 3));
  await assert.rejects(replayTape(newer), {
    code: 'PALYRA_TAPE_UNSUPPORTED_VERSION',
    message: 'Cannot read tape step 3: tapeVersion 3 is newer than this palyrad reads (up to 2); upgrade palyrad',
  });
});

test('a synthetic tape of many echo turns replays identically', async () => {
  const tape = await buildSyntheticTape({ turns: 5, callsPerTurn: 40 });
  assert.equal(tape.length, 1 + 1 + 5 * (2 + 3 * 40) + 2 + 2);
  const report = await replayTape(tape);
  assert.deepEqual({ identical: report.identical, steps: report.steps, state: report.outcome.state }, { identical: true, steps: tape.length, state: 'completed' });
});

test('a replayed run that ends before the recording, or goes on past it, diverges at every step it lacks or adds', async () => {
  const tape = await recordEchoRun(await compile());
  // Turn 1 edited into a final answer: the replay completes after it; the recording went on.
  const firstResponse = stepOf(tape, 'model.response', 0);
  const short = tamper(tape, firstResponse, (p) => {
    p['toolCalls'] = [];
    p['finish'] = 'stop';
    p['finishReason'] = 'stop';
  });
  const ended = await replayTape(short);
  const lacking = tape.slice(firstResponse + 2).map((e) => [e.payload.step, e.kind, null]);
  assert.deepEqual(
    { identical: ended.identical, steps: ended.steps, recordedSteps: ended.recordedSteps, divergenceCount: ended.divergenceCount },
    { identical: false, steps: firstResponse + 2, recordedSteps: tape.length, divergenceCount: tape.length - firstResponse },
  );
  assert.deepEqual(ended.divergences.map((d) => [d.step, d.expected?.kind ?? null, d.actual?.kind ?? null]), [
    [firstResponse + 1, 'tool.proposed', 'run.transition'],
    [firstResponse + 2, 'tool.proposed', 'run.finished'],
    ...lacking,
  ]);
  // Only the first divergences are kept; all are counted, and none kept still is not identical.
  const capped = await replayTape(short, { maxDivergences: 2 });
  assert.deepEqual([capped.divergences.length, capped.divergenceCount], [2, tape.length - firstResponse]);
  const none = await replayTape(short, { maxDivergences: 0 });
  assert.deepEqual([none.identical, none.divergences, none.divergenceCount], [false, [], tape.length - firstResponse]);

  // The final answer edited into a tool call: the replay goes on past the recording's end.
  const lastResponse = stepOf(tape, 'model.response', 2);
  const long = tamper(tape, lastResponse, (p) => {
    p['toolCalls'] = [{ id: 'call_x', name: 'echo', arguments: { text: 'more' } }];
    p['finish'] = 'tool_calls';
    p['finishReason'] = 'tool_calls';
  });
  const went = await replayTape(long);
  assert.equal(went.identical, false);
  assert.ok(went.steps > tape.length, 'the replayed run recorded more steps than the tape has');
  assert.equal(went.divergenceCount, went.steps - lastResponse, 'every step after the edit diverges');
  assert.deepEqual(
    went.divergences.filter((d) => d.expected === null).map((d) => d.step),
    Array.from({ length: went.steps - tape.length }, (_, i) => tape.length + 1 + i),
    'each step past the recording is a divergence with nothing expected',
  );
});
