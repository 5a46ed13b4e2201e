import assert from 'node:assert/strict';
import { cpSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { ChainWriter, ZERO_AHEAD_MAX_BATCH } from './chain-writer.ts';
import { loadTrustedKey } from './checkpoints.ts';
import { encodeFrame } from './frame.ts';
import { JournalStore } from './journal-store.ts';
import { readRecords } from './log-reader.ts';
import { PREALLOCATE_TARGET, SegmentLog } from './segment-log.ts';
import { scanSegment } from './segments.ts';
import { verifyJournal } from './verify.ts';
import type { StoredRecord } from './record.ts';
import type { UnsealedRecord } from './writer-protocol.ts';

const frame = (seq: number): Buffer =>
  encodeFrame({ v: 1, seq, id: `id-${seq}`, ts: 1, kind: 'note.added', sessionId: null, runId: null, actor: 'system', principal: null, channel: null, payloadJson: '{}', redactions: 0, prevHash: '0'.repeat(64), hash: '1'.repeat(64) } as StoredRecord);

const segmentsOf = (dir: string): string[] => readdirSync(dir).sort().map((name) => join(dir, name));

test('a preallocating log keeps zeroed space ahead, readers stop quietly at it, and close cuts it off', () => {
  const dir = join(tempDir('palyra-prealloc-'), 'segments');
  const log = SegmentLog.create(dir, 64 * 1024 * 1024, { preallocate: true });
  let end = 16;
  for (let seq = 1; seq <= 20; seq++) {
    const f = frame(seq);
    log.appendBatchSync([f], seq);
    while (log.zeroAhead());
    end += f.length;
  }
  const [segment] = segmentsOf(dir) as [string];
  assert.equal(statSync(segment).size, end + log.preallocated, 'the file holds the frames and the zeroed space');
  assert.ok(log.preallocated >= PREALLOCATE_TARGET, `zeroed space ahead: ${log.preallocated}`);
  const items = [...scanSegment(segment)];
  assert.equal(items.length, 20);
  assert.ok(items.every((i) => i.type === 'frame'), 'zeros after the last frame are the end of the log, not a torn frame');
  log.close();
  assert.equal(statSync(segment).size, end, 'a clean close leaves no zeros behind');
});

test('a log without preallocation never writes ahead', () => {
  const dir = join(tempDir('palyra-prealloc-'), 'segments');
  const log = SegmentLog.create(dir, 64 * 1024 * 1024);
  log.appendBatchSync([frame(1)], 1);
  while (log.zeroAhead());
  assert.equal(log.preallocated, 0);
  assert.equal(statSync(segmentsOf(dir)[0] as string).size, 16 + frame(1).length);
  log.close();
});

test('rolling to a new segment cuts the zeros off the full one', () => {
  const dir = join(tempDir('palyra-prealloc-'), 'segments');
  const log = SegmentLog.create(dir, 4096, { preallocate: true });
  for (let seq = 1; seq <= 60; seq++) {
    log.appendBatchSync([frame(seq)], seq);
    while (log.zeroAhead());
  }
  const segments = segmentsOf(dir);
  assert.ok(segments.length > 1, 'the log rolled');
  for (const path of segments.slice(0, -1)) {
    const items = [...scanSegment(path)];
    const last = items[items.length - 1];
    assert.equal(last?.type === 'frame' && last.end, statSync(path).size, `${path} ends at its last frame`);
  }
  log.close();
});

test('a daemon journal killed with its zeroed space still there reopens without a cut, verifies and goes on', async () => {
  const { store, options, root } = await freshJournal({ writerThread: true, checkpointEveryEvents: 100 });
  const acked = await Promise.all(Array.from({ length: 240 }, (_, i) => store.append({ kind: 'tool.result', payload: { i } })));
  // Then one at a time, as a quiet daemon writes: small writes leave zeroed space ahead.
  for (let i = 240; i < 250; i++) acked.push(await store.append({ kind: 'tool.result', payload: { i } }));
  await store.checkpoint();
  // A copy taken while the daemon runs is what a kill -9 leaves: the preallocated zeros stay.
  const crashed = tempDir('palyra-prealloc-crash-');
  cpSync(root, crashed, { recursive: true });
  await store.close();
  const crashedOptions = { ...options, dir: join(crashed, 'journal'), keyPath: join(crashed, 'keys', 'checkpoint.key'), pubPath: join(crashed, 'keys', 'checkpoint.pub') };
  const [segment] = segmentsOf(join(crashedOptions.dir, 'segments')) as [string];
  const lastFrame = [...readRecords(join(crashedOptions.dir, 'segments'))].pop();
  assert.ok(statSync(segment).size > (lastFrame?.end ?? 0), 'the copy still has its zeroed space');

  const report = await verifyJournal(crashedOptions.dir, { trustedKey: loadTrustedKey(crashedOptions.pubPath) });
  assert.deepEqual([report.ok, report.events, report.anchored], [true, 251, true], JSON.stringify(report.problems));
  assert.equal(report.tornTail, null, 'zeroed space is not a torn frame');

  const reopened = await JournalStore.open({ ...crashedOptions, writerThread: true });
  assert.equal(reopened.recovery, null, 'nothing to cut, nothing to record');
  assert.deepEqual(reopened.durable, { seq: 251, hash: acked[249]?.hash });
  assert.equal((await reopened.append({ kind: 'after.crash', payload: {} })).seq, 252);
  await reopened.close();
  const after = await verifyJournal(crashedOptions.dir, { trustedKey: loadTrustedKey(crashedOptions.pubPath) });
  assert.deepEqual([after.ok, after.events], [true, 252], JSON.stringify(after.problems));
});

test('a frame cut short inside the zeroed space is torn: cut on open, and only its own bytes quarantined', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 'kept' });
  await store.close();
  const [segment] = segmentsOf(join(options.dir, 'segments')) as [string];
  const end = statSync(segment).size;
  const torn = frame(99).subarray(0, 30);
  const fd = openSync(segment, 'r+');
  writeSync(fd, Buffer.alloc(PREALLOCATE_TARGET), 0, PREALLOCATE_TARGET, end); // zeroed space, as a writer leaves it
  writeSync(fd, torn, 0, torn.length, end); // then a write that a crash cut after 30 bytes
  closeSync(fd);
  const before = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.equal(before.ok, true, 'a torn last frame is what a crash leaves, not damage');
  assert.equal(before.tornTail?.offset, end);
  const again = await JournalStore.open(options);
  assert.equal(again.recovery?.reason, 'last frame fails its checksum');
  assert.deepEqual(readFileSync(again.recovery?.quarantinedTo ?? ''), torn, 'the quarantine keeps the cut frame, not the zeros after it');
  await again.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('zeros followed by a frame at the end of the newest segment are a write the disk kept out of order: torn, cut on open', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 'kept' });
  await store.close();
  const [segment] = segmentsOf(join(options.dir, 'segments')) as [string];
  const end = statSync(segment).size;
  const fd = openSync(segment, 'r+');
  writeSync(fd, Buffer.alloc(4096), 0, 4096, end);
  writeSync(fd, frame(4), 0, frame(4).length, end + 4096);
  closeSync(fd);
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.deepEqual([report.ok, report.tornTail?.offset], [true, end], JSON.stringify(report.problems));
  const again = await JournalStore.open(options);
  assert.equal(again.recovery?.reason, 'frame length 0 is impossible, zeros of a write that did not reach the disk whole');
  assert.deepEqual(readFileSync(again.recovery?.quarantinedTo ?? '').subarray(4096), frame(4), 'the frame after the zeros is kept in quarantine');
  await again.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('a scan beside a live writer reads a frame written into the zeroed space after the scan began, and reports no damage', () => {
  const dir = join(tempDir('palyra-prealloc-'), 'segments');
  const log = SegmentLog.create(dir, 64 * 1024 * 1024, { preallocate: true });
  log.appendBatchSync([frame(1)], 1);
  while (log.zeroAhead());
  const [segment] = segmentsOf(dir) as [string];
  const scan = scanSegment(segment);
  const first = scan.next();
  assert.equal(first.done === false && first.value.type, 'frame');
  // The scan holds the file's bytes from before (zeros after frame 1); the writer now fills them.
  log.appendBatchSync([frame(2), frame(3)], 2);
  const rest = [...scan];
  assert.deepEqual(rest.map((i) => i.type), ['frame', 'frame'], 'the frames written meanwhile, not a "zeros followed by data" problem');
  log.close();
});

test('the chain writer zeroes ahead after small writes and stops while group commit writes large batches', () => {
  const dir = join(tempDir('palyra-prealloc-'), 'segments');
  const log = SegmentLog.create(dir, 64 * 1024 * 1024, { preallocate: true });
  const replies: string[] = [];
  const writer = new ChainWriter(log, { seq: 0, hash: '0'.repeat(64) }, (m) => void replies.push(m.type), true);
  let seq = 0;
  const unsealed = (): UnsealedRecord => ({ v: 1, seq: ++seq, id: `id-${seq}`, ts: 1, kind: 'note.added', sessionId: null, runId: null, actor: 'system', principal: null, channel: null, payloadJson: '{}', redactions: 0 });
  const write = (events: number): void => {
    writer.append(1, Array.from({ length: events }, unsealed));
    writer.flush();
  };
  write(1);
  assert.equal(writer.zeroAhead(), true, 'a lone write: zero ahead while idle');
  write(ZERO_AHEAD_MAX_BATCH);
  const zeroed = log.preallocated;
  assert.equal(writer.zeroAhead(), false, 'a full group commit: no zeroing');
  assert.equal(log.preallocated, zeroed);
  write(ZERO_AHEAD_MAX_BATCH - 1);
  assert.equal(writer.zeroAhead(), true, 'small writes again: zeroing resumes');
  assert.deepEqual(replies, ['written', 'written', 'written']);
  log.close();
});

test('a place torn twice keeps both quarantined tails: the second never overwrites the first', async () => {
  const { applyCut } = await import('./recover.ts');
  const dir = tempDir();
  const path = join(dir, 'seg-00000000000000000001.log');
  const quarantine = join(dir, 'quarantine');
  const segment = { name: 'seg-00000000000000000001.log', path, firstSeq: 1 };
  const kept: string[] = [];
  for (const tail of [[1, 2, 3], [4, 5, 6]]) {
    writeFileSync(path, Buffer.concat([Buffer.alloc(16, 7), Buffer.from(tail)]));
    kept.push(applyCut({ segment, offset: 16, bytes: 3, reason: 'test' }, quarantine));
  }
  assert.notEqual(kept[0], kept[1]);
  assert.deepEqual(kept.map((p) => [...readFileSync(p)]), [[1, 2, 3], [4, 5, 6]]);
});

test('a few zero bytes after the last frame (less than a header) are the end of the log, not a torn frame to record', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 'kept' });
  const head = store.durable.seq;
  await store.close();
  const [segment] = segmentsOf(join(options.dir, 'segments')) as [string];
  const fd = openSync(segment, 'r+');
  writeSync(fd, Buffer.alloc(3), 0, 3, statSync(segment).size);
  closeSync(fd);
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).tornTail, null);
  const again = await JournalStore.open(options);
  assert.equal(again.recovery, null, 'no journal.recovered event for zeros');
  await again.append({ kind: 'note.added', payload: 'next' });
  assert.equal(again.durable.seq, head + 1);
  await again.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});
