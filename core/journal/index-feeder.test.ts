import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexEntry, JournalIndex } from './index-db.ts';
import { IndexFeeder } from './index-feeder.ts';

/** A stand-in index that records each transaction's size. */
function recordingIndex(): { index: JournalIndex; applied: number[] } {
  const applied: number[] = [];
  const apply = (entries: readonly IndexEntry[]): number => {
    applied.push(entries.length);
    return entries.length;
  };
  return { index: { apply } as unknown as JournalIndex, applied };
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

test('an update cut short by its deadline leaves the rest for later, and a reader still gets every event', () => {
  const seen: { count: number; until: number }[] = [];
  // Applies one group of 16 when the deadline has passed, as the real index does.
  const apply = (entries: readonly IndexEntry[], until = Infinity): number => {
    const added = performance.now() >= until ? Math.min(16, entries.length) : entries.length;
    seen.push({ count: added, until });
    return added;
  };
  const feeder = new IndexFeeder({ apply } as unknown as JournalIndex, () => undefined);
  for (let seq = 1; seq <= 100; seq++) feeder.add(entry(seq));
  feeder.drainWhileWriting(performance.now() - 1);
  assert.deepEqual(seen.map((s) => s.count), [16]);
  feeder.drainWhileWriting(performance.now() - 1);
  assert.deepEqual(seen.map((s) => s.count), [16, 16], 'the rest waited for the next write');
  void feeder.index;
  assert.deepEqual(seen.map((s) => s.count), [16, 16, 68], 'reading applies all that is left, without a deadline');
  assert.equal(seen[2]?.until, Infinity);
});
