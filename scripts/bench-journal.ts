// npm run bench:journal — journal throughput, verification, recovery and snapshot figures,
// each beside a baseline measured in the same run. Prints a table; never asserts timing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
// @ts-expect-error build.mjs is plain JavaScript without type declarations
import { build } from '../build.mjs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalStore, verifyJournal, loadTrustedKey, type JournalStoreOptions } from '../core/journal/index.ts';
import { encodeFrame } from '../core/journal/frame.ts';
import { readRecords } from '../core/journal/log-reader.ts';
import { SegmentLog } from '../core/journal/segment-log.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const VERIFY_EVENTS = Number(process.env.BENCH_VERIFY_EVENTS ?? 1_000_000);
const SNAPSHOT_EVENTS = 100_000;

const root = mkdtempSync(join(tmpdir(), 'palyra-bench-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

function options(extra: Partial<JournalStoreOptions> = {}): JournalStoreOptions {
  const dir = join(root, `j${dirCount++}`);
  // Mark it a state directory, so the CLI accepts it as --state.
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'STATE'), '{"format":"palyra-state","version":1}\n');
  return { dir: join(dir, 'journal'), keyPath: join(dir, 'k'), pubPath: join(dir, 'k.pub'), snapshotIntervalMs: 0, checkpointIntervalMs: 0, ...extra };
}

/** A representative event: a tool result with usage figures, about 300 bytes of payload. */
function payload(i: number) {
  return {
    tool: 'process.run',
    callId: `call_${i}`,
    args: { argv: ['git', 'status', '--short'], cwd: 'workspace/project' },
    result: { exitCode: 0, stdout: ' M core/journal/journal-store.ts\n?? scripts/bench-journal.ts\n', truncated: false },
    usage: { prompt_tokens: 1234, completion_tokens: 56, total_tokens: 1290 },
    receipt: 'sha256:9f2c4e0b7f1d2a3c4b5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4',
  };
}

/** Runs `writers` loops that each await one append at a time, for DURATION_MS. */
async function drive(writers: number, appendOne: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  let i = 0;
  const end = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < end) {
        await appendOne(i++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function storeRate(writers: number): Promise<{ rate: number; avgBatch: number }> {
  const store = await JournalStore.open(options({ checkpointEveryEvents: 10_000 }));
  const rate = await drive(writers, (i) => store.append({ kind: 'tool.result', payload: payload(i), runId: 'run-bench', sessionId: 'session-bench' }));
  const stats = store.stats();
  await store.close();
  return { rate, avgBatch: stats.appends / stats.batches };
}

/** The bare baseline: the same frames, the same writev + fdatasync group commit, nothing else. */
async function bareRate(writers: number): Promise<number> {
  const o = options();
  const log = SegmentLog.create(join(o.dir, 'segments'), 64 * 1024 * 1024);
  const store = await JournalStore.open(options());
  const frames: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    await store.append({ kind: 'tool.result', payload: payload(i) });
  }
  for (const { record } of readRecords(join(store.paths.dir, 'segments'))) frames.push(encodeFrame(record));
  await store.close();
  let pending: { frame: Buffer; resolve: () => void }[] = [];
  let flushing = false;
  let seq = 1;
  const flush = async () => {
    while (pending.length) {
      const batch = pending;
      pending = [];
      await log.appendBatch(batch.map((p) => p.frame), seq);
      seq += batch.length;
      for (const p of batch) p.resolve();
    }
    flushing = false;
  };
  const rate = await drive(writers, (i) => new Promise<void>((resolve) => {
    pending.push({ frame: frames[i % frames.length] as Buffer, resolve });
    if (!flushing) {
      flushing = true;
      queueMicrotask(() => void flush());
    }
  }));
  log.close();
  return rate;
}

async function fill(o: JournalStoreOptions, count: number): Promise<void> {
  const store = await JournalStore.open(o);
  let i = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (i < count) await store.append({ kind: 'tool.result', payload: payload(i++), runId: `run-${i % 100}` });
  }));
  await store.close();
}

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

const rows: [string, string][] = [];
const row = (name: string, value: string) => {
  rows.push([name, value]);
  process.stdout.write(`${name.padEnd(52)} ${value}\n`);
};

process.stdout.write(`palyrad journal benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${DURATION_MS} ms per throughput run\n\n`);

const bare1 = await bareRate(1);
const store1 = await storeRate(1);
row('durable appends/s, 1 writer: journal', `${Math.round(store1.rate)}`);
row('durable appends/s, 1 writer: bare baseline', `${Math.round(bare1)}`);
row('  ratio journal / baseline', (store1.rate / bare1).toFixed(2));
const bare64 = await bareRate(64);
const store64 = await storeRate(64);
row('durable appends/s, 64 writers: journal', `${Math.round(store64.rate)} (avg batch ${store64.avgBatch.toFixed(1)})`);
row('durable appends/s, 64 writers: bare baseline', `${Math.round(bare64)}`);
row('  ratio journal / baseline (target ≥ 0.5)', (store64.rate / bare64).toFixed(2));

const big = options({ checkpointEveryEvents: 100_000 });
let t = performance.now();
await fill(big, VERIFY_EVENTS);
row(`fill ${VERIFY_EVENTS} events (64 writers)`, `${ms(t)} ms`);
// The shipped path: the bundled CLI, timed end to end (process start included). Under tsx
// each verifier worker would first transpile TypeScript, which a user never pays for.
await build({ quiet: true });
const stateDir = join(big.dir, '..');
t = performance.now();
const cli = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'palyrad.cjs'), '--state', stateDir, 'journal', 'verify', '--json', '--key', big.pubPath], { encoding: 'utf8', maxBuffer: 1 << 24 });
const cliMs = performance.now() - t;
const cliReport = JSON.parse(cli.stdout) as { events: number; ok: boolean };
row(`palyrad journal verify (bundle), ${cliReport.events} events (target ≥ 200,000/s)`, `${Math.round(cliReport.events / (cliMs / 1000))} events/s (${Math.round(cliMs)} ms, ok=${cliReport.ok})`);
t = performance.now();
const report = await verifyJournal(big.dir, { trustedKey: loadTrustedKey(big.pubPath), workers: 0 });
const verifyMs = performance.now() - t;
row('  in-process, one thread', `${Math.round(report.events / (verifyMs / 1000))} events/s (${Math.round(verifyMs)} ms, ok=${report.ok})`);
t = performance.now();
let scanned = 0;
for (const _ of readRecords(join(big.dir, 'segments'))) scanned++;
const scanMs = performance.now() - t;
row('  baseline: read + decode frames only', `${Math.round(scanned / (scanMs / 1000))} events/s`);
t = performance.now();
let reopened = await JournalStore.open(big);
row(`reopen ${VERIFY_EVENTS} events, index snapshot current (target ≤ 10 s)`, `${ms(t)} ms`);
await reopened.close();
rmSync(join(big.dir, 'index.sqlite'));
t = performance.now();
reopened = await JournalStore.open(big);
row(`reopen ${VERIFY_EVENTS} events, index rebuilt from log`, `${ms(t)} ms`);
await reopened.close();

const snap = options({ indexRetention: SNAPSHOT_EVENTS });
await fill(snap, SNAPSHOT_EVENTS);
const s = await JournalStore.open(snap);
t = performance.now();
const written = await s.index.snapshot();
row(`index snapshot at ${SNAPSHOT_EVENTS} events`, `${ms(t)} ms (${(written.bytes / 1048576).toFixed(1)} MiB)`);
await s.close();
row('peak RSS', `${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
