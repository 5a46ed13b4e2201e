import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveBudgets } from './budgets.ts';
import { NOT_REPEATED_CODE, resumePoint } from './resume.ts';
import { AgentRunLoopState } from './run-loop-state.ts';
import { parseTapeFile } from './tape-file.ts';
import type { ChatMessage } from '../providers/index.ts';

const golden = (name: string) => parseTapeFile(readFileSync(join(import.meta.dirname, '../../fixtures/tapes', `${name}.tape.jsonl`), 'utf8')).events;

function hashOf(messages: ChatMessage[]): string {
  return new AgentRunLoopState(resolveBudgets(undefined), messages).messagesHash();
}

test('a whole tape rebuilds exactly the conversation the run ended with', () => {
  for (const name of ['tool-calls', 'text-only', 'denied', 'approval']) {
    const events = golden(name);
    const finished = events.find((e) => e.kind === 'run.finished')?.payload as { messagesHash: string };
    const point = resumePoint(events);
    assert.equal(hashOf(point.messages), finished.messagesHash, `${name}: same messages as the recorded run`);
    assert.deepEqual(point.notRepeated, [], name);
  }
});

test('a call whose result is not on the tape is not run again; the model is told so', () => {
  const events = golden('tool-calls');
  const firstResult = events.findIndex((e) => e.kind === 'tool.result');
  const cut = events.slice(0, firstResult + 1); // the daemon died before the second result was written
  const point = resumePoint(cut);
  assert.equal(point.reused, 1);
  assert.equal(point.notRepeated.length, 1);
  const [user, assistant, first, second] = point.messages;
  assert.equal(user?.role, 'user');
  assert.ok(assistant?.role === 'assistant' && assistant.toolCalls?.length === 2);
  assert.ok(first?.role === 'tool' && !first.isError, 'the recorded result is fed back as it was');
  assert.ok(second?.role === 'tool' && second.isError === true && second.content.startsWith(`${NOT_REPEATED_CODE}:`));
  assert.equal(second.toolCallId, point.notRepeated[0]?.callId);
  assert.equal(point.messages.length, 4, 'ready for the next model turn');
});

test('a turn cut off while streaming is dropped, and a tape without run.started is refused', () => {
  const events = golden('tool-calls');
  const firstRequest = events.findIndex((e) => e.kind === 'model.request');
  const point = resumePoint(events.slice(0, firstRequest + 1));
  assert.equal(point.turns, 0);
  assert.deepEqual(point.messages, (events[0]?.payload as { messages: unknown[] }).messages);
  assert.throws(() => resumePoint(events.slice(1)), /no run.started/);
});

test('a call the old run ended before running (source "stopped") is not counted as reused; the model is told it was not run', () => {
  const events = parseTapeFile(readFileSync(join(import.meta.dirname, '../../fixtures/tapes/v2/cancelled.tape.jsonl'), 'utf8')).events;
  const point = resumePoint(events);
  assert.deepEqual([point.reused, point.notRepeated, point.turns], [0, [{ turn: 1, index: 0, callId: 'call_1_0', tool: 'note.write' }], 1]);
  assert.deepEqual(point.messages.slice(1), [
    { role: 'assistant', content: null, toolCalls: [{ id: 'call_1_0', name: 'note.write', arguments: { text: 'remember this' } }] },
    { role: 'tool', toolCallId: 'call_1_0', name: 'note.write', content: `${NOT_REPEATED_CODE}: the run stopped before this call ran; it was not run. Call it again if it is still needed.`, isError: true },
  ]);
});
