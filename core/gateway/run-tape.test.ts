import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import type { TapeEvent } from '../agent/index.ts';
import { journalTapePort } from './journal-tape.ts';
import { listRuns, readRunTape, readRunTapeOf } from './run-tape.ts';

const header = (step: number) => ({ tapeVersion: 1 as const, step, at: 1_790_000_000_000 + step });

function event(kind: TapeEvent['kind'], step: number, extra: Record<string, unknown> = {}): TapeEvent {
  return { kind, payload: { ...header(step), ...extra } } as unknown as TapeEvent;
}

test('the tape port waits for durability only where an action depends on it', async () => {
  const { store, options } = await freshJournal();
  const port = journalTapePort(store, { runId: 'run-1', sessionId: 'session-1' });
  assert.equal(port.record(event('run.started', 1, { model: 'm', providerId: 'scripted' })), undefined, 'run.started goes on without waiting');
  assert.equal(port.record(event('tool.proposed', 2)), undefined);
  const decision = port.record(event('tool.decision', 3));
  assert.ok(decision instanceof Promise, 'a decision is durable before the tool runs');
  await decision;
  // Everything before the barrier is durable too: the journal writes in order.
  assert.equal(store.durable.seq, 4);
  await port.record(event('run.finished', 4, { state: 'completed', reason: 'final answer' }));
  await port.settled();
  await store.close();

  const tape = readRunTape(options.dir, 'run-1');
  assert.equal(tape.sessionId, 'session-1');
  assert.deepEqual(
    tape.events.map((e) => [e.seq, e.kind]),
    [
      [2, 'run.started'],
      [3, 'tool.proposed'],
      [4, 'tool.decision'],
      [5, 'run.finished'],
    ],
  );
  assert.deepEqual(listRuns(options.dir), [
    { runId: 'run-1', sessionId: 'session-1', model: 'm', providerId: 'scripted', startedAt: 1_790_000_000_001, state: 'completed', reason: 'final answer', steps: 4, firstSeq: 2, lastSeq: 5 },
  ]);
  assert.deepEqual(listRuns(options.dir, { sessionId: 'other' }), []);
  assert.throws(() => readRunTape(options.dir, 'run-2'), { code: 'PALYRA_NOT_FOUND', message: /No tape for run "run-2"/ });
});

test('a tape event the journal refuses fails the next step, so a run never goes on with a hole in its tape', async () => {
  const { store } = await freshJournal({ maxPayloadBytes: 300 });
  const port = journalTapePort(store, { runId: 'run-1', sessionId: null });
  port.record(event('model.response', 1, { text: 'x'.repeat(400) }));
  await assert.rejects(port.settled(), { code: 'PALYRA_PAYLOAD_TOO_LARGE' });
  assert.throws(() => port.record(event('tool.proposed', 2)), { code: 'PALYRA_PAYLOAD_TOO_LARGE' });
  await store.close();
});

test('tape list shows a run ended by a crash as failed (interrupted); its tape itself stays as recorded', async () => {
  const { store, options } = await freshJournal();
  const port = journalTapePort(store, { runId: 'run-9', sessionId: 's' });
  await port.record(event('tool.decision', 1));
  await store.append({ kind: 'run.interrupted', runId: 'run-9', sessionId: 's', payload: { runId: 'run-9', reason: 'interrupted' } });
  await store.close();
  assert.deepEqual(listRuns(options.dir).map((r) => [r.runId, r.state, r.reason, r.steps]), [['run-9', 'failed', 'interrupted', 1]]);
  assert.deepEqual(readRunTape(options.dir, 'run-9').events.map((e) => e.kind), ['tool.decision']);
});

test('a running store reads a tape through its index when it holds the whole run, else from the log, the same either way', async () => {
  const { store } = await freshJournal({ indexRetention: 100 });
  const record = async (runId: string) => {
    // The gateway journals the message that starts a run, under its run id, before the tape begins.
    await store.append({ kind: 'message.received', runId, sessionId: 's', payload: { text: 'hello' } });
    const port = journalTapePort(store, { runId, sessionId: 's' });
    port.record(event('run.started', 1, { model: 'm', providerId: 'scripted' }));
    await port.record(event('tool.decision', 2));
    await port.record(event('run.finished', 3, { state: 'completed', reason: 'final answer' }));
  };
  await record('run-old');
  // A run waiting long (an approval) while other sessions are busy: its start leaves the window, its end does not.
  const waiting = journalTapePort(store, { runId: 'run-waiting', sessionId: 's' });
  await waiting.record(event('run.started', 1, { model: 'm', providerId: 'scripted' }));
  await waiting.record(event('tool.decision', 2));
  for (let i = 0; i < 150; i++) await store.append({ kind: 'note.added', payload: i }); // run-old leaves the index window
  await waiting.record(event('run.finished', 3, { state: 'completed', reason: 'final answer' }));
  await record('run-new');
  assert.equal(store.runEventsFromIndex('run-old', 'run.started'), null, 'the index cannot vouch for a run older than its window');
  assert.equal(store.runEventsFromIndex('run-waiting', 'run.started'), null, 'nor for one whose first events left it');
  assert.deepEqual(store.runEventsFromIndex('run-new', 'run.started')?.map((e) => e.kind), ['run.started', 'tool.decision', 'run.finished'], 'a recent run is read through the index, from its start on');
  for (const runId of ['run-old', 'run-waiting', 'run-new']) assert.deepEqual(readRunTapeOf(store, runId), readRunTape(store.paths.dir, runId), runId);
  assert.equal(readRunTapeOf(store, 'run-waiting').events.length, 3);
  assert.throws(() => readRunTapeOf(store, 'run-none'), { code: 'PALYRA_NOT_FOUND' });
  await store.close();
});

test('tape list says who cancelled a run a clean stop cut off, as the API does; its tape itself stays as recorded', async () => {
  const { store, options } = await freshJournal();
  const port = journalTapePort(store, { runId: 'run-7', sessionId: 's' });
  await port.record(event('run.finished', 1, { state: 'cancelled', reason: 'cancelled by request' }));
  await store.append({ kind: 'run.stopped', runId: 'run-7', sessionId: 's', payload: { runId: 'run-7', reason: 'cancelled: the daemon stopped' } });
  await store.close();
  assert.deepEqual(listRuns(options.dir).map((r) => [r.runId, r.state, r.reason, r.steps]), [['run-7', 'cancelled', 'cancelled: the daemon stopped', 1]]);
  assert.deepEqual(readRunTape(options.dir, 'run-7').events.map((e) => [e.kind, (e.payload as { reason: string }).reason]), [['run.finished', 'cancelled by request']]);
});
