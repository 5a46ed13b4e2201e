import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PalyraError } from '../base/index.ts';
import { freshJournal } from '../../test/helpers/journal-fixture.ts';
import { verifyJournal, loadTrustedKey, JournalStore } from './index.ts';
import { WriteFailureNotice } from './write-failure-notice.ts';

test('write failures are told at once, the recovery too; a flapping disk at most once a minute, each line with what was refused since the last', () => {
  let now = 1_000_000;
  const told: string[] = [];
  const notice = new WriteFailureNotice((m) => void told.push(m), () => now);
  notice.succeeded();
  assert.deepEqual(told, [], 'nothing to say while writes succeed');
  notice.failed('ENOSPC', 3, false);
  assert.deepEqual(told, ['cannot write: ENOSPC; 3 event(s) refused in 1 failed write(s); appends (and the runs making them) fail until a write succeeds']);
  now += 30_000;
  notice.failed('ENOSPC', 2, false);
  assert.equal(told.length, 1, 'silent within the minute');
  notice.succeeded();
  assert.equal(told[1], 'writes again; 2 event(s) refused in 1 failed write(s) since the last report', 'a told failure\'s end is told at once');
  // Flapping: failures and successes within the minute are counted, not told.
  for (let i = 0; i < 5; i++) {
    now += 1_000;
    notice.failed('ENOSPC', 4, false);
    notice.succeeded();
  }
  assert.equal(told.length, 2);
  now += 55_000; // a minute after the last line
  notice.failed('ENOSPC', 1, false);
  assert.equal(told[2], 'cannot write: ENOSPC; 21 event(s) refused in 6 failed write(s) since the last report; appends (and the runs making them) fail until a write succeeds');
  notice.failed('writer gone; restart to recover', 4, true);
  assert.equal(told[3], 'writes stopped: writer gone; restart to recover; 4 event(s) refused in 1 failed write(s) since the last report; every append is refused until the daemon restarts', 'a fatal failure is told even within the minute');
  assert.equal(notice.failures, 9);
});

test('a full disk: the store says so in its warnings, refuses appends without losing acknowledged ones, and writes again once there is room', async () => {
  const warnings: string[] = [];
  const { store, options } = await freshJournal({ onWarning: (m) => void warnings.push(m) });
  await store.append({ kind: 'note.added', payload: 'before' });
  const log = (store as unknown as { link: { log: { appendBatch: (...a: unknown[]) => Promise<unknown> } } }).link.log;
  const realAppend = log.appendBatch.bind(log);
  let full = true;
  log.appendBatch = (...args: unknown[]) =>
    full ? Promise.reject(new PalyraError('PALYRA_JOURNAL_WRITE_FAILED', 'Cannot write to journal segment "seg": ENOSPC')) : realAppend(...args);
  const refused = await Promise.allSettled([1, 2, 3].map((i) => store.append({ kind: 'note.added', payload: i })));
  assert.deepEqual(refused.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /^cannot write: Cannot write to journal segment "seg": ENOSPC; 3 event\(s\) refused in 1 failed write\(s\);/);
  assert.equal(store.stats().writeFailures, 1);
  full = false;
  const after = await store.append({ kind: 'note.added', payload: 'after' });
  assert.equal(after.seq, 3, 'numbering goes on from the durable head');
  assert.equal(warnings[1], 'writes again');
  await store.close();
  const reopened = await JournalStore.open({ ...options, onWarning: (m) => void warnings.push(m) });
  assert.deepEqual((await reopened.eventsAfter(0, 10)).map((e) => e.payload).slice(-2), ['before', 'after']);
  await reopened.close();
  assert.equal((await verifyJournal(options.dir, { trustedKey: loadTrustedKey(options.pubPath) })).ok, true);
});
