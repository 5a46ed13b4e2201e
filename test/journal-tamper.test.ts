import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { GENESIS_HASH } from '../core/base/index.ts';
import { loadOrCreateSigningKey, loadTrustedKey, signCheckpoint, type CheckpointRecord } from '../core/journal/checkpoints.ts';
import { JournalStore, verifyJournal, type ProblemCode } from '../core/journal/index.ts';
import { computeRecordHash, type StoredRecord } from '../core/journal/record.ts';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { journalOptionsIn } from './helpers/journal-fixture.ts';
import { frameAround, readFrames, reencode, writeFrames } from './helpers/journal-surgery.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** A closed journal of 20 events (genesis + 19) with checkpoints at 10 and 20. */
async function journalWithCheckpoints() {
  const root = tempDir('palyra-tamper-');
  const options = journalOptionsIn(root);
  const store = await JournalStore.open(options);
  for (let i = 2; i <= 10; i++) await store.append({ kind: 'note.added', payload: { i, text: `event number ${i}` } });
  await store.checkpoint();
  for (let i = 11; i <= 20; i++) await store.append({ kind: 'note.added', payload: { i, text: `event number ${i}` } });
  await store.close(); // signs checkpoint 2 at size 20
  const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
  const checkpoints = join(options.dir, 'checkpoints.jsonl');
  const verify = (keyPath = options.pubPath) => verifyJournal(options.dir, { trustedKey: loadTrustedKey(keyPath) });
  return { root, options, segment, checkpoints, verify };
}

const codes = (report: { problems: { code: ProblemCode }[] }) => [...new Set(report.problems.map((p) => p.code))].sort();

test('an untouched journal verifies and is anchored', async () => {
  const { verify } = await journalWithCheckpoints();
  const report = await verify();
  assert.deepEqual([report.ok, report.events, report.anchored, report.checkpoints, report.problems], [true, 20, true, 2, []]);
});

test('a flipped byte in a payload fails the frame checksum', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  const target = frames[5] as (typeof frames)[number];
  const bytes = readFileSync(segment);
  const at = bytes.indexOf(Buffer.from('event number 6'), target.offset);
  bytes[at + 6] = 'N'.charCodeAt(0);
  writeFileSync(segment, bytes);
  const report = await verify();
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems[0], { seq: null, code: 'FRAME_CHECKSUM', message: `segment "${segment.split('/').pop()}" at byte ${target.offset}: frame fails its checksum` });
});

test('a changed payload with a recomputed checksum fails its hash', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  const forged = { ...(frames[5]?.record as NonNullable<(typeof frames)[number]['record']>), payloadJson: '{"i":6,"text":"event NUMBER 6"}' };
  writeFrames(segment, frames.map((f, i) => (i === 5 ? reencode(forged) : f.bytes)));
  const report = await verify();
  assert.deepEqual(codes(report), ['HASH_MISMATCH']);
  assert.deepEqual(report.problems, [{ seq: 6, code: 'HASH_MISMATCH', message: 'event 6 does not match its hash: its content was changed' }]);
  assert.deepEqual([report.ok, report.anchored], [false, false], 'a checkpoint over a damaged chain anchors nothing');
});

test('a field added to a record (outside its hash) with a correct checksum is refused', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  const forged = { ...(frames[2]?.record as NonNullable<(typeof frames)[number]['record']>), injected: 'attacker data' };
  // palyrad's own encoder writes only the format's keys: build the frame by hand.
  const frame = frameAround(Buffer.from(msgpackEncode(forged)));
  writeFrames(segment, frames.map((f, i) => (i === 2 ? frame : f.bytes)));
  const report = await verify();
  assert.equal(report.ok, false);
  assert.deepEqual(codes(report).includes('RECORD_INVALID'), true, JSON.stringify(report.problems));
  assert.match(report.problems.find((p) => p.code === 'RECORD_INVALID')?.message ?? '', /unexpected key "injected"/);
});

test('a deleted middle frame is a sequence gap', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  writeFrames(segment, frames.filter((_, i) => i !== 7).map((f) => f.bytes));
  const report = await verify();
  assert.deepEqual(codes(report), ['SEQ_GAP']);
  assert.deepEqual(report.problems[0], { seq: 9, code: 'SEQ_GAP', message: 'event 8 is missing before event 9' });
});

test('two swapped frames are out of order', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment).map((f) => f.bytes);
  [frames[3], frames[4]] = [frames[4] as Buffer, frames[3] as Buffer];
  writeFrames(segment, frames);
  const report = await verify();
  assert.equal(report.ok, false);
  // Event 5 first looks like a gap; event 4 turning up fills it: one problem, not a gap too.
  assert.deepEqual(report.problems, [{ seq: 4, code: 'SEQ_OUT_OF_ORDER', message: 'event 4 comes after event 5' }]);
});

test('a frame moved far ahead leaves a gap only for what never turns up', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment).map((f) => f.bytes);
  // Order 1,2,3,5,9,6,7,10.. with 4 and 8 deleted and 9 moved before 6.
  const order = [0, 1, 2, 4, 8, 5, 6, ...frames.keys()].filter((i, at, all) => i !== 3 && i !== 7 && all.indexOf(i) === at);
  writeFrames(segment, order.map((i) => frames[i] as Buffer));
  const report = await verify();
  assert.deepEqual(report.problems, [
    { seq: 5, code: 'SEQ_GAP', message: 'event 4 is missing before event 5' },
    { seq: 9, code: 'SEQ_GAP', message: 'event 8 is missing before event 9' },
    { seq: 6, code: 'SEQ_OUT_OF_ORDER', message: 'event 6 comes after event 9' },
    { seq: 7, code: 'SEQ_OUT_OF_ORDER', message: 'event 7 comes after event 9' },
  ]);
});

test('a gap partly filled by frames further on names each event still missing', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment).map((f) => f.bytes);
  // Order 1,2,6,4,7,8.. : 3 and 5 never turn up, 4 does (out of place).
  const order = [0, 1, 5, 3, ...frames.keys()].filter((i, at, all) => i !== 2 && i !== 4 && all.indexOf(i) === at);
  writeFrames(segment, order.map((i) => frames[i] as Buffer));
  const report = await verify();
  assert.deepEqual(report.problems.filter((p) => p.code === 'SEQ_GAP'), [{ seq: 6, code: 'SEQ_GAP', message: 'events 3, 5 are missing before event 6' }]);
  const gapsOf = async (seqs: number[]) => {
    writeFrames(segment, seqs.map((seq) => frames[seq - 1] as Buffer));
    return (await verify()).problems.filter((p) => p.code === 'SEQ_GAP').map((p) => p.message);
  };
  assert.deepEqual(await gapsOf([1, 7, 3, 8, 9]), ['events 2, 4–6 are missing before event 7']);
  // Nine runs: eight are named, the rest summed up.
  assert.deepEqual(await gapsOf([1, 20, 3, 5, 7, 9, 11, 13, 15, 17, 19]), ['events 2, 4, 6, 8, 10, 12, 14, 16, … (9 runs, 9 events in all) are missing before event 20']);
});

test('a tail truncated below a checkpoint is detected', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  truncateSync(segment, frames[15]?.offset ?? 0); // keep events 1..15, checkpoint 2 says 20
  const report = await verify();
  assert.deepEqual(codes(report), ['TRUNCATED_BELOW_CHECKPOINT']);
  assert.equal(report.events, 15);
  assert.equal(report.anchored, false);
});

test('a truncated tail below several checkpoints is one problem, naming the newest and counting the rest', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  truncateSync(segment, readFrames(segment)[5]?.offset ?? 0); // keep events 1..5: both checkpoints (10, 20) lie past the end
  const report = await verify();
  assert.deepEqual(report.problems, [
    {
      seq: 20,
      code: 'TRUNCATED_BELOW_CHECKPOINT',
      message: 'checkpoint 2 (size 20): covers 20 events but the journal ends at 5: events were removed or cannot be read (1 older checkpoint also covers events past the end)',
    },
  ]);
});

test('a frame length damaged mid-segment is damage with intact frames after it, not a torn tail', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  const target = frames[11] as (typeof frames)[number]; // event 12; events 13..20 stay intact after it
  const original = readFileSync(segment);
  const bytes = Buffer.from(original);
  bytes.writeUInt32BE(0x00ffffff, target.offset); // a length running past the end of the file
  writeFileSync(segment, bytes);
  const report = await verify();
  assert.equal(report.tornTail, null, 'not reported as a torn write');
  assert.deepEqual(codes(report), ['FRAME_LENGTH', 'TRUNCATED_BELOW_CHECKPOINT']);
  const damage = report.problems.find((p) => p.code === 'FRAME_LENGTH');
  assert.deepEqual(damage, {
    seq: 12,
    code: 'FRAME_LENGTH',
    message: `segment "${segment.split('/').pop()}" at byte ${target.offset}: the frame there (frame body cut short) is damaged, yet whole frames follow from byte ${frames[12]?.offset}: the events from there on cannot be read in order`,
  });
  assert.equal(report.problems.filter((p) => p.code === 'TRUNCATED_BELOW_CHECKPOINT').length, 1);
  // A frame cut short at the very end, with nothing whole after it, is a torn tail.
  writeFileSync(segment, original.subarray(0, (frames[19]?.offset ?? 0) + 20));
  const torn = await verify();
  assert.deepEqual(torn.tornTail, { segment: segment.split('/').pop(), offset: frames[19]?.offset });
});

/**
 * journalWithCheckpoints, then its last checkpoint line dropped: events 11–20 are covered
 * by no checkpoint, only by the index snapshot the clean close wrote.
 */
async function journalPastItsCheckpoint() {
  const j = await journalWithCheckpoints();
  const lines = readFileSync(j.checkpoints, 'utf8').trimEnd().split('\n');
  writeFileSync(j.checkpoints, `${lines.slice(0, -1).join('\n')}\n`);
  return j;
}

test('a tail cut at a frame boundary past the last checkpoint is refused by a writer: the index snapshot holds those events', async () => {
  const { segment, options } = await journalPastItsCheckpoint();
  const frames = readFrames(segment);
  truncateSync(segment, frames[15]?.offset ?? 0); // a clean cut: events 1..15 remain, no torn frame
  const before = readFileSync(segment);
  await assert.rejects(JournalStore.open(options), {
    code: 'PALYRA_JOURNAL_CORRUPT',
    message: /^The journal ends at seq 15, but its index snapshot shows events up to seq 20 were written: acknowledged events are missing, so nothing was changed; 'palyrad journal verify' shows what the log holds against its signed checkpoints; to go on from the log as it is, move ".*index\.sqlite" away and open the journal again$/,
  });
  assert.deepEqual(readFileSync(segment), before, 'nothing appended or cut');
});

test('a tail rewritten past the last checkpoint, its chain recomputed, is refused by a writer: the index snapshot recorded another event', async () => {
  const { segment, options, verify } = await journalPastItsCheckpoint();
  const frames = readFrames(segment);
  const forged: Buffer[] = [];
  let prevHash = (frames[14]?.record as StoredRecord).hash;
  for (const [i, f] of frames.entries()) {
    if (i < 15) {
      forged.push(f.bytes);
      continue;
    }
    const record = { ...f.record, prevHash, payloadJson: i === 15 ? '{"i":16,"text":"history, rewritten"}' : f.record.payloadJson };
    record.hash = computeRecordHash(record);
    prevHash = record.hash;
    forged.push(reencode(record));
  }
  writeFrames(segment, forged);
  assert.equal((await verify()).ok, true, 'the forged tail is consistent, and no remaining checkpoint covers it');
  await assert.rejects(JournalStore.open(options), {
    code: 'PALYRA_JOURNAL_CORRUPT',
    message: /^Journal event 20 is not the one its index snapshot recorded: the log was rewritten, so nothing was changed/,
  });
});

test('a whole chain recomputed without the signing key contradicts the checkpoints, and no writer extends it', async () => {
  const { segment, verify, options } = await journalWithCheckpoints();
  let prevHash = GENESIS_HASH;
  const rewritten = readFrames(segment).map(({ record }) => {
    const payloadJson = record.seq === 4 ? '{"i":4,"text":"history rewritten"}' : record.payloadJson;
    const { hash: _old, ...fields } = { ...record, payloadJson, prevHash };
    const hash = computeRecordHash(fields);
    prevHash = hash;
    return reencode({ ...fields, hash });
  });
  writeFrames(segment, rewritten);
  const report = await verify();
  assert.deepEqual(codes(report), ['CHECKPOINT_MISMATCH']);
  assert.equal(report.problems.length, 2, 'both checkpoints contradict the rewritten chain');
  assert.equal(report.anchored, false);
  const before = readFileSync(segment);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CORRUPT', message: /does not match signed checkpoint 2: the log was rewritten/ });
  assert.ok(readFileSync(segment).equals(before), 'nothing was appended or signed');
});

test('an old checkpoint replayed after newer ones is detected', async () => {
  const { checkpoints, verify } = await journalWithCheckpoints();
  const first = readFileSync(checkpoints, 'utf8').split('\n')[0];
  appendFileSync(checkpoints, `${first}\n`);
  const report = await verify();
  assert.deepEqual(codes(report), ['CHECKPOINT_REPLAYED']);
});

test('a newer checkpoint that signs a smaller size or an older time is a replay, even correctly numbered and signed', async () => {
  // Whoever holds the key (a rolled-back machine, a buggy writer) could sign checkpoint 3
  // over the head of checkpoint 1: numbered and chained right, but it goes backwards.
  const { options, checkpoints, verify } = await journalWithCheckpoints();
  const original = readFileSync(checkpoints, 'utf8');
  const [first, second] = original.trim().split('\n').map((l) => JSON.parse(l) as CheckpointRecord) as [CheckpointRecord, CheckpointRecord];
  const key = loadOrCreateSigningKey(options.keyPath, options.pubPath);
  const smaller = signCheckpoint({ origin: second.origin, size: first.size, headHash: first.headHash, ts: second.ts + 1 }, second, key);
  appendFileSync(checkpoints, `${JSON.stringify(smaller)}\n`);
  let report = await verify();
  assert.deepEqual(report.problems, [
    { seq: 10, code: 'CHECKPOINT_REPLAYED', message: 'checkpoint 3 (line 3, size 10): comes after checkpoint 2 (size 20) but is older: an old checkpoint was replayed' },
  ]);
  assert.equal(report.ok, false);

  writeFileSync(checkpoints, original);
  const earlier = signCheckpoint({ origin: second.origin, size: second.size, headHash: second.headHash, ts: second.ts - 1 }, second, key);
  appendFileSync(checkpoints, `${JSON.stringify(earlier)}\n`);
  report = await verify();
  assert.deepEqual(codes(report), ['CHECKPOINT_REPLAYED']);
  assert.equal(report.problems[0]?.message.startsWith('checkpoint 3 (line 3, size 20): '), true);
});

test('a checkpoint of a negative size is malformed, even signed by the journal key', async () => {
  const { options, checkpoints, verify } = await journalWithCheckpoints();
  const second = JSON.parse(readFileSync(checkpoints, 'utf8').trim().split('\n')[1] as string) as CheckpointRecord;
  const key = loadOrCreateSigningKey(options.keyPath, options.pubPath);
  const negative = signCheckpoint({ origin: second.origin, size: -1, headHash: second.headHash, ts: second.ts + 1 }, second, key);
  appendFileSync(checkpoints, `${JSON.stringify(negative)}\n`);
  const report = await verify();
  assert.deepEqual(report.problems, [{ seq: null, code: 'CHECKPOINT_INVALID', message: 'checkpoint line 3: size is not a count' }]);
  assert.deepEqual([report.ok, report.anchored], [false, false], 'a journal with any problem is not anchored');
});

test('a checkpoint signed by another key is refused, whatever key id it claims', async () => {
  const { root, options, checkpoints, verify } = await journalWithCheckpoints();
  const lines = readFileSync(checkpoints, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CheckpointRecord);
  const attacker = loadOrCreateSigningKey(join(root, 'attacker.key'), join(root, 'attacker.pub'));
  const base = lines[0] as CheckpointRecord;
  // Honest about its key id: unknown key.
  const own = signCheckpoint({ origin: base.origin, size: 20, headHash: (lines[1] as CheckpointRecord).headHash, ts: base.ts + 1 }, base, attacker);
  writeFileSync(checkpoints, `${JSON.stringify(base)}\n${JSON.stringify(own)}\n`);
  assert.deepEqual(codes(await verify()), ['CHECKPOINT_UNKNOWN_KEY']);
  // Claiming the trusted key id: bad signature.
  const trusted = loadTrustedKey(options.pubPath);
  const forged = signCheckpoint({ origin: base.origin, size: 20, headHash: own.headHash, ts: own.ts }, base, { ...attacker, keyId: trusted.keyId });
  writeFileSync(checkpoints, `${JSON.stringify(base)}\n${JSON.stringify(forged)}\n`);
  assert.deepEqual(codes(await verify()), ['CHECKPOINT_BAD_SIGNATURE']);
  // And an auditor's own trusted key rejects checkpoints signed by the state's key.
  const auditorKey = join(root, 'auditor.pub');
  writeFileSync(auditorKey, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
  assert.deepEqual(codes(await verify(auditorKey)).includes('CHECKPOINT_UNKNOWN_KEY'), true);
});

test('a chain with no checkpoint is ok but unanchored', async () => {
  const root = tempDir('palyra-tamper-');
  const options = journalOptionsIn(root);
  const store = await JournalStore.open(options);
  await store.append({ kind: 'note.added', payload: {} });
  // Not closed: a crash before any checkpoint. Closing would sign one.
  await store.flushed();
  const report = await verifyJournal(options.dir, { trustedKey: null });
  assert.deepEqual([report.ok, report.anchored, report.checkpoints, report.events], [true, false, 0, 2]);
  await store.close();
});

test('verification on worker threads gives the same verdict as in-thread, damage at segment boundaries included', async () => {
  const root = tempDir('palyra-tamper-');
  const options = journalOptionsIn(root, { maxSegmentBytes: 2048 });
  const store = await JournalStore.open(options);
  for (let i = 0; i < 6; i++) await Promise.all(Array.from({ length: 15 }, (_, j) => store.append({ kind: 'note.added', payload: { i, j, pad: 'y'.repeat(40) } })));
  await store.close();
  const trustedKey = loadTrustedKey(options.pubPath);
  const inThread = await verifyJournal(options.dir, { trustedKey, workers: 0 });
  const workersFailed: unknown[] = [];
  const onWorkersFailed = (error: unknown) => workersFailed.push(error);
  const parallel = await verifyJournal(options.dir, { trustedKey, workers: 2, onWorkersFailed });
  assert.ok(inThread.segments > 4, `expected many segments, got ${inThread.segments}`);
  assert.deepEqual(parallel, inThread);
  assert.deepEqual([parallel.ok, parallel.anchored, parallel.events], [true, true, 91]);

  // Drop the first frame of the third segment: only the stitching between segments can see it.
  const segments = readdirSync(join(options.dir, 'segments')).sort();
  const third = join(options.dir, 'segments', segments[2] as string);
  writeFrames(third, readFrames(third).slice(1).map((f) => f.bytes));
  const damagedInThread = await verifyJournal(options.dir, { trustedKey, workers: 0 });
  const damagedParallel = await verifyJournal(options.dir, { trustedKey, workers: 2, onWorkersFailed });
  assert.deepEqual(damagedParallel, damagedInThread);
  assert.deepEqual(workersFailed, [], 'the worker threads did the work (no silent fallback)');
  assert.deepEqual(
    damagedParallel.problems.map((p) => p.code),
    ['SEQ_GAP', 'SEGMENT_NAME_MISMATCH'],
  );
});

/** Frames for `records` with every prevHash and hash recomputed from `prevHash` on: a forger's consistent chain. */
function rechain(records: readonly StoredRecord[], prevHash: string): Buffer[] {
  return records.map((record) => {
    const { hash: _old, ...fields } = { ...record, prevHash };
    const hash = computeRecordHash(fields);
    prevHash = hash;
    return reencode({ ...fields, hash });
  });
}

/** A closed journal of 91 events over many small segments, checkpointed at its head. */
async function journalWithSegments() {
  const root = tempDir('palyra-tamper-');
  const options = journalOptionsIn(root, { maxSegmentBytes: 2048 });
  const store = await JournalStore.open(options);
  for (let i = 0; i < 6; i++) await Promise.all(Array.from({ length: 15 }, (_, j) => store.append({ kind: 'note.added', payload: { i, j, pad: 'y'.repeat(40) } })));
  await store.close();
  const dir = join(options.dir, 'segments');
  const segments = readdirSync(dir).sort().map((name) => join(dir, name));
  assert.ok(segments.length > 4, `expected many segments, got ${segments.length}`);
  return { options, segments, verify: () => verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) }) };
}

test('an event changed with its hash recomputed breaks the link from the next event, and no writer extends it', async () => {
  const { segment, verify, options } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  const { hash: _old, ...fields } = { ...(frames[5]?.record as StoredRecord), payloadJson: '{"i":6,"text":"event NUMBER 6"}' };
  writeFrames(segment, frames.map((f, i) => (i === 5 ? reencode({ ...fields, hash: computeRecordHash(fields) }) : f.bytes)));
  const report = await verify();
  assert.deepEqual(report.problems, [{ seq: 7, code: 'CHAIN_BROKEN', message: 'event 7 does not link to the hash of event 6' }]);
  assert.deepEqual([report.ok, report.anchored], [false, false]);
  const before = readFileSync(segment);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CHAIN_BROKEN', message: /breaks the chain at seq 7/ });
  assert.ok(readFileSync(segment).equals(before), 'nothing was appended');
});

test('a chain rewritten from its first event must start from the genesis hash and the genesis event', async () => {
  const root = tempDir('palyra-tamper-');
  const options = journalOptionsIn(root);
  const store = await JournalStore.open(options);
  for (let i = 2; i <= 5; i++) await store.append({ kind: 'note.added', payload: { i } });
  await store.close();
  // Without checkpoints only the chain itself can tell.
  rmSync(join(options.dir, 'checkpoints.jsonl'));
  const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
  const records = readFrames(segment).map((f) => f.record);
  const verify = () => verifyJournal(options.dir, { trustedKey: null });

  writeFrames(segment, rechain(records, 'ab'.repeat(32)));
  const report = await verify();
  assert.deepEqual(report.problems, [{ seq: 1, code: 'CHAIN_BROKEN', message: 'event 1 does not start from the genesis hash' }]);
  assert.equal(report.ok, false);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CHAIN_BROKEN', message: /breaks the chain at seq 1/ });

  writeFrames(segment, rechain(records.map((r) => (r.seq === 1 ? { ...r, kind: 'note.added' } : r)), GENESIS_HASH));
  const noGenesis = await verify();
  assert.deepEqual(noGenesis.problems, [{ seq: 1, code: 'GENESIS_MISSING', message: 'event 1 is "note.added", not the "journal.genesis" event' }]);
  assert.deepEqual([noGenesis.ok, noGenesis.origin], [false, null]);
});

test('a segment whose chain was recomputed from a forged start breaks the links at both of its ends', async () => {
  const { segments, verify } = await journalWithSegments();
  const third = segments[2] as string;
  const records = readFrames(third).map((f) => f.record);
  writeFrames(third, rechain(records, 'ab'.repeat(32)));
  const first = (records[0] as StoredRecord).seq;
  const next = (records[records.length - 1] as StoredRecord).seq + 1;
  const report = await verify();
  assert.deepEqual(report.problems, [
    { seq: first, code: 'CHAIN_BROKEN', message: `event ${first} does not link to the hash of event ${first - 1}` },
    { seq: next, code: 'CHAIN_BROKEN', message: `event ${next} does not link to the hash of event ${next - 1}` },
  ]);
  assert.deepEqual([report.ok, report.anchored], [false, false]);
});

test('a cut frame at the end of a segment that is not the newest is damage, not a torn tail', async () => {
  const { segments, verify } = await journalWithSegments();
  const second = segments[1] as string;
  const lastSeq = (readFrames(second).pop()?.record as StoredRecord).seq;
  const lastOffset = readFrames(second).pop()?.offset as number;
  truncateSync(second, statSync(second).size - 3);
  const report = await verify();
  const name = second.split('/').pop();
  assert.deepEqual(report.problems, [
    { seq: null, code: 'FRAME_TORN', message: `segment "${name}" ends in a cut frame at byte ${lastOffset} but is not the newest segment` },
    { seq: lastSeq + 1, code: 'SEQ_GAP', message: `event ${lastSeq} is missing before event ${lastSeq + 1}` },
  ]);
  assert.deepEqual([report.ok, report.tornTail], [false, null]);
});

test('a checkpoint signed by the journal key for another origin does not anchor this journal', async () => {
  const { options, checkpoints, verify } = await journalWithCheckpoints();
  const [, second] = readFileSync(checkpoints, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CheckpointRecord);
  const key = loadOrCreateSigningKey(options.keyPath, options.pubPath);
  const other = signCheckpoint({ origin: 'another-journal', size: 20, headHash: (second as CheckpointRecord).headHash, ts: (second as CheckpointRecord).ts }, null, key);
  writeFileSync(checkpoints, `${JSON.stringify(other)}\n`);
  const report = await verify();
  assert.deepEqual(report.problems, [
    { seq: 20, code: 'CHECKPOINT_ORIGIN', message: `checkpoint 1 (line 1, size 20): names origin "another-journal", not this journal's "${(second as CheckpointRecord).origin}"` },
  ]);
  assert.deepEqual([report.ok, report.anchored], [false, false]);
});

test('a deleted checkpoint line breaks the checkpoint chain', async () => {
  const { checkpoints, verify } = await journalWithCheckpoints();
  const second = readFileSync(checkpoints, 'utf8').split('\n')[1];
  writeFileSync(checkpoints, `${second}\n`);
  const report = await verify();
  assert.deepEqual(report.problems, [{ seq: 20, code: 'CHECKPOINT_CHAIN_BROKEN', message: 'checkpoint 2 (line 1, size 20): does not start the checkpoint chain' }]);
  assert.deepEqual([report.ok, report.anchored], [false, false]);
});

test('checkpoints are not trusted without a key to check them', async () => {
  const { options } = await journalWithCheckpoints();
  const report = await verifyJournal(options.dir, { trustedKey: null });
  assert.deepEqual(report.problems, [{ seq: null, code: 'CHECKPOINT_NO_KEY', message: 'checkpoints exist but no public key was found to check them: pass --key' }]);
  assert.deepEqual([report.ok, report.anchored, report.events], [false, false, 20]);
});

test('a segment overwritten by a copy of an older one is out of order, misnamed, and hides the events it replaced', async () => {
  const { segments, verify } = await journalWithSegments();
  const [second, third] = [segments[1] as string, segments[2] as string];
  const seqs = (path: string) => readFrames(path).map((f) => f.record.seq);
  const [older, replaced] = [seqs(second), seqs(third)];
  const [olderFirst, olderLast, first, last] = [older[0], older[older.length - 1], replaced[0], replaced[replaced.length - 1]] as [number, number, number, number];
  copyFileSync(second, third);
  const report = await verify();
  assert.deepEqual(report.problems, [
    { seq: olderFirst, code: 'SEQ_OUT_OF_ORDER', message: `event ${olderFirst} comes after event ${olderLast}` },
    { seq: olderFirst, code: 'SEGMENT_NAME_MISMATCH', message: `segment "${third.split('/').pop()}" is named for seq ${first} but starts at seq ${olderFirst}` },
    { seq: last + 1, code: 'SEQ_GAP', message: `events ${first}–${last} are missing before event ${last + 1}` },
  ]);
  assert.equal(report.ok, false);
});

test('a segment of another format version is refused, not read as this one', async () => {
  const { segments, verify } = await journalWithSegments();
  const second = segments[1] as string;
  const bytes = readFileSync(second);
  bytes.writeUInt32BE(2, 8);
  writeFileSync(second, bytes);
  const report = await verify();
  assert.deepEqual(report.problems[0], { seq: null, code: 'SEGMENT_HEADER', message: `segment "${second.split('/').pop()}" at byte 0: segment format version 2 is not supported` });
  assert.equal(report.ok, false);
});

test('a writer recomputes the hashes from the newest checkpoint on: content changed there (its CRC fixed) is refused, not chained onto and signed', async () => {
  for (const target of [19, 17]) {
    // Event 20 is the one checkpoint 2 signs; 18 lies after checkpoint 2's line is dropped.
    const { segment, options, checkpoints } = await journalWithCheckpoints();
    if (target === 17) writeFileSync(checkpoints, `${readFileSync(checkpoints, 'utf8').trimEnd().split('\n').slice(0, -1).join('\n')}\n`);
    const frames = readFrames(segment);
    const edited = frames.map((f, i) => (i === target ? reencode({ ...f.record, payloadJson: '{"i":0,"text":"changed later"}' }) : f.bytes));
    writeFrames(segment, edited);
    await assert.rejects(JournalStore.open(options), {
      code: 'PALYRA_JOURNAL_CORRUPT',
      message: `Journal event ${target + 1} does not match its hash: its content was changed after it was written; refusing to append; run 'palyrad journal verify'`,
    });
  }
});

test('a checkpoint file ending with a replayed older line, or with a line the key did not sign, is refused by a writer', async () => {
  const { options, checkpoints } = await journalWithCheckpoints();
  const original = readFileSync(checkpoints, 'utf8');
  const lines = original.trimEnd().split('\n');
  writeFileSync(checkpoints, `${original}${lines[0]}\n`);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CORRUPT', message: /ends with checkpoint 1, after checkpoint 2: it was altered/ });
  const forged = { ...(JSON.parse(lines[1] as string) as CheckpointRecord), n: 3, size: 50 };
  writeFileSync(checkpoints, `${original}${JSON.stringify(forged)}\n`);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CORRUPT', message: /^Checkpoint 3 in ".*" does not carry a valid signature of the journal's key/ });
  writeFileSync(checkpoints, original);
  const store = await JournalStore.open(options);
  await store.close();
});

test('a stray empty segment named past the head is refused, not appended into', async () => {
  const { segment, options } = await journalWithCheckpoints();
  const stray = join(segment, '..', 'seg-00000000000000000500.log');
  writeFileSync(stray, readFileSync(segment).subarray(0, 16));
  await assert.rejects(JournalStore.open(options), {
    code: 'PALYRA_JOURNAL_CORRUPT',
    message: /seg-00000000000000000500\.log" holds no event and is named for seq 500, but the log ends at seq 20: a stray segment file/,
  });
  assert.equal(statSync(stray).size, 16);
  rmSync(stray);
  const store = await JournalStore.open(options);
  await store.close();
});

test('the reserved header bytes must be zero: verify reports them, a writer refuses and says what to restore', async () => {
  const { segment, options, verify } = await journalWithCheckpoints();
  const bytes = readFileSync(segment);
  bytes[14] = 0x01;
  writeFileSync(segment, bytes);
  const report = await verify();
  assert.deepEqual(report.problems[0], { seq: null, code: 'SEGMENT_HEADER', message: `segment "${segment.split('/').pop()}" at byte 0: segment header has non-zero reserved bytes (12-15)` });
  assert.equal(report.ok, false);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CORRUPT', message: /four zero bytes \(docs\/journal-format\.md\); restore them from a copy$/ });
  assert.deepEqual(readFileSync(segment), bytes, 'nothing was changed');
});

test('a directory named like a segment is a problem for verify and a clear refusal for a writer, not EISDIR', async () => {
  const { segment, options, verify } = await journalWithCheckpoints();
  const stray = join(segment, '..', 'seg-00000000000000000021.log');
  mkdirSync(stray);
  const report = await verify();
  assert.deepEqual(report.problems, [{ seq: null, code: 'SEGMENT_NOT_FILE', message: 'seg-00000000000000000021.log is named like a segment but is not a regular file' }]);
  assert.deepEqual([report.ok, report.anchored, report.events], [false, false, 20]);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CORRUPT', message: /seg-00000000000000000021\.log" is not a regular file; move it out/ });
  rmSync(stray, { recursive: true });
  const store = await JournalStore.open(options);
  assert.equal((await store.append({ kind: 'note.added', payload: {} })).seq, 21);
  await store.close();
});


test('a frame another decoder would read differently is refused: a repeated key, a key that is no string, invalid UTF-8', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  const record = frames[2]?.record as NonNullable<(typeof frames)[number]['record']>;
  const original = Buffer.from(msgpackEncode(record));
  // 1. `kind` twice: a decoder keeping the last key sees the signed record, one keeping the first sees "evil.kind".
  const entries = original.subarray(1);
  const twice = Buffer.concat([Buffer.from([0xde, 0x00, 15]), Buffer.from(msgpackEncode('kind')), Buffer.from(msgpackEncode('evil.kind')), entries]);
  // 2. An integer key in front: JavaScript decoders make it the string "1".
  const intKey = Buffer.concat([Buffer.from([0xde, 0x00, 15, 0x01, 0xc0]), entries]);
  // 3. The payload's bytes changed into invalid UTF-8 that decodes to U+FFFD, as the original "�" did.
  const withReplacement = Buffer.from(msgpackEncode({ ...record, payloadJson: '{"i":3,"text":"\uFFFD"}' }));
  const at = withReplacement.indexOf(Buffer.from([0xef, 0xbf, 0xbd]));
  const invalid = Buffer.concat([withReplacement.subarray(0, at), Buffer.from([0xff, 0x20, 0x20]), withReplacement.subarray(at + 3)]);
  const cases: [Buffer, RegExp][] = [
    [twice, /map key "kind" appears twice/],
    [intKey, /a map key at byte 3 is not a string/],
    [invalid, /is not valid UTF-8/],
  ];
  for (const [body, message] of cases) {
    writeFrames(segment, frames.map((f, i) => (i === 2 ? frameAround(body) : f.bytes)));
    const report = await verify();
    assert.equal(report.ok, false);
    assert.equal(report.problems[0]?.code, 'FRAME_DECODE', JSON.stringify(report.problems));
    assert.match(report.problems[0]?.message ?? '', message);
  }
  // The same record from another encoder's byte choices (a map16 header) still reads.
  writeFrames(segment, frames.map((f, i) => (i === 2 ? frameAround(Buffer.concat([Buffer.from([0xde, 0x00, 14]), entries])) : f.bytes)));
  assert.deepEqual((await verify()).problems, []);
});

test('a checkpoint signature spelled another way (URL-safe, unpadded) is an invalid line, though its bytes decode to the same signature', async () => {
  const { checkpoints, verify } = await journalWithCheckpoints();
  const lines = readFileSync(checkpoints, 'utf8').trimEnd().split('\n');
  const last = JSON.parse(lines[1] as string) as CheckpointRecord;
  const respelled = { ...last, sig: last.sig.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') };
  writeFileSync(checkpoints, `${lines[0]}\n${JSON.stringify(respelled)}\n`);
  const report = await verify();
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems.map((p) => [p.code, p.message]), [['CHECKPOINT_INVALID', 'checkpoint line 2: sig is not an Ed25519 signature in standard base64 (88 characters)']]);
  // The 86th character carries 2 bits; its 4 unused bits set still decode to the same bytes.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const lastDigit = alphabet.indexOf(last.sig[85] as string);
  const lowBitsSet = { ...last, sig: `${last.sig.slice(0, 85)}${alphabet[lastDigit | 0b1111]}==` };
  assert.deepEqual(Buffer.from(lowBitsSet.sig, 'base64'), Buffer.from(last.sig, 'base64'));
  writeFileSync(checkpoints, `${lines[0]}\n${JSON.stringify(lowBitsSet)}\n`);
  assert.deepEqual((await verify()).problems.map((p) => p.code), ['CHECKPOINT_INVALID']);
});

test('a checkpoint line with an extra key holding 1e400 (Infinity once parsed) is an invalid line, not a verify that stops with an error', async () => {
  const { checkpoints, verify } = await journalWithCheckpoints();
  const lines = readFileSync(checkpoints, 'utf8').trimEnd().split('\n');
  writeFileSync(checkpoints, `${(lines[0] as string).slice(0, -1)},"note":1e400}\n${lines[1]}\n`);
  const report = await verify();
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems.map((p) => p.code), ['CHECKPOINT_INVALID', 'CHECKPOINT_CHAIN_BROKEN']);
  assert.match(report.problems[0]?.message ?? '', /^checkpoint line 1: it holds a value canonical JSON cannot express/);
});

test('a checkpoint line with a key repeated is an invalid line: JSON.parse keeps the last value, other readers the first', async () => {
  const { checkpoints, verify } = await journalWithCheckpoints();
  const lines = readFileSync(checkpoints, 'utf8').trimEnd().split('\n');
  const last = lines[1] as string;
  // The real size comes last, so this verifier's parse sees the signed checkpoint unchanged.
  writeFileSync(checkpoints, `${lines[0]}\n{"size":1,${last.slice(1)}\n`);
  const report = await verify();
  assert.equal(report.ok, false);
  assert.deepEqual(report.problems.map((p) => [p.code, p.message]), [['CHECKPOINT_INVALID', 'checkpoint line 2: key "size" appears more than once in one object']]);
  // Nested objects have keys of their own; one spelled with an escape is the same key.
  writeFileSync(checkpoints, `${lines[0]}\n${last.slice(0, -1)},"note":{"a":[{"a":1},{"a":2}],"\\u0061":3}}\n`);
  assert.deepEqual((await verify()).problems.map((p) => p.message), ['checkpoint line 2: key "a" appears more than once in one object']);
  writeFileSync(checkpoints, `${lines[0]}\n${last.slice(0, -1)},"note":{"a":[{"a":1},{"a":2}],"b":"\\"a\\",\\"a\\""}}\n`);
  assert.deepEqual((await verify()).problems.map((p) => p.code), ['CHECKPOINT_BAD_SIGNATURE'], 'repeats only across objects or inside strings: valid in form (the extra key is not signed)');
});

test('a second event 1 further on is out of order, not a second genesis: the journal keeps its origin', async () => {
  const { segment, verify } = await journalWithCheckpoints();
  const frames = readFrames(segment);
  const genesis = frames[0]?.record as StoredRecord;
  const forged: StoredRecord = { ...genesis, kind: 'note.added', payloadJson: '{"origin":"palyra:journal:forged"}' };
  forged.hash = computeRecordHash(forged);
  writeFrames(segment, [...frames.slice(0, 10).map((f) => f.bytes), reencode(forged), ...frames.slice(10).map((f) => f.bytes)]);
  const report = await verify();
  assert.deepEqual(report.problems, [{ seq: 1, code: 'SEQ_OUT_OF_ORDER', message: 'event 1 comes after event 10' }]);
  assert.equal(report.origin, JSON.parse(genesis.payloadJson).origin);
});
