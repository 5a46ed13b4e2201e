// node --import tsx scripts/bench-tools.ts — the cost of `process.run` through the tool
// registry (input cap and validation, executable and cwd checks, scrubbed environment, PID
// file, output capture, group clean-up, receipt) beside a bare child_process.spawn of the
// same program. Calls are interleaved, alternating which goes first, so drift in machine
// load hits both alike. Prints a table; never asserts timing.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProcessRunTool, ToolRegistry, type ToolContext } from '../core/tools/index.ts';

const N = Number(process.env['BENCH_N'] ?? 200);
const WARMUP = 20;
const PROGRAM = '/bin/true';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'palyra-bench-tools-')));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const context: ToolContext = {
  workspace: join(root, 'workspace'),
  stateDir: join(root, 'state'),
  signal: new AbortController().signal,
  sessionId: null,
};
mkdirSync(context.workspace);
mkdirSync(context.stateDir);

const registry = new ToolRegistry();
registry.register(createProcessRunTool({ allowedExecutables: [PROGRAM] }));

async function viaRegistry(): Promise<number> {
  const started = performance.now();
  const result = await registry.invoke('process.run', { argv: [PROGRAM] }, context);
  const elapsed = performance.now() - started;
  if (!result.ok) throw new Error(`process.run failed: ${result.error.message}`);
  return elapsed;
}

async function bare(): Promise<number> {
  const started = performance.now();
  const child = spawn(PROGRAM);
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => resolve());
  });
  return performance.now() - started;
}

function stats(samples: number[]): { mean: number; p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { mean: samples.reduce((a, b) => a + b, 0) / samples.length, p50: at(0.5), p99: at(0.99) };
}

for (let i = 0; i < WARMUP; i++) {
  await bare();
  await viaRegistry();
}
const registryMs: number[] = [];
const bareMs: number[] = [];
for (let i = 0; i < N; i++) {
  if (i % 2 === 0) {
    bareMs.push(await bare());
    registryMs.push(await viaRegistry());
  } else {
    registryMs.push(await viaRegistry());
    bareMs.push(await bare());
  }
}

const b = stats(bareMs);
const r = stats(registryMs);
const fmt = (ms: number): string => ms.toFixed(3).padStart(8);
console.log(`process.run of ${PROGRAM}: N=${N} each, interleaved; node ${process.version}, ${cpus().length} CPUs`);
console.log(`${'path'.padEnd(32)}${'mean ms'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}`);
console.log(`${'child_process.spawn (bare)'.padEnd(32)}${fmt(b.mean)}${fmt(b.p50)}${fmt(b.p99)}`);
console.log(`${'registry.invoke("process.run")'.padEnd(32)}${fmt(r.mean)}${fmt(r.p50)}${fmt(r.p99)}`);
console.log(`overhead: ${(r.mean / b.mean).toFixed(2)}x mean, ${(r.p50 / b.p50).toFixed(2)}x p50 (+${(r.mean - b.mean).toFixed(3)} ms per call)`);
