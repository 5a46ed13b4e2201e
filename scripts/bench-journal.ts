// npm run bench:journal — journal throughput, verification, recovery and snapshot figures,
// each beside a baseline measured in the same run. Prints a table; never asserts timing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
// @ts-expect-error build.mjs is plain JavaScript without type declarations
import { build } from '../build.mjs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { JournalStore, verifyJournal, loadTrustedKey, type JournalStoreOptions } from '../core/journal/index.ts';
import { encodeFrame } from '../core/journal/frame.ts';
import { readRecords } from '../core/journal/log-reader.ts';
import { SegmentLog } from '../core/journal/segment-log.ts';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
/**
 * Throughput is measured in rounds that interleave the journal and the baselines, and the
 * medians are compared: this VM's disk latency drifts by 2–4× within a minute, so runs
 * taken minutes apart would compare the disk's moods, not the code. The order changes
 * from round to round (ROUND_ORDERS): whatever runs right after a bare baseline runs
 * slower here (an A/A test, one configuration run three times per round in a fixed order:
 * the one right after the baseline 8–12 % below the other two), and a fixed order put the
 * journal there in every round.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
/**
 * The four measurements of a round, in the orders of a Williams square: over four rounds
 * each runs once in each position and right after each of the others exactly once, so a
 * carry-over from one measurement to the next weighs on all alike.
 */
const ROUND_ORDERS = [
  [0, 1, 3, 2],
  [1, 2, 0, 3],
  [2, 3, 1, 0],
  [3, 0, 2, 1],
] as const;
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

/** A round's rate, its average batch, and where each batch's time went: the write itself, and everything between two writes. */
interface StoreRound {
  rate: number;
  avgBatch: number;
  writeMicros: number;
  betweenMicros: number;
}

async function storeRate(writers: number, writerThread: boolean): Promise<StoreRound> {
  const store = await JournalStore.open(options({ checkpointEveryEvents: 10_000, writerThread }));
  const before = store.stats();
  const started = performance.now();
  const rate = await drive(writers, (i) => store.append({ kind: 'tool.result', payload: payload(i), runId: 'run-bench', sessionId: 'session-bench' }));
  const elapsedMicros = (performance.now() - started) * 1000;
  const stats = store.stats();
  await store.close();
  const batches = stats.batches - before.batches;
  const writeMicros = ((stats.writeSeconds - before.writeSeconds) * 1e6) / batches;
  return { rate, avgBatch: (stats.appends - before.appends) / batches, writeMicros, betweenMicros: elapsedMicros / batches - writeMicros };
}

/** The frames the baseline writes: real journal frames of the benchmark's events. */
let baselineFrames: Buffer[] | null = null;
async function framesForBaseline(): Promise<Buffer[]> {
  if (baselineFrames) return baselineFrames;
  const store = await JournalStore.open(options());
  await Promise.all(Array.from({ length: 1000 }, (_, i) => store.append({ kind: 'tool.result', payload: payload(i), runId: 'run-bench', sessionId: 'session-bench' })));
  await store.close();
  baselineFrames = [...readRecords(join(store.paths.dir, 'segments'))].slice(1).map(({ record }) => encodeFrame(record));
  return baselineFrames;
}

/**
 * The bare baseline: the same frames, the same writev + fdatasync group commit, nothing
 * else. `preallocate`: over zeroed space kept ahead (zeroed between writes), as the
 * daemon's writer thread writes; without it, every write grows the file.
 */
async function bareRate(writers: number, preallocate: boolean): Promise<{ rate: number; writeMicros: number }> {
  const frames = await framesForBaseline();
  const o = options();
  const log = SegmentLog.create(join(o.dir, 'segments'), 64 * 1024 * 1024, { preallocate });
  let pending: { frame: Buffer; resolve: () => void }[] = [];
  let flushing = false;
  let seq = 1;
  let writes = 0;
  let writeMs = 0;
  const flush = async () => {
    while (pending.length) {
      const batch = pending;
      pending = [];
      const started = performance.now();
      await log.appendBatch(batch.map((p) => p.frame), seq);
      writeMs += performance.now() - started;
      writes++;
      seq += batch.length;
      for (const p of batch) p.resolve();
      while (log.zeroAhead()); // between writes, as the writer thread does when idle
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
  return { rate, writeMicros: (writeMs * 1000) / writes };
}

async function fill(o: JournalStoreOptions, count: number): Promise<void> {
  const store = await JournalStore.open({ ...o, writerThread: true });
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

process.stdout.write(`palyrad journal benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${ROUNDS} interleaved rounds of ${DURATION_MS} ms per throughput figure\n\n`);

/**
 * What the machine's cores gave while this ran: a fixed hashing loop on one thread, then
 * on two at once. The writer thread only pays off as far as two threads outrun one, and on
 * this VM they did by ~1.3×, not 2× (measured 2026-11-25): its two vCPUs share capacity.
 */
const HASH_LOOP = `
const { createHash } = require('node:crypto');
const { parentPort } = require('node:worker_threads');
parentPort.once('message', (ms) => {
  const data = Buffer.alloc(600, 7);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (let i = 0; i < 200; i++) createHash('sha256').update(data).digest('hex');
    n += 200;
  }
  parentPort.postMessage(n / ((performance.now() - start) / 1000));
});`;
async function hashRate(threads: number, durationMs: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(HASH_LOOP, { eval: true }));
  try {
    const rates = await Promise.all(workers.map((w) => new Promise<number>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage(durationMs);
    })));
    return rates.reduce((a, b) => a + b, 0);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
async function cpuContext(when: string): Promise<void> {
  const one = await hashRate(1, 1000);
  const two = await hashRate(2, 1000);
  row(`CPU ${when}: hashes/s, 1 thread / 2 threads in all`, `${Math.round(one)} / ${Math.round(two)} (2 threads = ${(two / one).toFixed(2)}× one)`);
}
await cpuContext('before');

// The daemon writes on its writer thread; offline commands (journal append) write inline.
const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
for (const writers of [1, 64]) {
  const bare: number[] = [];
  const plain: number[] = [];
  const thread: number[] = [];
  const inline: number[] = [];
  const batches: number[] = [];
  const journalWrite: number[] = [];
  const journalBetween: number[] = [];
  const bareWrite: number[] = [];
  const measurements: (() => Promise<void>)[] = [
    async () => void bare.push((await bareRate(writers, true)).rate),
    async () => {
      const growing = await bareRate(writers, false);
      plain.push(growing.rate);
      bareWrite.push(growing.writeMicros);
    },
    async () => {
      const t = await storeRate(writers, true);
      thread.push(t.rate);
      batches.push(t.avgBatch);
      journalWrite.push(t.writeMicros);
      journalBetween.push(t.betweenMicros);
    },
    async () => void inline.push((await storeRate(writers, false)).rate),
  ];
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of ROUND_ORDERS[round % ROUND_ORDERS.length] as readonly number[]) await (measurements[which] as () => Promise<void>)();
  }
  const list = (xs: number[]) => xs.map((x) => Math.round(x)).join(' / ');
  const w = writers === 1 ? '1 writer' : `${writers} writers`;
  row(`durable appends/s, ${w}: journal (writer thread)`, `${Math.round(median(thread))} median of ${list(thread)}${writers > 1 ? ` (avg batch ${median(batches).toFixed(1)})` : ''}`);
  row(`durable appends/s, ${w}: journal (inline writer)`, `${Math.round(median(inline))} median of ${list(inline)}`);
  row(`durable appends/s, ${w}: bare baseline (zeroed space, as the journal)`, `${Math.round(median(bare))} median of ${list(bare)}`);
  row(`durable appends/s, ${w}: bare, growing the file`, `${Math.round(median(plain))} median of ${list(plain)}`);
  // Judged against the faster of the two baselines in each round: zeroed space makes a
  // single durable write cheaper but costs bandwidth (every byte is written twice), so at
  // 64 writers the file-growing baseline is often the faster one.
  const best = bare.map((b, i) => Math.max(b, plain[i] as number));
  row(
    `  ratio journal (writer thread) / faster baseline${writers > 1 ? ' (target ≥ 0.5)' : ''}`,
    `${(median(thread) / median(best)).toFixed(2)}; per round ${thread.map((t, i) => (t / (best[i] as number)).toFixed(2)).join(' / ')}`,
  );
  row('  ratio against each baseline (zeroed / growing)', `${(median(thread) / median(bare)).toFixed(2)} / ${(median(thread) / median(plain)).toFixed(2)}`);
  // Where a batch's time goes: the write (the disk's mood) against the work between two
  // writes (this process: acknowledging, preparing the next events, chaining, handing over).
  row(
    '  µs per write: journal / bare growing; journal between writes',
    `${Math.round(median(journalWrite))} / ${Math.round(median(bareWrite))}; ${Math.round(median(journalBetween))}`,
  );
}

await cpuContext('after the throughput rounds');

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
