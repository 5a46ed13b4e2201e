import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { JournalStore } from '../journal/index.ts';
import { journalLimitsFromEnv, journalOptionsFor } from './journal-options.ts';
import { initStateDir } from './state-dir.ts';

test('limits default, come from the environment, and bad values are refused by name', () => {
  assert.deepEqual(journalLimitsFromEnv({}), { maxPayloadBytes: 1024 * 1024, indexRetention: 100_000 });
  assert.deepEqual(journalLimitsFromEnv({ PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: '4096', PALYRA_JOURNAL_INDEX_RETENTION: '50' }), { maxPayloadBytes: 4096, indexRetention: 50 });
  for (const bad of ['0', '-5', '1.5', 'lots']) {
    assert.throws(() => journalLimitsFromEnv({ PALYRA_JOURNAL_INDEX_RETENTION: bad }), {
      code: 'PALYRA_INVALID_ARGUMENT',
      message: `PALYRA_JOURNAL_INDEX_RETENTION must be a positive integer, not "${bad}"`,
    });
  }
  // A frame holds at most 64 MiB: a larger payload limit would acknowledge events no reader accepts.
  for (const bad of ['100', String(64 * 1024 * 1024)]) {
    assert.throws(() => journalLimitsFromEnv({ PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: bad }), { code: 'PALYRA_INVALID_ARGUMENT', message: new RegExp(`^PALYRA_JOURNAL_MAX_PAYLOAD_BYTES must be from 4096 to \\d+, not ${bad}$`) });
  }
});

test('a store refuses a payload limit over what a frame can hold', async () => {
  const paths = initStateDir(join(tempDir(), 'state'));
  await assert.rejects(JournalStore.open({ ...journalOptionsFor(paths, { version: 'test', env: {} }), maxPayloadBytes: 70_000_000 }), { code: 'PALYRA_INVALID_ARGUMENT' });
  assert.equal(existsSync(paths.journal) && readdirSync(paths.journal).length > 0, false, 'nothing was written');
});

test('a writer opened with these options bounds its index and never writes an environment secret', async () => {
  const paths = initStateDir(join(tempDir(), 'state'));
  const secret = 'sk-live-0123456789abcdefghij';
  const env = { PALYRA_JOURNAL_INDEX_RETENTION: '20', OPENAI_API_KEY: secret };
  // The daemon's setting: the writer thread.
  const store = await JournalStore.open({ ...journalOptionsFor(paths, { version: 'test', env, writerThread: true }), snapshotIntervalMs: 0, checkpointIntervalMs: 0 });
  for (let i = 0; i < 60; i++) await store.append({ kind: 'note.added', payload: { i, note: `key is ${secret}` } });
  const stats = store.index.stats();
  assert.ok(stats.events <= 22, `index holds ${stats.events} events, retention 20`);
  assert.deepEqual(store.readEvent(61)?.payload, { i: 59, note: 'key is [REDACTED:known_secret]' });
  await store.close();
  for (const f of readdirSync(join(paths.journal, 'segments'))) {
    assert.equal(readFileSync(join(paths.journal, 'segments', f), 'latin1').includes(secret), false);
  }
});

test('the writer thread is the caller\'s choice unless PALYRA_JOURNAL_WRITER_THREAD says otherwise', () => {
  const paths = initStateDir(join(tempDir(), 'state'));
  const thread = (env: NodeJS.ProcessEnv, writerThread?: boolean) => journalOptionsFor(paths, { version: 'test', env, writerThread }).writerThread;
  assert.equal(thread({}), false);
  assert.equal(thread({}, true), true);
  assert.equal(thread({ PALYRA_JOURNAL_WRITER_THREAD: 'off' }, true), false);
  assert.equal(thread({ PALYRA_JOURNAL_WRITER_THREAD: 'on' }), true);
  assert.equal(thread({ PALYRA_JOURNAL_WRITER_THREAD: '1' }), true);
  assert.throws(() => thread({ PALYRA_JOURNAL_WRITER_THREAD: 'maybe' }), {
    code: 'PALYRA_INVALID_ARGUMENT',
    message: 'PALYRA_JOURNAL_WRITER_THREAD must be on or off, not "maybe"',
  });
});

test('secrets the configuration leads to (provider keys) are redacted like environment secrets', async () => {
  const paths = initStateDir(join(tempDir(), 'state'));
  const key = 'plain-looking-provider-credential-42';
  const store = await JournalStore.open({ ...journalOptionsFor(paths, { version: 'test', env: {}, extraSecrets: [key] }), snapshotIntervalMs: 0, checkpointIntervalMs: 0 });
  const { redactions } = await store.append({ kind: 'note.added', payload: { text: `the key ${key} leaked` } });
  assert.equal(redactions, 1);
  await store.close();
  for (const f of readdirSync(join(paths.journal, 'segments'))) {
    assert.equal(readFileSync(join(paths.journal, 'segments', f), 'latin1').includes(key), false);
  }
});
