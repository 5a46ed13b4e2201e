import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { JournalStore } from '../core/journal/index.ts';
import { journalOptionsIn } from './helpers/journal-fixture.ts';
import { tempDir } from './helpers/temp-dir.ts';

const haveShell = spawnSync('sqlite3', ['-version']).status === 0;

// .ci/run installs the sqlite3 shell when it can; the skip says so when it could not.
test('the index snapshot opens in the stock sqlite3 shell', { skip: !haveShell && 'the sqlite3 shell is not installed (apt-get install sqlite3)' }, async () => {
  const root = tempDir('palyra-sqlite3-');
  const options = journalOptionsIn(root);
  const store = await JournalStore.open(options);
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.append({ kind: 'note.added', payload: { i }, runId: i % 2 ? 'run-odd' : 'run-even' })));
  await store.close();
  const db = join(options.dir, 'index.sqlite');
  const r = spawnSync('sqlite3', ['-readonly', db, "PRAGMA integrity_check; SELECT COUNT(*) FROM events; SELECT COUNT(*) FROM events WHERE run_id = 'run-odd'; SELECT value FROM index_meta WHERE key = 'last_seq';"], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['ok', '51', '25', '51']);
});
