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
