import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { JournalIndex, type IndexEntry } from './index-db.ts';

const entry = (seq: number): IndexEntry => ({ seq, ts: 1_000 + seq, kind: 'note.added', sessionId: seq % 2 ? 's-odd' : null, runId: 'r-1', segment: 1, offset: 16 + seq * 100, hash: seq.toString(16).padStart(64, '0') });

test('an update past its deadline adds a first group and stops; what it added is whole and queryable', async () => {
  const index = await JournalIndex.open(join(tempDir('palyra-index-'), 'index.sqlite'), { retention: 1_000 });
  try {
    const entries = Array.from({ length: 40 }, (_, i) => entry(i + 1));
    const first = index.apply(entries, performance.now() - 1);
    assert.equal(first, 16, 'one group of rows, then the deadline is checked');
    assert.deepEqual([index.lastSeq, index.lastHash], [16, entry(16).hash]);
    assert.equal(index.locate(17), null);
    assert.equal(index.apply(entries.slice(first)), 24, 'without a deadline everything goes in, single rows included');
    assert.deepEqual([index.lastSeq, index.stats().events], [40, 40]);
    assert.deepEqual(index.locate(40), { seq: 40, segment: 1, offset: 16 + 4_000 });
    assert.equal(index.ofSession('s-odd').length, 20);
    // Fewer entries than a group: the rows go in one by one, even past the deadline.
    assert.equal(index.apply([entry(41), entry(42)], performance.now() - 1), 2);
    assert.equal(index.lastSeq, 42);
  } finally {
    index.close();
  }
});

test('a large index is trimmed to its retention bound in small steps, always keeping the newest events', async () => {
  const retention = 20_000;
  const index = await JournalIndex.open(join(tempDir('palyra-index-'), 'index.sqlite'), { retention });
  try {
    let most = 0;
    for (let seq = 1; seq <= 26_000; seq += 64) {
      index.apply(Array.from({ length: 64 }, (_, i) => entry(seq + i)));
      const { events, oldestSeq, lastSeq } = index.stats();
      most = Math.max(most, events);
      assert.equal(oldestSeq, Math.max(1, lastSeq - events + 1), 'the index holds an unbroken run of the newest events');
      assert.ok(events >= Math.min(lastSeq, retention), `at least the newest ${retention} are kept (${events} at seq ${lastSeq})`);
    }
    // A tenth of this bound is 2,000 rows; one DELETE of that many stalled the store's thread.
    assert.ok(most > retention && most < retention + 512, `trimmed in steps of at most 512 rows: at most ${most} held`);
    assert.equal(index.oldestSeq, index.stats().oldestSeq, 'the cached oldest seq follows the trims');
  } finally {
    index.close();
  }
});

test('an index far over a lowered retention bound is trimmed over later updates, each deleting a bounded step', async () => {
  const path = join(tempDir('palyra-index-'), 'index.sqlite');
  const large = await JournalIndex.open(path, { retention: 100_000 });
  for (let seq = 1; seq <= 20_000; seq += 5_000) large.apply(Array.from({ length: 5_000 }, (_, i) => entry(seq + i)));
  await large.snapshot();
  large.close();
  const index = await JournalIndex.open(path, { retention: 1_000 });
  try {
    assert.equal(index.stats().events, 20_000);
    index.apply([entry(20_001)]);
    assert.equal(index.stats().events, 20_001 - 512, 'one small update deletes one step, not 19,000 rows');
    let seq = 20_002;
    for (let updates = 0; index.stats().events > 1_000 + 100 && updates < 100; updates++, seq += 64) {
      const before = index.stats().events;
      index.apply(Array.from({ length: 64 }, (_, i) => entry(seq + i)));
      assert.ok(before + 64 - index.stats().events <= 512, 'each update deletes at most a step');
    }
    const { events, oldestSeq, lastSeq } = index.stats();
    assert.ok(events <= 1_100 && events >= 1_000, `caught up with the bound: ${events} held`);
    assert.equal(oldestSeq, lastSeq - events + 1);
  } finally {
    index.close();
  }
});
