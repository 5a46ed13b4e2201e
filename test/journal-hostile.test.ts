// Regressions found by the fuzzer (journal-fuzz.test.ts): frames, checkpoint lines and
// files crafted to make `journal verify` crash, hang, allocate what a header claims, or
// print an attacker's bytes into the auditor's terminal.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { JournalStore, loadTrustedKey, verifyJournal } from '../core/journal/index.ts';
import { crc32 } from '../core/journal/crc32.ts';
import { BodyNotARecordError, decodeRecordBody } from '../core/journal/record-codec.ts';
import { searchWholeFrameAfter } from '../core/journal/segments.ts';
import { journalOptionsIn } from './helpers/journal-fixture.ts';
import { readFrames, writeFrames } from './helpers/journal-surgery.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** A closed journal of 6 events, its checkpoint at the head. */
async function smallJournal() {
  const root = tempDir('palyra-hostile-');
  const options = journalOptionsIn(root);
  const store = await JournalStore.open(options);
  for (let i = 2; i <= 6; i++) await store.append({ kind: 'note.added', payload: { i } });
  await store.close();
  const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
  const checkpoints = join(options.dir, 'checkpoints.jsonl');
  return { root, options, segment, checkpoints, verify: () => verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) }) };
}

function frame(body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

test('a body of arrays nested a million deep is not decoded: it is no record', () => {
  const deep = Buffer.concat([Buffer.alloc(1_000_000, 0x91), Buffer.from([0xc0])]);
  const started = performance.now();
  assert.throws(() => decodeRecordBody(deep), (e: unknown) => e instanceof BodyNotARecordError && /more than 1000 values/.test((e as Error).message));
  assert.ok(performance.now() - started < 500);
});

test('a body claiming 4 billion array items or map entries is judged after 1000 values, not built', () => {
  const wide = Buffer.concat([Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(4000, 0xc0)]);
  assert.throws(() => decodeRecordBody(wide), BodyNotARecordError);
  const manyKeys = Buffer.concat([Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), ...Array.from({ length: 600 }, (_, i) => Buffer.from(`a3${Buffer.from(i.toString(36).padStart(3, '0')).toString('hex')}c0`, 'hex'))]);
  assert.throws(() => decodeRecordBody(manyKeys), BodyNotARecordError);
});

test('a checksummed frame nesting arrays deep is RECORD_INVALID, and verify reads on', async () => {
  const { segment, verify } = await smallJournal();
  const frames = readFrames(segment);
  const deep = frame(Buffer.concat([Buffer.alloc(2_000_000, 0x91), Buffer.from([0xc0])]));
  writeFrames(segment, frames.map((f, i) => (i === 2 ? deep : f.bytes)));
  const report = await verify();
  const offset = frames[2]?.offset;
  assert.deepEqual(report.problems.slice(0, 2), [
    { seq: null, code: 'RECORD_INVALID', message: `segment "seg-00000000000000000001.log" at byte ${offset}: frame body holds more than 1000 values (nested or repeated): not a record` },
    { seq: 4, code: 'SEQ_GAP', message: 'event 3 is missing before event 4' },
  ]);
});

test('a RECORD_INVALID frame whose seq is -Infinity names no seq', async () => {
  const { segment, verify } = await smallJournal();
  const frames = readFrames(segment);
  const body = Buffer.from((frames[2] as { bytes: Buffer }).bytes.subarray(8));
  // The fast decoder reads palyrad's own layout: seq is the second key, a positive fixint here.
  const at = body.indexOf(Buffer.from([0xa3, 0x73, 0x65, 0x71])) + 4;
  const forged = Buffer.concat([body.subarray(0, at), Buffer.from('cbfff0000000000000', 'hex'), body.subarray(at + 1)]);
  writeFrames(segment, frames.map((f, i) => (i === 2 ? frame(forged) : f.bytes)));
  const report = await verify();
  assert.deepEqual(report.problems[0], { seq: null, code: 'RECORD_INVALID', message: `segment "seg-00000000000000000001.log" at byte ${frames[2]?.offset}: seq is not a positive integer` });
});

test('a record version of 100,000 characters gives a short message', async () => {
  const { segment, verify } = await smallJournal();
  const frames = readFrames(segment);
  const body = Buffer.from((frames[1] as { bytes: Buffer }).bytes.subarray(8));
  const at = body.indexOf(Buffer.from([0xa1, 0x76])) + 2; // "v": its value is the byte after
  const long = Buffer.concat([Buffer.from([0xdb, 0, 1, 0x86, 0xa0]), Buffer.alloc(100_000, 0x1b)]);
  const forged = Buffer.concat([body.subarray(0, at), long, body.subarray(at + 1)]);
  writeFrames(segment, frames.map((f, i) => (i === 1 ? frame(forged) : f.bytes)));
  const report = await verify();
  assert.deepEqual(report.problems[0], {
    seq: 2,
    code: 'RECORD_INVALID',
    message: `segment "seg-00000000000000000001.log" at byte ${frames[1]?.offset}: unsupported record version "${'\\u001b'.repeat(64)}… (100000 characters)"`,
  });
});

test('a checkpoint naming an origin with terminal escapes is quoted inert', async () => {
  const { checkpoints, verify } = await smallJournal();
  const line = JSON.parse(readFileSync(checkpoints, 'utf8').trim()) as Record<string, unknown>;
  writeFileSync(checkpoints, `${JSON.stringify({ ...line, origin: '\u001b[2J\u009b31m\u202eowned', keyId: `\u001b]0;${'k'.repeat(100)}\u0007` })}\n`);
  const report = await verify();
  assert.deepEqual(report.problems, [
    { seq: 6, code: 'CHECKPOINT_UNKNOWN_KEY', message: `checkpoint 1 (line 1, size 6): signed by key "\\u001b]0;${'k'.repeat(60)}… (105 characters)", not the trusted key ${loadTrustedKey(join(checkpoints, '..', '..', 'keys', 'checkpoint.pub')).keyId}` },
    { seq: 6, code: 'CHECKPOINT_ORIGIN', message: `checkpoint 1 (line 1, size 6): names origin "\\u001b[2J\\u009b31m\\u202eowned", not this journal's "${report.origin}"` },
  ]);
});

test('a checkpoint version nested 100,000 deep is CHECKPOINT_INVALID, not a stack overflow', async () => {
  const { checkpoints, verify } = await smallJournal();
  const line = readFileSync(checkpoints, 'utf8').trim();
  writeFileSync(checkpoints, `${line.replace('"v":1', `"v":${'['.repeat(100_000)}${']'.repeat(100_000)}`)}\n`);
  const report = await verify();
  assert.deepEqual(report.problems[0], { seq: null, code: 'CHECKPOINT_INVALID', message: 'checkpoint line 1: unsupported checkpoint version an array' });
});

test('bytes crafted so that every other offset looks like a frame of megabytes are judged in time', async () => {
  const { segment, verify } = await smallJournal();
  const header = readFileSync(segment).subarray(0, 16);
  // Blocks of 8 bytes starting 00 00 30 (a length of ~3 MiB that fits) before 8 bytes of 0x85 (a fixmap).
  const pattern = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < pattern.length; i += 16) {
    pattern[i + 2] = 0x30;
    pattern.fill(0x85, i + 8, i + 16);
  }
  writeFileSync(segment, Buffer.concat([header, Buffer.alloc(8, 0xff), pattern]));
  const started = performance.now();
  const report = await verify();
  assert.ok(performance.now() - started < 5000, `took ${Math.round(performance.now() - started)} ms`);
  assert.equal(report.problems[0]?.code, 'FRAME_LENGTH');
  assert.match(report.problems[0]?.message ?? '', /^segment "seg-00000000000000000001\.log" at byte 16: frame length 4294967295 is impossible, and frame-like bytes follow from byte \d+ in numbers no crash leaves$/);
});

test('the search for a whole frame after damage reads a large segment in windows', () => {
  const path = join(tempDir('palyra-hostile-'), 'seg-00000000000000000001.log');
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.alloc(8, 0xff), 0, 8, 16);
  ftruncateSync(fd, 64 * 1024 * 1024); // sparse: costs no disk
  closeSync(fd);
  const before = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)), 1);
  const result = searchWholeFrameAfter(path, 16);
  peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
  clearInterval(timer);
  assert.deepEqual(result, { type: 'none' });
  assert.ok(peak < 16 * 1024 * 1024, `held ${Math.round(peak / 1024 / 1024)} MiB`);
});

test('a checkpoint file that is a FIFO or a directory is CHECKPOINT_FILE_INVALID, never a blocked read', async (t) => {
  const { checkpoints, verify } = await smallJournal();
  rmSync(checkpoints);
  mkdirSync(checkpoints);
  const dir = await verify();
  assert.deepEqual(dir.problems, [{ seq: null, code: 'CHECKPOINT_FILE_INVALID', message: 'checkpoints.jsonl cannot be read as checkpoints: it is not a regular file' }]);
  assert.deepEqual([dir.ok, dir.anchored], [false, false]);
  rmSync(checkpoints, { recursive: true });
  try {
    execFileSync('mkfifo', [checkpoints]);
  } catch {
    t.diagnostic('mkfifo is not available: the FIFO case is not checked');
    return;
  }
  const fifo = await verify();
  assert.deepEqual(fifo.problems, dir.problems);
});

test('a segment that is a FIFO is SEGMENT_NOT_FILE, never a blocked read', async (t) => {
  const { options, verify } = await smallJournal();
  try {
    execFileSync('mkfifo', [join(options.dir, 'segments', 'seg-00000000000000000007.log')]);
  } catch {
    t.diagnostic('mkfifo is not available');
    return;
  }
  const report = await verify();
  assert.deepEqual(report.problems, [{ seq: null, code: 'SEGMENT_NOT_FILE', message: 'seg-00000000000000000007.log is named like a segment but is not a regular file' }]);
});

test('a public key that is a FIFO or a huge file is refused, never read forever', async (t) => {
  const { root } = await smallJournal();
  const big = join(root, 'big.pub');
  writeFileSync(big, Buffer.alloc(1024 * 1024, 0x41));
  assert.throws(() => loadTrustedKey(big), { code: 'PALYRA_KEY_INVALID', message: `Public key "${big}" is not an Ed25519 PEM public key: it is 1048576 bytes` });
  const fifo = join(root, 'fifo.pub');
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    t.diagnostic('mkfifo is not available');
    return;
  }
  assert.throws(() => loadTrustedKey(fifo), { code: 'PALYRA_KEY_INVALID', message: `Public key "${fifo}" is not an Ed25519 PEM public key: it is not a regular file` });
});
