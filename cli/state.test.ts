import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { tempDir } from '../test/helpers/temp-dir.ts';
import { verifyJournal } from '../core/journal/index.ts';
import { withOfflineWriter } from './state.ts';

test('an offline writer stopped long enough to be judged dead, its lock file gone, writes nothing more (docs/decisions.md §25)', async () => {
  const root = join(tempDir('palyra-offline-'), 'state');
  const command = new Command().option('--state <dir>').parse(['--state', root], { from: 'user' });
  let now = Date.now();
  const outcome = await withOfflineWriter(
    command,
    'palyrad journal append',
    async (store, paths) => {
      await store.append({ kind: 'note.added', payload: { before: 'the stop' } });
      // Stopped 66 s; meanwhile another palyrad judged it dead, wrote, and let the lock go.
      now += 66_000;
      rmSync(paths.lock);
      const refused = await store.append({ kind: 'note.added', payload: { after: 'the stop' } }).then(
        () => null,
        (error: { code?: string; message?: string }) => error,
      );
      return { refused, failure: store.failure?.code };
    },
    { lockClock: () => now },
  );
  assert.equal(outcome.refused?.code, 'PALYRA_STATE_LOCKED');
  assert.match(outcome.refused?.message ?? '', /its lock file is gone after this process had not refreshed it for 66 s/);
  assert.equal(outcome.failure, 'PALYRA_STATE_LOCKED');
  assert.equal(existsSync(join(root, 'keys', 'checkpoint.pub')), false, 'no checkpoint signed on close (the key is made with the first)');
  const report = await verifyJournal(join(root, 'journal'), { trustedKey: null });
  assert.deepEqual([report.ok, report.events, report.checkpoints], [true, 2, 0], 'genesis and the append before the stop');
});
