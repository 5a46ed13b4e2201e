import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTape } from './parse-tape.ts';
import { runAgent } from './run-agent.ts';
import type { TapeEvent } from './tape-events.ts';
import { harness, input } from './test-fakes.ts';

async function textRun(): Promise<TapeEvent[]> {
  const h = harness();
  await runAgent(input(), h.ports);
  return h.tape;
}

function edit(tape: TapeEvent[], step: number, change: (payload: Record<string, unknown>, event: { kind: string }) => void): unknown[] {
  const copy = structuredClone(tape);
  const event = copy[step - 1] as TapeEvent;
  change(event.payload as unknown as Record<string, unknown>, event as { kind: string });
  return copy;
}

test('a recorded tape parses as it is, with its routes and without them (tapes recorded before routes were)', async () => {
  const tape = await textRun();
  assert.deepEqual(parseTape(structuredClone(tape)), tape);
  const older = edit(tape, 4, (p) => delete p['route']);
  assert.deepEqual(parseTape(older), older);
});

test('a newer tapeVersion and a malformed tape are refused with the step and the problem', async () => {
  const tape = await textRun();
  const cases: [unknown[], string, string][] = [
    [edit(tape, 2, (p) => (p['tapeVersion'] = 7)), 'PALYRA_TAPE_UNSUPPORTED_VERSION', 'Cannot read tape step 2: tapeVersion 7 is newer than this palyrad reads (up to 2); upgrade palyrad'],
    [edit(tape, 1, (p) => (p['tapeVersion'] = 0)), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 1: tapeVersion must be 1 to 2, not 0'],
    [edit(tape, 2, (p) => (p['tapeVersion'] = 1)), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 2: tapeVersion must be 2 as at step 1, not 1'],
    [edit(tape, 3, (_p, e) => (e.kind = 'model.guess')), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 3: unknown kind "model.guess"'],
    [edit(tape, 3, (p) => (p['step'] = 9)), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 3: step is 9; steps count from 1 without gaps'],
    [edit(tape, 4, (p) => delete p['text']), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 4: model.response.text is missing'],
    [tape.slice(1), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 1: a tape starts with run.started, not run.transition'],
    [[...tape, tape[5]], 'PALYRA_TAPE_INVALID', 'Cannot read tape step 7: step is 6; steps count from 1 without gaps'],
    [edit(tape, 6, (p) => (p['state'] = 'failed')), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 6: run.finished says failed, but the run is completed'],
    [[...tape, { kind: 'model.response', payload: { ...tape[3]?.payload, step: 7 } }], 'PALYRA_TAPE_INVALID', 'Cannot read tape step 7: an event follows run.finished'],
    [
      edit(tape, 1, (p) => (p['carried'] = { turns: 1, toolCalls: -2, inputTokens: 0, outputTokens: 0, cost: 0 })),
      'PALYRA_TAPE_INVALID',
      'Cannot read tape step 1: run.started.carried is {"turns":1,"toolCalls":-2,"inputTokens":0,"outputTokens":0,"cost":0}; it holds turns, toolCalls, inputTokens, outputTokens and cost, each a number ≥ 0',
    ],
    [edit(tape, 1, (p) => (p['carried'] = null)), 'PALYRA_TAPE_INVALID', 'Cannot read tape step 1: run.started.carried is null; it holds turns, toolCalls, inputTokens, outputTokens and cost, each a number ≥ 0'],
    [
      edit(tape, 4, (p) => (p['route'] = { providerId: 'a', model: 'm', failedOver: [{ providerId: 'b', model: 'm', error: { code: 'auth' } }] })),
      'PALYRA_TAPE_INVALID',
      'Cannot read tape step 4: model.response.route is {"providerId":"a","model":"m","failedOver":[{"providerId":"b","model":"m","error":{"code":"auth"}}]}; it holds providerId, model and failedOver (each with providerId, model and an error with code and message)',
    ],
    [
      edit(tape, 4, (p) => (p['route'] = null)),
      'PALYRA_TAPE_INVALID',
      'Cannot read tape step 4: model.response.route is null; it holds providerId, model and failedOver (each with providerId, model and an error with code and message)',
    ],
  ];
  for (const [events, code, message] of cases) assert.throws(() => parseTape(events), { code, message });
});

test('an illegal transition on a tape is refused', async () => {
  const tape = await textRun();
  // running → queued is not a move a run can make.
  const backwards = edit(tape, 5, (p) => (p['to'] = 'queued'));
  assert.throws(() => parseTape(backwards), {
    code: 'PALYRA_TAPE_INVALID',
    message: 'Cannot read tape step 5: Run "tape" cannot go from running to queued (final answer)',
  });
  const wrongFrom = edit(tape, 5, (p) => (p['from'] = 'waiting'));
  assert.throws(() => parseTape(wrongFrom), { code: 'PALYRA_TAPE_INVALID', message: 'Cannot read tape step 5: transition from waiting, but the run is running' });
});
