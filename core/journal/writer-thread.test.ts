import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { GENESIS_HASH } from '../base/index.ts';
import { ChainWriter } from './chain-writer.ts';
import { loadTrustedKey } from './checkpoints.ts';
import { JournalStore } from './journal-store.ts';
import { readRecords } from './log-reader.ts';
import { SegmentLog } from './segment-log.ts';
import { verifyJournal } from './verify.ts';
import { threadWriter } from './writer-link.ts';
import type { WriterReply } from './writer-protocol.ts';

test('the writer thread acknowledges exactly what it wrote: the seqs and hashes on disk, in order', async () => {
  const { store, options } = await freshJournal({ writerThread: true });
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) => store.append({ kind: 'note.added', payload: { i, api_key: 'sk-0123456789abcdefghijklmn' }, runId: 'run-1' })),
  );
  await store.close();
  const onDisk = [...readRecords(join(options.dir, 'segments'))].slice(1).map((l) => l.record);
  assert.deepEqual(
    results.map((r) => [r.seq, r.hash, r.redactions]),
    onDisk.map((r) => [r.seq, r.hash, r.redactions]),
  );
  assert.ok(onDisk.every((r) => !r.payloadJson.includes('sk-0123')), 'redacted before it crossed to the writer');
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('a journal written by the writer thread verifies, reopens inline and continues its chain', async () => {
  const { store, options } = await freshJournal({ writerThread: true, checkpointEveryEvents: 50 });
  const acked = await Promise.all(Array.from({ length: 300 }, (_, i) => store.append({ kind: 'tool.result', payload: { i }, sessionId: `s${i % 3}` })));
  assert.deepEqual(
    acked.map((a) => a.seq),
    Array.from({ length: 300 }, (_, i) => i + 2),
  );
  assert.deepEqual(store.durable, { seq: 301, hash: acked[299]?.hash });
  assert.deepEqual(store.readEvent(150)?.payload, { i: 148 }, 'the index was fed from the writer thread\'s replies');
  assert.ok(store.stats().batches < 300, 'concurrent appends shared writes');
  assert.ok(store.stats().writeSeconds > 0, 'the writer thread reports its writes\' disk time');
  await store.close();
  const reopened = await JournalStore.open(options);
  const next = await reopened.append({ kind: 'note.added', payload: 'after' });
  assert.equal(next.seq, 302);
  await reopened.close();
  const records = [...readRecords(join(options.dir, 'segments'))].map((l) => l.record);
  assert.equal(records[0]?.prevHash, GENESIS_HASH);
  assert.equal(records[301]?.prevHash, acked[299]?.hash);
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.deepEqual([report.ok, report.events, report.anchored], [true, 302, true]);
});

test('bad input is refused before it reaches the writer thread and takes no seq', async () => {
  const { store } = await freshJournal({ writerThread: true, maxPayloadBytes: 200 });
  await assert.rejects(store.append({ kind: 'Bad Kind', payload: 1 }), { code: 'PALYRA_INVALID_ARGUMENT' });
  await assert.rejects(store.append({ kind: 'note.added', payload: 'x'.repeat(300) }), { code: 'PALYRA_PAYLOAD_TOO_LARGE' });
  const ok = await store.append({ kind: 'note.added', payload: 'fine' });
  assert.equal(ok.seq, 2);
  await store.close();
});

test('a failed write on the writer thread rejects everything unwritten, acknowledges nothing, and the chain resumes at the durable head', async () => {
  const warnings: string[] = [];
  const { store, options } = await freshJournal({ writerThread: true, maxSegmentBytes: 600, onWarning: (m) => void warnings.push(m) });
  const first = await store.append({ kind: 'note.added', payload: { pad: 'a'.repeat(300) } });
  await store.append({ kind: 'note.added', payload: { pad: 'b'.repeat(300) } });
  const durable = store.durable;
  // The next write must start a new segment; put a file where the segments folder was so it cannot.
  const segments = join(options.dir, 'segments');
  renameSync(segments, `${segments}.away`);
  writeFileSync(segments, 'not a folder');
  const failed = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => store.append({ kind: 'note.added', payload: i })));
  assert.deepEqual(
    failed.map((r) => r.status),
    ['rejected', 'rejected', 'rejected', 'rejected'],
  );
  assert.deepEqual(store.durable, durable, 'the durable head did not move');
  assert.ok(first.seq < durable.seq);
  // Put the folder back: the chain continues right after the durable head.
  renameSync(segments, `${segments}.file`);
  renameSync(`${segments}.away`, segments);
  const resumed = await store.append({ kind: 'note.added', payload: 'resumed' });
  assert.equal(resumed.seq, durable.seq + 1);
  assert.deepEqual(
    warnings.map((w) => w.replace(/"[^"]*"/, 'PATH')),
    ['cannot write: Cannot create journal segment PATH: ENOTDIR (not a directory); 4 event(s) refused in 1 failed write(s); appends (and the runs making them) fail until a write succeeds', 'writes again'],
  );
  await store.close();
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.deepEqual([report.ok, report.events], [true, durable.seq + 1]);
});

test('a writer thread that cannot open the log refuses to start, with the reason', async () => {
  const { store, options } = await freshJournal();
  await store.close();
  const missing = join(options.dir, 'segments', 'no-such-segment.log');
  await assert.rejects(
    threadWriter({ segmentsDir: join(options.dir, 'segments'), maxSegmentBytes: 1 << 20, position: { segmentPath: missing, segmentFirstSeq: 1, size: 16 }, head: { seq: 0, hash: GENESIS_HASH }, preallocate: true }, () => undefined),
    (error: Error & { code?: string }) => error.message.includes('no-such-segment.log'),
  );
});

test('the chain writer stops rather than write a chain with a gap', () => {
  const dir = join(tempDir('palyra-chain-'), 'segments');
  const replies: WriterReply[] = [];
  const writer = new ChainWriter(SegmentLog.create(dir, 1 << 20), { seq: 0, hash: GENESIS_HASH }, (r) => replies.push(r));
  writer.append(0, [{ v: 1, seq: 2, id: 'x', ts: 0, kind: 'a.b', sessionId: null, runId: null, actor: 'system', principal: null, channel: null, payloadJson: '1', redactions: 0 }]);
  assert.deepEqual(replies, [{ type: 'failed', code: 'PALYRA_JOURNAL_WRITE_FAILED', message: 'Journal writer expected seq 1 but got 2; restart to recover', fatal: true }]);
});

test('polling for a write never outlives it: an idle daemon store leaves its thread asleep', async () => {
  const { store } = await freshJournal({ writerThread: true });
  assert.equal((await Promise.all(Array.from({ length: 50 }, (_, i) => store.append({ kind: 'note.added', payload: { i } })))).length, 50);
  await store.append({ kind: 'note.added', payload: 'last' });
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 400));
  const used = process.cpuUsage(before);
  // Polling on would burn the whole 400 ms; idle, the thread uses next to nothing.
  assert.ok((used.user + used.system) / 1000 < 150, `CPU while idle: ${(used.user + used.system) / 1000} ms`);
  await store.close();
});

test('writeNow starts the write within the caller\'s turn of the event loop; a plain append waits for the turn to end', async () => {
  const { store, options } = await freshJournal({ writerThread: true });
  await store.append({ kind: 'note.added', payload: 'warm' });
  const onDisk = (kind: string): boolean => [...readRecords(join(options.dir, 'segments'))].some((l) => l.record.kind === kind);
  /** Spins without yielding to the event loop until `kind` is on disk, or `ms` pass. */
  const spinUntilOnDisk = (kind: string, ms: number): boolean => {
    const end = performance.now() + ms;
    while (performance.now() < end) if (onDisk(kind)) return true;
    return false;
  };
  const now = store.append({ kind: 'note.now', payload: 1 }, { writeNow: true });
  assert.equal(spinUntilOnDisk('note.now', 2000), true, 'written while this turn still runs');
  await now;
  const later = store.append({ kind: 'note.later', payload: 2 });
  assert.equal(spinUntilOnDisk('note.later', 300), false, 'not written before the turn ends');
  await later;
  assert.equal(onDisk('note.later'), true);
  await store.close();
});
