import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireStateLock } from '../core/daemon/state-lock.ts';
import { statePaths } from '../core/daemon/state-dir.ts';
import { JournalStore, loadTrustedKey, readRecords, verifyJournal } from '../core/journal/index.ts';
import { tempDir } from './helpers/temp-dir.ts';

const KILLS = Number(process.env.PALYRA_CRASH_KILLS ?? 12);
const writerScript = join(import.meta.dirname, 'fixtures', 'crash-writer.ts');

/** Runs the writer until it has acknowledged some events, then SIGKILLs it at a random moment. */
function runAndKill(root: string, delayMs: number, mode: 'thread' | 'inline'): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, root, '16', mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let buffered = '';
    let stderr = '';
    let armed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
        if (!armed && line.startsWith('ack ')) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited ${code} ${signal}: ${stderr}`));
      else resolve(acked);
    });
  });
}

test(`kill -9 at random moments (${KILLS} times) loses no acknowledged event and the journal still verifies`, { timeout: 240_000 }, async () => {
  const root = tempDir('palyra-crash-');
  const paths = statePaths(root);
  const allAcked = new Set<number>();
  for (let i = 0; i < KILLS; i++) {
    // Alternate the daemon's writer thread and the inline writer of offline commands.
    const acked = await runAndKill(root, 20 + Math.floor(Math.random() * 400), i % 2 === 0 ? 'thread' : 'inline');
    for (const seq of acked) allAcked.add(seq);
    // Reopen like a restarted daemon: take over the dead writer's lock, recover, close.
    const lock = acquireStateLock(paths.lock, { mode: 'writer', command: 'crash-test' });
    assert.ok(lock.tookOverStaleFrom, 'the killed writer left its lock behind');
    const store = await JournalStore.open({ dir: paths.journal, keyPath: paths.checkpointKey, pubPath: paths.checkpointPub, snapshotIntervalMs: 0, checkpointIntervalMs: 0 });
    const present = new Set<number>();
    for (const { record } of readRecords(join(paths.journal, 'segments'))) present.add(record.seq);
    const missing = [...allAcked].filter((s) => !present.has(s));
    assert.deepEqual(missing, [], `round ${i}: acknowledged events lost`);
    await store.close();
    lock.release();
    const report = await verifyJournal(paths.journal, { trustedKey: loadTrustedKey(paths.checkpointPub) });
    assert.deepEqual(report.problems, [], `round ${i}`);
    assert.equal(report.ok, true);
    assert.equal(report.anchored, true, 'the clean close signed a checkpoint over the head');
  }
  assert.ok(allAcked.size > KILLS * 10, `too few acknowledged events to mean anything: ${allAcked.size}`);
});
