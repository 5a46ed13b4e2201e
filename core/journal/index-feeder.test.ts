import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexEntry, JournalIndex } from './index-db.ts';
import { IndexFeeder } from './index-feeder.ts';

/** A stand-in index that records each transaction's size. */
function recordingIndex(): { index: JournalIndex; applied: number[] } {
  const applied: number[] = [];
  return { index: { apply: (entries: readonly IndexEntry[]) => void applied.push(entries.length) } as unknown as JournalIndex, applied };
}

const entry = (seq: number): IndexEntry => ({ seq, ts: 1, kind: 'note.added', sessionId: null, runId: null, segment: 1, offset: seq * 100, hash: 'a'.repeat(64) });

test('while a write is on the disk, a small backlog waits for the timer and a large one is applied at once', async () => {
  const { index, applied } = recordingIndex();
  const feeder = new IndexFeeder(index, () => undefined);
  for (let seq = 1; seq <= 3; seq++) feeder.add(entry(seq));
  feeder.batchDone();
  feeder.drainWhileWriting();
  assert.deepEqual(applied, [], 'three events are not worth a transaction of their own');
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.deepEqual(applied, [3], 'the timer applies them');

  for (let seq = 4; seq < 4 + 64; seq++) feeder.add(entry(seq));
  feeder.drainWhileWriting();
  assert.deepEqual(applied, [3, 64]);
});

test('a reader gets every event added so far, whatever waits for the timer', () => {
  const { index, applied } = recordingIndex();
  const feeder = new IndexFeeder(index, () => undefined);
  feeder.add(entry(1));
  feeder.batchDone();
  assert.equal(feeder.index, index);
  assert.deepEqual(applied, [1], 'reading drains the backlog first');
});
