import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { GENESIS_HASH, PalyraError, type JsonValue } from '../base/index.ts';
import { loadSqlJs } from '../base/sqljs.ts';
import { loadTrustedKey } from './checkpoints.ts';
import { JournalStore } from './journal-store.ts';
import { newestRecords, readRecords } from './log-reader.ts';
import { Redactor } from './redact.ts';
import { verifyJournal } from './verify.ts';

test('a new journal starts with its genesis event and chains every append', async () => {
  const { store, options } = await freshJournal();
  const a = await store.append({ kind: 'note.added', payload: { text: 'hello' }, sessionId: 's1' });
  const b = await store.append({ kind: 'note.added', payload: { text: 'world' } });
  assert.equal(a.seq, 2);
  assert.equal(b.seq, 3);
  await store.close();
  const records = [...readRecords(join(options.dir, 'segments'))].map((l) => l.record);
  assert.deepEqual(
    records.map((r) => [r.seq, r.kind, r.sessionId]),
    [
      [1, 'journal.genesis', null],
      [2, 'note.added', 's1'],
      [3, 'note.added', null],
    ],
  );
  assert.equal(records[0]?.prevHash, GENESIS_HASH);
  assert.equal(records[1]?.prevHash, records[0]?.hash);
  assert.equal(records[2]?.hash, b.hash);
  assert.match(JSON.parse(records[0]?.payloadJson ?? '{}').origin, /^palyra:journal:[0-9A-Z]{26}$/);
});

test('concurrent appends get contiguous seqs and share fsyncs (group commit)', async () => {
  const started = performance.now();
  const { store, options } = await freshJournal();
  const results = await Promise.all(Array.from({ length: 500 }, (_, i) => store.append({ kind: 'load.tick', payload: { i } })));
  assert.deepEqual(
    results.map((r) => r.seq).sort((x, y) => x - y),
    Array.from({ length: 500 }, (_, i) => i + 2),
  );
  const stats = store.stats();
  assert.equal(stats.appends, 501);
  // The writes' disk time is counted: some, and no more than the appends took in all.
  assert.ok(stats.writeSeconds > 0 && stats.writeSeconds < (performance.now() - started) / 1000, `write seconds ${stats.writeSeconds}`);
  assert.ok(stats.batches < 50, `expected few batches for 500 appends in one tick, got ${stats.batches}`);
  await store.close();
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  assert.equal(report.events, 501);
  assert.equal(report.anchored, true, 'close signs a final checkpoint');
});

test('reopening continues the chain where it ended', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 1 });
  const head = store.durable;
  await store.close();
  const again = await JournalStore.open(options);
  assert.deepEqual(again.durable, head);
  assert.equal(again.origin, store.origin);
  const next = await again.append({ kind: 'note.added', payload: 2 });
  assert.equal(next.seq, head.seq + 1);
  await again.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('a checkpoint line a crash tore is cut before the next checkpoint is appended', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 1 });
  await store.close();
  const path = join(options.dir, 'checkpoints.jsonl');
  appendFileSync(path, '{"v":1,"n":3,"origin":"pal');
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true, 'readers skip the torn line');
  const again = await JournalStore.open(options);
  await again.append({ kind: 'note.added', payload: 2 });
  await again.checkpoint();
  await again.close();
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.deepEqual([report.ok, report.anchored, report.problems], [true, true, []]);
  assert.ok(readFileSync(path, 'utf8').split('\n').every((line) => line === '' || line.startsWith('{"v":1') && line.endsWith('}')));
});

test('bad input is refused with a clear error and writes nothing', async () => {
  const { store, options } = await freshJournal({ maxPayloadBytes: 200 });
  const before = store.durable;
  await assert.rejects(store.append({ kind: 'Bad Kind', payload: {} }), { code: 'PALYRA_INVALID_ARGUMENT', message: /Invalid event kind "Bad Kind"/ });
  await assert.rejects(store.append({ kind: 'x.y', payload: { n: Number.NaN } }), { code: 'PALYRA_INVALID_ARGUMENT', message: /Invalid payload for "x.y": .*not a finite number/ });
  await assert.rejects(store.append({ kind: 'x.y', payload: "a".repeat(300) }), {
    code: 'PALYRA_PAYLOAD_TOO_LARGE',
    message: 'Payload of "x.y" is 302 bytes, over the journal limit of 200 bytes',
  });
  await assert.rejects(store.append({ kind: 'x.y', payload: {}, sessionId: 'a b' }), { code: 'PALYRA_INVALID_ARGUMENT', message: /Invalid session id "a b"/ });
  assert.deepEqual(store.durable, before);
  const ok = await store.append({ kind: 'x.y', payload: {} });
  assert.equal(ok.seq, before.seq + 1, 'a refused append burns no sequence number');
  await store.close();
  await assert.rejects(store.append({ kind: 'x.y', payload: {} }), { code: 'PALYRA_JOURNAL_CLOSED' });
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('secrets are redacted before the frame is written, and counted on the event', async () => {
  const known = 'my-very-own-provider-key-123456';
  const { store, options } = await freshJournal({ redactor: new Redactor({ knownSecrets: [known] }) });
  const r = await store.append({
    kind: 'provider.called',
    payload: { api_key: 'abc-123-secret-value', usage: { prompt_tokens: 12, max_tokens: 100 }, note: `using ${known}`, body: JSON.stringify({ password: 'hunter2hunter2' }) },
  });
  assert.equal(r.redactions, 3);
  const event = store.readEvent(r.seq);
  assert.deepEqual(event?.payload, {
    api_key: '[REDACTED:key]',
    usage: { prompt_tokens: 12, max_tokens: 100 },
    note: 'using [REDACTED:known_secret]',
    body: '{"password":"[REDACTED:key]"}',
  });
  assert.deepEqual(JSON.parse(r.payloadJson), event?.payload, 'append resolves with the payload as written');
  await store.close();
  for (const file of readdirSync(join(options.dir, 'segments'))) {
    const raw = readFileSync(join(options.dir, 'segments', file)).toString('latin1');
    for (const secret of ['abc-123-secret-value', known, 'hunter2hunter2']) assert.equal(raw.includes(secret), false, `${secret} reached ${file}`);
  }
});

test('segments roll over at the size limit and the whole log still verifies', async () => {
  const { store, options } = await freshJournal({ maxSegmentBytes: 4096 });
  for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 20 }, (_, j) => store.append({ kind: 'fill.up', payload: { i, j, pad: 'x'.repeat(50) } })));
  await store.close();
  const segments = readdirSync(join(options.dir, 'segments'));
  assert.ok(segments.length > 3, `expected several segments, got ${segments.length}`);
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.deepEqual([report.ok, report.events, report.segments], [true, 201, segments.length]);
  const again = await JournalStore.open(options);
  assert.equal((await again.append({ kind: 'after.reopen', payload: {} })).seq, 202);
  await again.close();
});

test('a torn tail is cut on open, kept in quarantine, and recorded', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 'kept' });
  await store.close();
  const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
  const goodSize = statSync(segment).size;
  appendFileSync(segment, Buffer.from([0, 0, 0, 200, 1, 2, 3, 4, 5, 6])); // a frame header promising 200 bytes, then 2
  const again = await JournalStore.open(options);
  assert.equal(statSync(segment).size > goodSize, true, 'the recovery event was appended after the cut');
  assert.deepEqual(again.recovery && { cutBytes: again.recovery.cutBytes, reason: again.recovery.reason }, { cutBytes: 10, reason: 'frame body cut short' });
  assert.deepEqual([...readFileSync(again.recovery?.quarantinedTo ?? '')], [0, 0, 0, 200, 1, 2, 3, 4, 5, 6]);
  const last = again.recentEvents(1)[0];
  assert.equal(last?.kind, 'journal.recovered');
  await again.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('a frame header damaged in the middle of the newest segment is refused, not cut, snapshot or not: the events after it were written', async () => {
  const { store, options } = await freshJournal();
  for (let i = 0; i < 10; i++) await store.append({ kind: 'note.added', payload: { i } });
  await store.close(); // signs a checkpoint over the first events
  const again = await JournalStore.open(options);
  for (let i = 10; i < 20; i++) await again.append({ kind: 'note.added', payload: { i } });
  const written = again.durable.seq;
  await again.close();
  // The last checkpoint line goes (no checkpoint covers the second session now), and a
  // frame header in the middle of the second session is damaged: its length runs past
  // the end of the file, which on its own looks like a write a crash cut short; but the
  // whole frames after it were written (and acknowledged) after it.
  const checkpoints = readFileSync(join(options.dir, 'checkpoints.jsonl'), 'utf8').trimEnd().split('\n');
  writeFileSync(join(options.dir, 'checkpoints.jsonl'), `${checkpoints.slice(0, -1).join('\n')}\n`);
  const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
  const bytes = readFileSync(segment);
  const at = frameOffsetOf(bytes, written - 5);
  const next = frameOffsetOf(bytes, written - 4);
  bytes.writeUInt32BE(0x00ffffff, at);
  writeFileSync(segment, bytes);
  const refusal = {
    code: 'PALYRA_JOURNAL_CORRUPT',
    message: new RegExp(`is damaged at byte ${at} \\(frame body cut short; whole frames follow from byte ${next}\\): nothing was changed, .*truncate it to ${at} bytes$`),
  };
  await assert.rejects(JournalStore.open(options), refusal);
  // Without the index snapshot too: the damage itself says events were written after it.
  renameSync(join(options.dir, 'index.sqlite'), join(options.dir, 'index.sqlite.moved'));
  await assert.rejects(JournalStore.open(options), refusal);
  assert.deepEqual(readFileSync(segment), bytes, 'the log is untouched');
  assert.equal(existsSync(join(options.dir, 'quarantine')), false);
});

test('a last write the disk kept out of order (a page of zeros, then whole frames) is cut as torn, by the writer and in verify', async () => {
  for (const damage of ['zeroed header', 'zeroed body'] as const) {
    const { store, options } = await freshJournal();
    await store.append({ kind: 'note.added', payload: { text: 'acknowledged' } });
    const kept = store.durable.seq;
    await store.close();
    const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
    const good = statSync(segment).size;
    // The last batch: three frames, of which the first never reached the disk whole.
    const batch = await framesOf([{ n: 1, text: 'x'.repeat(300) }, { n: 2 }, { n: 3 }], kept);
    const first = batch[0] as Buffer;
    if (damage === 'zeroed header') first.fill(0);
    else first.fill(0, 8 + 100); // the body from byte 100 on: a page the disk did not write
    appendFileSync(segment, Buffer.concat([...batch, Buffer.alloc(4096)]));
    const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
    assert.equal(report.ok, true, `${damage}: ${JSON.stringify(report.problems)}`);
    assert.deepEqual(report.tornTail, { segment: segment.split('/').pop(), offset: good });
    const reopened = await JournalStore.open(options);
    assert.equal(reopened.recovery?.cutBytes, statSync(join(reopened.recovery?.quarantinedTo ?? '')).size + 4096, damage);
    assert.equal(reopened.durable.seq, kept + 1, 'the recovery event follows the last acknowledged one');
    await reopened.close();
    assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
  }
});

/** Frames that would follow event `afterSeq` of a journal (their chain does not matter here: none is read back). */
async function framesOf(payloads: JsonValue[], afterSeq: number): Promise<Buffer[]> {
  const { encodeFrame } = await import('./frame.ts');
  const { computeRecordHash } = await import('./record.ts');
  return payloads.map((payload, i) => {
    const record = { v: 1, seq: afterSeq + 1 + i, id: `01J${i}`, ts: 0, kind: 'note.added', sessionId: null, runId: null, actor: 'system', principal: null, channel: null, payloadJson: JSON.stringify(payload), redactions: 0, prevHash: GENESIS_HASH, hash: '' };
    record.hash = computeRecordHash(record);
    return encodeFrame(record);
  });
}

test('a log that ends before its last signed checkpoint is refused, not silently extended', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 1 });
  await store.checkpoint();
  await store.close();
  const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
  const records = [...readRecords(join(options.dir, 'segments'))];
  const { truncateSync } = await import('node:fs');
  truncateSync(segment, records[records.length - 1]?.offset ?? 0);
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_JOURNAL_CORRUPT', message: /ends at seq 1 but signed checkpoint 1 covers 2 events/ });
});

test('the index is replayed from its snapshot, rebuilt when missing, and bounded by retention', async () => {
  const { store, options } = await freshJournal({ indexRetention: 100 });
  for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: 100 }, (_, j) => store.append({ kind: 'fill.up', payload: { i, j }, runId: `run-${i}` })));
  const stats = store.index.stats();
  assert.ok(stats.events >= 100 && stats.events <= 110, `retention bound: ${stats.events}`);
  assert.equal(store.index.locate(1), null, 'old events leave the index');
  assert.equal(store.readEvent(1)?.kind, 'journal.genesis', 'but stay readable from the log');
  assert.deepEqual(store.readEvent(250)?.payload, { i: 2, j: 48 });
  const fromLog = store.eventsAfter(0, 3);
  assert.deepEqual(fromLog.map((e) => e.seq), [1, 2, 3], 'events before the index window stream from the log');
  assert.equal(fromLog[0]?.kind, 'journal.genesis');
  const fromIndex = store.eventsAfter(295, 50);
  assert.deepEqual(fromIndex.map((e) => e.seq), [296, 297, 298, 299, 300, 301], 'stops at the durable head');
  assert.deepEqual(fromIndex[0]?.payload, store.readEvent(296)?.payload);
  assert.deepEqual(store.eventsAfter(301, 10), [], 'nothing after the head');
  await store.close();

  const replayed = await JournalStore.open(options);
  assert.equal(replayed.index.lastSeq, 301);
  assert.equal(replayed.index.ofRun('run-2').length, 100);
  assert.deepEqual(replayed.readEvent(replayed.index.ofRun('run-2')[0]?.seq ?? 0)?.runId, 'run-2');
  await replayed.close();

  rmSync(join(options.dir, 'index.sqlite'));
  const rebuilt = await JournalStore.open(options);
  assert.deepEqual(rebuilt.index.stats(), { events: 100, oldestSeq: 202, lastSeq: 301 });
  await rebuilt.close();
  const header = readFileSync(join(options.dir, 'index.sqlite')).subarray(0, 15).toString('latin1');
  assert.equal(header, 'SQLite format 3');
});

test('a failed write rejects the batch and everything queued behind it, and acknowledges nothing', async () => {
  const warnings: string[] = [];
  const { store, options } = await freshJournal({ onWarning: (m) => void warnings.push(m) });
  await store.append({ kind: 'note.added', payload: 'durable' });
  const before = store.durable;
  // Pull the segment's file out from under the store: the next write fails with EBADF.
  (store as unknown as { link: { log: { close(): void } } }).link.log.close();
  const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.append({ kind: 'note.added', payload: i })));
  assert.deepEqual(
    results.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code),
    Array(5).fill('PALYRA_JOURNAL_WRITE_FAILED'),
  );
  assert.deepEqual(store.durable, before, 'the durable head did not move');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /^writes stopped: .*EBADF; restart to recover; 5 event\(s\) refused in 1 failed write\(s\); every append is refused until the daemon restarts$/);
  await assert.rejects(store.append({ kind: 'note.added', payload: 'after' }), { code: 'PALYRA_JOURNAL_WRITE_FAILED', message: /restart to recover/ });
  await store.close().catch(() => undefined);
  const reopened = await JournalStore.open(options);
  assert.deepEqual(reopened.durable, before, 'nothing unacknowledged is in the log');
  await reopened.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('automatic checkpoints are signed under sustained load, one at a time', async () => {
  const { store, options } = await freshJournal({ checkpointEveryEvents: 100 });
  let n = 0;
  // 16 writers that never pause: the store is never idle while they run.
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (n < 2000) await store.append({ kind: 'load.tick', payload: { n: n++ } });
  }));
  const signedUnderLoad = readCheckpointLines(options.dir);
  assert.ok(signedUnderLoad.length >= 10, `expected about 20 checkpoints under load, got ${signedUnderLoad.length}`);
  assert.deepEqual(signedUnderLoad.map((c) => c.n), signedUnderLoad.map((_, i) => i + 1), 'numbered without gaps or duplicates');
  const flushedAt = store.durable.seq;
  const onDemand = await store.checkpoint();
  assert.equal(onDemand.checkpoint.size, flushedAt, 'an on-demand checkpoint covers everything appended before it');
  await store.close();
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.deepEqual([report.ok, report.anchored], [true, true]);
});

function readCheckpointLines(dir: string): { n: number; size: number }[] {
  return readFileSync(join(dir, 'checkpoints.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { n: number; size: number });
}

test('an index snapshot from another journal is detected as stale and rebuilt, whether it holds more, as many or fewer events', async () => {
  const b = await freshJournal();
  for (let i = 0; i < 4; i++) await b.store.append({ kind: 'note.added', payload: `b${i}`, runId: 'run-b' });
  await b.store.close();
  for (const appends of [29, 4, 2]) {
    const a = await freshJournal();
    await Promise.all(Array.from({ length: appends }, (_, i) => a.store.append({ kind: 'note.added', payload: { i }, runId: 'run-a' })));
    await a.store.close();
    copyFileSync(join(a.options.dir, 'index.sqlite'), join(b.options.dir, 'index.sqlite'));
    const reopened = await JournalStore.open(b.options);
    const index = { stats: reopened.index.stats(), a: reopened.index.ofRun('run-a').length, b: reopened.index.ofRun('run-b').length };
    assert.deepEqual(index, { stats: { events: 5, oldestSeq: 1, lastSeq: 5 }, a: 0, b: 4 }, `a snapshot of ${appends + 1} events`);
    assert.equal(reopened.readEvent(2)?.payload, 'b0');
    await reopened.close();
  }
});

test('a frame damaged after it was indexed is refused when read, never returned changed', async () => {
  const { store, options } = await freshJournal();
  for (const text of ['first note', 'second note', 'third note']) await store.append({ kind: 'note.added', payload: { text } });
  const segment = join(options.dir, 'segments', readdirSync(join(options.dir, 'segments'))[0] as string);
  const bytes = readFileSync(segment);
  bytes[bytes.indexOf('second note') as number] = 'S'.charCodeAt(0);
  writeFileSync(segment, bytes);
  assert.throws(() => store.readEvent(3), { code: 'PALYRA_JOURNAL_CORRUPT', message: /is damaged at byte \d+: frame fails its checksum/ });
  assert.deepEqual(store.readEvent(4)?.payload, { text: 'third note' });
  await store.close();
});

test('a checkpoint asked for when the last one covers the head is that one, not a new line', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 1 });
  const first = await store.checkpoint();
  const again = await store.checkpoint();
  assert.deepEqual([first.created, again.created, again.checkpoint], [true, false, first.checkpoint]);
  await store.close();
  assert.equal(readFileSync(join(options.dir, 'checkpoints.jsonl'), 'utf8').trim().split('\n').length, 1, 'close signed nothing new either');
});

test('a damaged index snapshot, or one with another page size, is replaced by a correct index', async () => {
  const { store, options } = await freshJournal();
  await Promise.all(Array.from({ length: 40 }, (_, i) => store.append({ kind: 'note.added', payload: { i }, runId: `run-${i % 2}` })));
  await store.close();
  const snapshotPath = join(options.dir, 'index.sqlite');
  const good = readFileSync(snapshotPath);
  const expected = { events: 41, oldestSeq: 1, lastSeq: 41 };

  writeFileSync(snapshotPath, Buffer.concat([good.subarray(0, 100), Buffer.alloc(good.length - 100, 0xa5)]));
  const afterDamage = await JournalStore.open(options);
  assert.deepEqual(afterDamage.index.stats(), expected);
  assert.equal(afterDamage.index.ofRun('run-1').length, 20);
  await afterDamage.close();

  // The same index in a file of 1 KiB pages (as `sqlite3 index.sqlite 'PRAGMA page_size=1024; VACUUM'` leaves it).
  const SQL = await loadSqlJs();
  const resized = new SQL.Database(readFileSync(snapshotPath));
  resized.exec('PRAGMA page_size=1024; VACUUM');
  writeFileSync(snapshotPath, resized.export());
  resized.close();
  const afterResize = await JournalStore.open(options);
  assert.deepEqual(afterResize.index.stats(), expected);
  assert.equal(afterResize.index.ofRun('run-0').length, 20);
  assert.equal(afterResize.readEvent(afterResize.index.ofRun('run-0')[19]?.seq ?? 0)?.runId, 'run-0');
  await afterResize.close();
});

test('a snapshot whose pages, rows or tables were changed is not trusted: it is rebuilt from the log, and a rebuild keeps the origin', async () => {
  const { store, options } = await freshJournal();
  for (let i = 0; i < 4; i++) await Promise.all(Array.from({ length: 500 }, (_, j) => store.append({ kind: 'note.added', payload: { j }, runId: `run-${j % 2}` })));
  await store.close();
  const snapshotPath = join(options.dir, 'index.sqlite');
  const good = readFileSync(snapshotPath);
  const expected = { events: 2001, oldestSeq: 1, lastSeq: 2001 };
  const SQL = await loadSqlJs();
  const edited = (sql: string): Buffer => {
    const db = new SQL.Database(Buffer.from(good)); // sql.js may write into the array it is given
    db.exec(sql);
    const bytes = Buffer.from(db.export());
    db.close();
    return bytes;
  };
  const pageDamaged = Buffer.from(good);
  pageDamaged.fill(0, 9 * 4096, 9 * 4096 + 8); // a b-tree page header: SQLite's backup copies it without looking
  const cases: [string, Buffer][] = [
    ['a damaged page', pageDamaged],
    ['rows deleted', edited('DELETE FROM events WHERE seq BETWEEN 100 AND 200')],
    ['the events table dropped', edited('DROP TABLE events')],
    ['a column added', edited('ALTER TABLE events ADD COLUMN x')],
  ];
  for (const [what, bytes] of cases) {
    writeFileSync(snapshotPath, bytes);
    const reopened = await JournalStore.open(options);
    assert.deepEqual(reopened.index.stats(), expected, what);
    assert.equal(reopened.index.ofRun('run-1').length, 1000, what);
    assert.equal(reopened.readEvent(150)?.seq, 150, what);
    await reopened.close();
  }
  const reopened = await JournalStore.open(options);
  await reopened.rebuildIndex();
  assert.equal(reopened.index.origin, reopened.origin, 'journal reindex keeps the origin the lost-events check relies on');
  await reopened.close();
});

test('snapshots asked for while one is being written wait their turn (they share a temporary file)', async () => {
  const { store, options } = await freshJournal({ snapshotIntervalMs: 0 });
  await store.append({ kind: 'note.added', payload: 1 });
  void store.index; // applies the backlog: the index now differs from its snapshot
  const first = store.snapshotIndex();
  await store.append({ kind: 'note.added', payload: 2 });
  void store.index;
  const second = store.snapshotIndex();
  const results = await Promise.allSettled([first, second]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled'], JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : ''))));
  await store.close();
  assert.deepEqual(readdirSync(options.dir).filter((f) => f.includes('.tmp-')), []);
});

test('the index is snapshotted in the background', async () => {
  const { store, options } = await freshJournal({ snapshotIntervalMs: 30 });
  await store.append({ kind: 'note.added', payload: {} });
  const snapshot = join(options.dir, 'index.sqlite');
  const deadline = Date.now() + 5000;
  while (!existsSync(snapshot) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(existsSync(snapshot), true, 'a snapshot appeared without close()');
  assert.deepEqual(readdirSync(options.dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file is left behind');
  await store.close();
});

/** Where the frame of event `seq` starts in a segment's bytes (frames are walked from the header). */
function frameOffsetOf(segment: Buffer, seq: number): number {
  const firstSeq = 1;
  let offset = 16;
  for (let s = firstSeq; s < seq; s++) offset += 8 + segment.readUInt32BE(offset);
  return offset;
}

test('an empty log beside an index snapshot of events is refused: no new journal is started over them', async () => {
  const { store, options } = await freshJournal();
  for (let i = 0; i < 5; i++) await store.append({ kind: 'note.added', payload: { i } });
  await store.close();
  rmSync(join(options.dir, 'segments'), { recursive: true });
  rmSync(join(options.dir, 'checkpoints.jsonl'));
  const snapshot = readFileSync(join(options.dir, 'index.sqlite'));
  await assert.rejects(JournalStore.open(options), {
    code: 'PALYRA_JOURNAL_CORRUPT',
    message: /^The journal's log holds no events, but its index snapshot shows events up to seq 6 were written: nothing was changed, and no new journal was started over them; .*move ".*index\.sqlite" away/,
  });
  assert.equal(existsSync(join(options.dir, 'segments')), false, 'no genesis written');
  assert.deepEqual(readFileSync(join(options.dir, 'index.sqlite')), snapshot, 'the snapshot is kept as evidence');
  renameSync(join(options.dir, 'index.sqlite'), join(options.dir, 'index.sqlite.moved'));
  const fresh = await JournalStore.open(options);
  assert.equal(fresh.durable.seq, 1, 'the way out the message names starts a new journal');
  await fresh.close();
});

test('an index that points at the wrong frame is reported as damaged, never served as another event', async () => {
  const { store, options } = await freshJournal();
  for (let i = 0; i < 6; i++) await store.append({ kind: 'note.added', payload: { i } });
  await store.close();
  const snapshotPath = join(options.dir, 'index.sqlite');
  const SQL = await loadSqlJs();
  const db = new SQL.Database(readFileSync(snapshotPath));
  db.exec('UPDATE events SET offset = (SELECT offset FROM events WHERE seq = 6) WHERE seq = 5');
  writeFileSync(snapshotPath, db.export());
  db.close();
  const again = await JournalStore.open(options);
  assert.equal(again.readEvent(4)?.seq, 4);
  assert.throws(() => again.readEvent(5), { code: 'PALYRA_JOURNAL_CORRUPT', message: /index points at event 6 for event 5 .*run 'palyrad journal reindex'/ });
  assert.throws(() => again.eventsAfter(3, 3), { code: 'PALYRA_JOURNAL_CORRUPT' });
  await again.close();
});

test('a writer signs only with the key that signed the journal: a missing or other key is refused at open, and the public key is left as it is', async () => {
  const { store, options } = await freshJournal();
  await store.append({ kind: 'note.added', payload: 1 });
  await store.close(); // signs a checkpoint
  const pub = readFileSync(options.pubPath, 'utf8');
  const key = readFileSync(options.keyPath);
  rmSync(options.keyPath);
  await assert.rejects(JournalStore.open(options), {
    code: 'PALYRA_KEY_INVALID',
    message: /^Checkpoint key ".*" is missing, but the journal's checkpoints were signed with key [0-9a-f]{16} \(checkpoint 1\): restore that key file; .*move checkpoints\.jsonl aside/,
  });
  assert.equal(existsSync(options.keyPath), false, 'no new key was made');
  const { generateKeyPairSync } = await import('node:crypto');
  writeFileSync(options.keyPath, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  await assert.rejects(JournalStore.open(options), { code: 'PALYRA_KEY_INVALID', message: /is key [0-9a-f]{16}, but the journal's checkpoints were signed with key [0-9a-f]{16}/ });
  assert.equal(readFileSync(options.pubPath, 'utf8'), pub, 'the trusted public key was not overwritten');
  writeFileSync(options.keyPath, key, { mode: 0o600 });
  const restored = await JournalStore.open(options);
  await restored.append({ kind: 'note.added', payload: 2 });
  await restored.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});

test('temporary snapshot files a killed writer left behind are removed by the next writer, nothing else', async () => {
  const { store, options } = await freshJournal();
  await store.close();
  const left = join(options.dir, 'index.sqlite.tmp-4242');
  const other = join(options.dir, 'index.sqlite.tmp-notes');
  writeFileSync(left, Buffer.alloc(1024));
  writeFileSync(other, 'kept');
  const again = await JournalStore.open(options);
  assert.equal(existsSync(left), false);
  assert.equal(existsSync(other), true);
  await again.close();
});

test('an event naming its own session in its payload claims no redaction; another session id there is hidden', async () => {
  const { store } = await freshJournal();
  const own = await store.append({ kind: 'session.archived', sessionId: 'ses_1', payload: { sessionId: 'ses_1' } });
  assert.equal(own.redactions, 0);
  assert.deepEqual(store.readEvent(own.seq)?.payload, { sessionId: 'ses_1' });
  const other = await store.append({ kind: 'note.added', sessionId: 'ses_1', payload: { sessionId: 'ses_2' } });
  assert.equal(other.redactions, 1);
  await store.close();
});

test('newestRecords reads the log from its end: the last N across segments, past a newest segment still empty after a roll', async () => {
  const { store, options } = await freshJournal({ maxSegmentBytes: 4096 });
  for (let i = 2; i <= 120; i++) await store.append({ kind: 'note.added', payload: { i, pad: 'x'.repeat(100) } });
  await store.close();
  const segmentsDir = join(options.dir, 'segments');
  assert.ok(readdirSync(segmentsDir).length >= 4, 'the events span several segments');
  const seqs = (n: number) => newestRecords(segmentsDir, n).map((r) => r.seq);
  assert.deepEqual(seqs(0), []);
  assert.deepEqual(seqs(3), [118, 119, 120]);
  assert.deepEqual(seqs(50), Array.from({ length: 50 }, (_, i) => 71 + i));
  assert.deepEqual(seqs(1000), Array.from({ length: 120 }, (_, i) => 1 + i), 'more than the log holds: all of it');
  // A crash right after a roll leaves the next segment with its header only.
  writeFileSync(join(segmentsDir, 'seg-00000000000000000121.log'), readFileSync(join(segmentsDir, readdirSync(segmentsDir).sort()[0] as string)).subarray(0, 16));
  assert.deepEqual(seqs(2), [119, 120]);
});

test('a write guard that throws (the state lock was lost) stops all writing for good: appends, checkpoints, snapshots, the trim on close', async () => {
  let lockLost = false;
  const lostError = new PalyraError('PALYRA_STATE_LOCKED', 'Lost the lock of state directory "x": test; this process stops writing to it');
  const warnings: string[] = [];
  const { store, options } = await freshJournal({
    writerThread: true,
    onWarning: (m) => warnings.push(m),
    writeGuard: () => {
      if (lockLost) throw lostError;
    },
  });
  for (let i = 0; i < 3; i++) await store.append({ kind: 'note.added', payload: { i } });
  await store.checkpoint();
  lockLost = true;
  await assert.rejects(store.append({ kind: 'note.added', payload: { i: 3 } }), lostError);
  assert.equal(store.failure, lostError);
  // The process that took the lock over writes meanwhile, into the space the first one
  // had zeroed ahead of its end, and signs a checkpoint over it.
  const taker = await JournalStore.open({ ...options, writerThread: false, writeGuard: undefined });
  await taker.append({ kind: 'note.added', payload: { by: 'the taker' } });
  await taker.close();
  const checkpointsBefore = readFileSync(join(options.dir, 'checkpoints.jsonl'), 'utf8');
  const snapshotBefore = readFileSync(join(options.dir, 'index.sqlite'));
  lockLost = false; // even were the guard to pass again, the store stays stopped
  await assert.rejects(store.append({ kind: 'note.added', payload: { i: 4 } }), lostError);
  assert.equal((await store.checkpoint()).created, false, 'the head the last checkpoint covers is answered with it; nothing is signed');
  await store.close();
  assert.equal(readFileSync(join(options.dir, 'checkpoints.jsonl'), 'utf8'), checkpointsBefore, 'no checkpoint signed after the loss, not even on close');
  assert.deepEqual(readFileSync(join(options.dir, 'index.sqlite')), snapshotBefore, 'no snapshot written');
  const report = await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) });
  assert.deepEqual([report.ok, report.anchored, report.events], [true, true, 5], 'the taker\'s event survives the first store\'s close (it no longer cuts the file back to its own end)');
});
