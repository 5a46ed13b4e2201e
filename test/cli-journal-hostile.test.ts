// The offline commands an auditor runs on a state directory nobody vouches for: damage is
// exit 1 with problems (or one sentence on stderr), never a stack trace or a hang; exit 2
// is for what keeps them from reading at all.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { JournalStore } from '../core/journal/index.ts';
import { crc32 } from '../core/journal/crc32.ts';
import { runCli } from './helpers/cli.ts';
import { journalOptionsIn } from './helpers/journal-fixture.ts';
import { readFrames, writeFrames } from './helpers/journal-surgery.ts';
import { tempDir } from './helpers/temp-dir.ts';

/** A state directory holding a closed journal of 6 events (one run's worth of notes), checkpointed. */
async function stateDir() {
  const root = tempDir('palyra-cli-hostile-');
  writeFileSync(join(root, 'STATE'), '{"format":"palyra-state","version":1}\n');
  const options = journalOptionsIn(root);
  const store = await JournalStore.open(options);
  for (let i = 2; i <= 6; i++) await store.append({ kind: 'note.added', payload: { i }, runId: 'run-1' });
  await store.close();
  const segments = join(options.dir, 'segments');
  return { root, options, segment: join(segments, readdirSync(segments)[0] as string) };
}

/** One line on stderr, starting `palyrad: `, and no stack frame. */
function assertOneSentence(stderr: string): void {
  assert.match(stderr, /^palyrad: [^\n]+\n$/);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

test('a frame nested a million deep: verify exits 1 with problems; show, export and tape list say so in one sentence', async () => {
  const { root, segment } = await stateDir();
  const frames = readFrames(segment);
  const body = Buffer.concat([Buffer.alloc(1_000_000, 0x91), Buffer.from([0xc0])]);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt32BE(crc32(body), 4);
  writeFrames(segment, frames.map((f, i) => (i === 2 ? Buffer.concat([header, body]) : f.bytes)));
  const verify = runCli(['--state', root, 'journal', 'verify', '--json']);
  assert.equal(verify.code, 1);
  assert.equal(verify.stderr, '');
  const report = JSON.parse(verify.stdout) as { ok: boolean; problems: { code: string }[] };
  assert.deepEqual([report.ok, report.problems.map((p) => p.code)], [false, ['RECORD_INVALID', 'SEQ_GAP']]);
  const human = runCli(['--state', root, 'journal', 'verify']);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /^journal FAILED: 2 problem\(s\)/);
  for (const args of [['journal', 'show', '4'], ['journal', 'export'], ['journal', 'tail'], ['tape', 'list'], ['tape', 'show', 'run-1']]) {
    const r = runCli(['--state', root, ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assertOneSentence(r.stderr);
    assert.match(r.stderr, /^palyrad: Journal segment "seg-00000000000000000001\.log" is damaged at byte \d+: frame body holds more than 1000 values/, args.join(' '));
  }
});

test('a checkpoint file that is a FIFO: verify reports it and exits 1 instead of waiting forever', async (t) => {
  const { root, options } = await stateDir();
  const checkpoints = join(options.dir, 'checkpoints.jsonl');
  rmSync(checkpoints);
  try {
    execFileSync('mkfifo', [checkpoints]);
  } catch {
    t.diagnostic('mkfifo is not available');
    return;
  }
  const r = runCli(['--state', root, 'journal', 'verify', '--json']);
  assert.equal(r.code, 1);
  assert.deepEqual((JSON.parse(r.stdout) as { problems: unknown[] }).problems, [
    { seq: null, code: 'CHECKPOINT_FILE_INVALID', message: 'checkpoints.jsonl cannot be read as checkpoints: it is not a regular file' },
  ]);
});

test('a public key that is a FIFO is exit 2 in one sentence, not a hang', async (t) => {
  const { root, options } = await stateDir();
  rmSync(options.pubPath);
  try {
    execFileSync('mkfifo', [options.pubPath]);
  } catch {
    t.diagnostic('mkfifo is not available');
    return;
  }
  const r = runCli(['--state', root, 'journal', 'verify']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `palyrad: Public key "${options.pubPath}" is not an Ed25519 PEM public key: it is not a regular file\n`);
});

test('a segments folder that cannot be listed is exit 2 with the reason', async () => {
  const { root, options } = await stateDir();
  const segments = join(options.dir, 'segments');
  rmSync(segments, { recursive: true });
  writeFileSync(segments, 'not a folder');
  for (const args of [['journal', 'verify'], ['journal', 'show', '1'], ['tape', 'list']]) {
    const r = runCli(['--state', root, ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, `palyrad: Cannot list journal segments in "${segments}": ENOTDIR (not a directory)\n`);
  }
  const json = runCli(['--state', root, 'journal', 'verify', '--json']);
  assert.deepEqual(JSON.parse(json.stderr), { error: { code: 'PALYRA_IO', message: `Cannot list journal segments in "${segments}": ENOTDIR (not a directory)` } });
  assert.equal(readFileSync(segments, 'utf8'), 'not a folder');
});
