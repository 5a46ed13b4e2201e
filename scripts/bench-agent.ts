// npm run bench:agent — the agent loop's own cost: per-turn overhead with an instant
// scripted model and the `echo` tool (tape in memory, then journaled as the daemon does),
// `replayTape` over a 100k-event tape, and the latency a streamed chunk gains between the
// provider and the loop's event stream. Each figure is printed beside a baseline measured
// in the same run, with the ratio. Prints a table; never asserts timing.
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newUlid, systemClock } from '../core/base/index.ts';
import {
  buildSyntheticTape,
  parseTape,
  parseTapeFile,
  registryTools,
  replayTape,
  runAgent,
  serializeTapeFile,
  type AgentEvent,
  type AgentPorts,
  type RunInput,
  type TapeEvent,
  type TapePort,
} from '../core/agent/index.ts';
import { journalOptionsFor } from '../core/daemon/journal-options.ts';
import { journalTapePort } from '../core/gateway/index.ts';
import { initStateDir } from '../core/daemon/state-dir.ts';
import { JournalStore } from '../core/journal/index.ts';
import { builtinPolicySet, decideToolCall, systemTimers, toolCallRequest, type CompiledPolicySet } from '../core/policy/index.ts';
import { createScriptedProvider, parseScript, type ModelProvider, type ProviderEvent, type ProviderRequest, type Script } from '../core/providers/index.ts';
import { createEchoTool, ToolRegistry, type ToolContext } from '../core/tools/index.ts';
import { applyV8Workarounds } from '../core/base/v8-workarounds.ts';

/** Interleaved rounds per figure; each case gets SLICE_MS per round, so load drift hits all alike. */
// The daemon's own setting (cli/main.ts): without it Node 20's V8 aborts under this load.
applyV8Workarounds();
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 4);
const SLICE_MS = Number(process.env['BENCH_SLICE_MS'] ?? 1500);
/** Echo turns per run before the final answer: within the default budgets (20 turns, 32 calls). */
const TOOL_TURNS = 10;
const CHUNKS_PER_RUN = 2000;

const root = realpathSync(mkdtempSync(join(tmpdir(), 'palyra-bench-agent-')));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
const toolContext: Omit<ToolContext, 'signal'> = { workspace: join(root, 'workspace'), stateDir: join(root, 'state'), sessionId: 'bench-session' };
mkdirSync(toolContext.workspace);

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
/** Quantile of µs samples (sorted in place). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const row = (name: string, value: string): void => void process.stdout.write(`${name.padEnd(64)} ${value}\n`);

/** Samples in µs, and the time they cover in ms (for a rate). */
interface Series {
  us: number[];
  ms: number;
  /** Provider time taken out of the samples, in ms. */
  excludedMs: number;
}
const series = (): Series => ({ us: [], ms: 0, excludedMs: 0 });
function summary(s: Series): { rate: number; p50: number; p99: number } {
  s.us.sort((a, b) => a - b);
  return { rate: s.us.length / (s.ms / 1000), p50: quantile(s.us, 0.5), p99: quantile(s.us, 0.99) };
}

/**
 * Times a provider from outside: from each `next()` call to its settling, which is the
 * time the loop waits on the model (for an instant provider: its own code and the
 * promise hand-off). A plain iterator, not another generator, so the wrapper adds almost
 * nothing the loop would be charged for.
 */
function timedProvider(inner: ModelProvider): ModelProvider & { ms: number } {
  const timed = {
    id: inner.id,
    ms: 0,
    stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
      const it = inner.stream(request)[Symbol.asyncIterator]();
      const iterator: AsyncIterator<ProviderEvent> = {
        next: () => {
          const t = performance.now();
          const p = it.next();
          // Registered before the loop's own continuation, so it runs first.
          void p.then(() => void (timed.ms += performance.now() - t), () => undefined);
          return p;
        },
        return: (value?: unknown) => it.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
      };
      return { [Symbol.asyncIterator]: () => iterator };
    },
  };
  return timed;
}

const script: Script = parseScript({
  version: 1,
  turns: [
    // Distinct arguments per turn: three equal proposals would end the run as a loop.
    ...Array.from({ length: TOOL_TURNS }, (_, k) => ({ toolCalls: [{ name: 'echo', arguments: { text: `turn ${k + 1}` } }], usage: { inputTokens: 20, outputTokens: 8 } })),
    { text: 'Done.', usage: { inputTokens: 20, outputTokens: 2 } },
  ],
});

function basePorts(set: CompiledPolicySet, registry: ToolRegistry): Omit<AgentPorts, 'provider' | 'tape'> {
  return {
    clock: systemClock,
    newId: newUlid,
    timers: systemTimers,
    tools: registryTools(registry, toolContext),
    // The real gate: the built-in policy set, as the daemon decides.
    decide: (request) => decideToolCall(request, set),
    approvals: {
      requestApproval: () => {
        throw new Error('The benchmark never asks: the built-in set allows echo');
      },
    },
  };
}

function runInput(set: CompiledPolicySet, runId: string): RunInput {
  return { runId, sessionId: 'bench-session', model: 'bench-model', system: 'You are a benchmark.', messages: [{ role: 'user', content: 'Echo ten times.' }], policySetHash: set.hash };
}

/**
 * One run of TOOL_TURNS echo turns and a final answer. Turn k's sample is the wall time
 * from its start to the next turn's start, less the time spent waiting on the provider;
 * turn 1 starts at the runAgent call (so it carries the run's setup) and the last turn
 * ends when runAgent returns (so it carries the run's end, a durable run.finished when
 * journaling). The samples partition the run, so none of the loop's time is left out.
 */
async function loopRun(base: Omit<AgentPorts, 'provider' | 'tape'>, set: CompiledPolicySet, tape: (runId: string) => TapePort, out: Series): Promise<void> {
  const runId = newUlid();
  const provider = timedProvider(createScriptedProvider(script));
  let turnStart = 0;
  let providerAtStart = 0;
  const cut = (): void => {
    const now = performance.now();
    out.us.push((now - turnStart - (provider.ms - providerAtStart)) * 1000);
    out.ms += now - turnStart - (provider.ms - providerAtStart);
    out.excludedMs += provider.ms - providerAtStart;
    turnStart = now;
    providerAtStart = provider.ms;
  };
  const onEvent = (event: AgentEvent): void => {
    if (event.type === 'turn_started' && event.turn > 1) cut();
  };
  const ports: AgentPorts = { ...base, provider, tape: tape(runId), onEvent };
  turnStart = performance.now();
  const outcome = await runAgent(runInput(set, runId), ports);
  cut();
  if (outcome.state !== 'completed' || outcome.counters.turns !== TOOL_TURNS + 1) throw new Error(`The benchmark run did not complete as scripted: ${outcome.state}: ${outcome.reason}`);
}

/** The disk floor of a journaled turn: one durable append (the turn's tool.decision step), nothing else. */
async function durableAppend(port: TapePort, step: TapeEvent, out: Series): Promise<void> {
  const t = performance.now();
  await port.record(step);
  const elapsed = performance.now() - t;
  out.us.push(elapsed * 1000);
  out.ms += elapsed;
}

/** The baseline of a turn without the loop: build the request, decide, invoke echo through the registry; optionally journal the turn's five steps as the loop would. */
async function bareTurn(set: CompiledPolicySet, registry: ToolRegistry, k: number, journal: { port: TapePort; turn: TapeEvent[] } | null, out: Series): Promise<void> {
  const t = performance.now();
  const args = { text: `turn ${k}` };
  const [request, response, proposed, decision, result] = journal?.turn ?? [];
  if (journal) {
    await journal.port.record(request as TapeEvent);
    await journal.port.record(response as TapeEvent);
    await journal.port.record(proposed as TapeEvent);
  }
  const d = decideToolCall(toolCallRequest({ tool: { name: 'echo', capabilities: [], risk: 'low' }, args, approval: 'none', toolCallsLeft: 32 - k }), set);
  if (journal) await journal.port.record(decision as TapeEvent);
  const r = await registry.invoke('echo', args, { ...toolContext, signal: new AbortController().signal });
  if (journal) await journal.port.record(result as TapeEvent);
  const elapsed = performance.now() - t;
  if (d.decision !== 'allow' || !r.ok) throw new Error('The baseline turn did not allow and run echo');
  out.us.push(elapsed * 1000);
  out.ms += elapsed;
}

/** Runs each case for SLICE_MS per round, rotating which goes first each round. */
async function interleave(cases: readonly (() => Promise<void>)[]): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const fn = cases[(k + round) % cases.length] as () => Promise<void>;
      const end = performance.now() + SLICE_MS;
      while (performance.now() < end) await fn();
    }
  }
}

async function turnOverhead(set: CompiledPolicySet): Promise<void> {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  const base = basePorts(set, registry);
  const paths = initStateDir(join(root, 'state'));
  // The daemon's journal: its options (redactor, limits), on the writer thread.
  const store = await JournalStore.open(journalOptionsFor(paths, { version: 'bench', writerThread: true }));
  const memory: TapeEvent[] = [];
  const inMemory = (): TapePort => ({ record: (event) => void memory.push(event) });
  const journaled = (runId: string): TapePort => journalTapePort(store, { runId, sessionId: 'bench-session' });
  // One run recorded in memory gives the baseline the five real steps of a middle turn.
  await loopRun(base, set, inMemory, series());
  const turn5 = memory.filter((e) => (e.payload as { turn?: number }).turn === 5);
  if (turn5.map((e) => e.kind).join() !== 'model.request,model.response,tool.proposed,tool.decision,tool.result') throw new Error('Unexpected shape of turn 5');
  const bareJournal = { port: journalTapePort(store, { runId: 'bench-baseline', sessionId: 'bench-session' }), turn: turn5 };

  const warm = series();
  for (let i = 0; i < 300; i++) {
    memory.length = 0;
    await loopRun(base, set, inMemory, warm);
    await bareTurn(set, registry, (i % TOOL_TURNS) + 1, null, warm);
  }
  const loopMem = series();
  const loopJournal = series();
  const bare = series();
  const bareJ = series();
  const floor = series();
  const floorPort = journalTapePort(store, { runId: 'bench-floor', sessionId: 'bench-session' });
  let k = 0;
  await interleave([
    async () => {
      memory.length = 0;
      await loopRun(base, set, inMemory, loopMem);
    },
    () => loopRun(base, set, journaled, loopJournal),
    () => bareTurn(set, registry, (k++ % TOOL_TURNS) + 1, null, bare),
    () => bareTurn(set, registry, (k++ % TOOL_TURNS) + 1, bareJournal, bareJ),
    () => durableAppend(floorPort, turn5[3] as TapeEvent, floor),
  ]);
  await store.close();

  const [m, j, b, bj, f] = [summary(loopMem), summary(loopJournal), summary(bare), summary(bareJ), summary(floor)];
  const line = (s: { rate: number; p50: number; p99: number }): string => `${fmt(s.rate)} turns/s, p50 ${fmt(s.p50)} µs, p99 ${fmt(s.p99)} µs`;
  row('loop turn, tape in memory (provider time excluded)', line(m));
  row('  baseline: gate + echo via registry, no loop', line(b));
  row('  ratio loop / baseline (p50)', `${(m.p50 / b.p50).toFixed(2)}× (+${fmt(m.p50 - b.p50)} µs)`);
  row('loop turn, journaled (writer thread) (target p50 ≤ 1,000 µs)', line(j));
  row('  baseline: gate + echo + the turn\'s 5 steps journaled, no loop', line(bj));
  row('  ratio loop / baseline (p50)', `${(j.p50 / bj.p50).toFixed(2)}× (+${fmt(j.p50 - bj.p50)} µs)`);
  row('  disk floor: one durable append alone', `${fmt(f.rate)}/s, p50 ${fmt(f.p50)} µs, p99 ${fmt(f.p99)} µs`);
  const perTurn = (s: Series): string => `${(s.excludedMs * 1000 / s.us.length).toFixed(1)} µs`;
  row('  turns sampled (memory / journaled)', `${loopMem.us.length} / ${loopJournal.us.length} (${TOOL_TURNS + 1} per run)`);
  row('  provider time taken out, mean per turn (memory / journaled)', `${perTurn(loopMem)} / ${perTurn(loopJournal)}`);
}

async function replay(): Promise<void> {
  let t = performance.now();
  const tape = await buildSyntheticTape();
  row(`synthetic tape: ${fmt(tape.length)} events, recorded in`, `${fmt(performance.now() - t)} ms`);
  const text = serializeTapeFile({ runId: 'synthetic-run', sessionId: 'synthetic-session', origin: null }, tape.map((e) => ({ seq: null, hash: null, kind: e.kind, payload: e.payload as never })));
  const replayRates: number[] = [];
  const fileRates: number[] = [];
  const parseRates: number[] = [];
  const jsonRates: number[] = [];
  for (let round = 0; round < 3; round++) {
    t = performance.now();
    parseTape(tape);
    parseRates.push(tape.length / ((performance.now() - t) / 1000));
    t = performance.now();
    const report = await replayTape(tape);
    replayRates.push(tape.length / ((performance.now() - t) / 1000));
    if (!report.identical) throw new Error(`The synthetic tape did not replay identically: ${report.divergenceCount} divergences`);
    t = performance.now();
    parseTapeFile(text);
    jsonRates.push(tape.length / ((performance.now() - t) / 1000));
    t = performance.now();
    await replayTape(parseTapeFile(text).events);
    fileRates.push(tape.length / ((performance.now() - t) / 1000));
  }
  const list = (xs: number[]): string => xs.map(fmt).join(' / ');
  row('replayTape, tape in memory (target ≥ 50,000 events/s)', `${fmt(median(replayRates))} events/s, median of ${list(replayRates)} (first one cold)`);
  row('replay from tape-file text (parseTapeFile + replayTape)', `${fmt(median(fileRates))} events/s, median of ${list(fileRates)} (first one cold)`);
  row('  baseline: parseTape alone (checks, no loop)', `${fmt(median(parseRates))} events/s`);
  row('  baseline: parseTapeFile alone (JSON lines)', `${fmt(median(jsonRates))} events/s (${(text.length / 1048576).toFixed(1)} MiB)`);
  row('  ratio replayTape / parseTape', `${(median(replayRates) / median(parseRates)).toFixed(3)}`);
}

/** Set right before each yield; read where the chunk arrives. */
let yieldedAt = 0;
const chunkProvider: ModelProvider = {
  id: 'chunks',
  async *stream(): AsyncGenerator<ProviderEvent> {
    for (let i = 0; i < CHUNKS_PER_RUN; i++) {
      yieldedAt = performance.now();
      yield { type: 'text_delta', text: 'tok ' };
    }
    yield { type: 'finish', reason: 'stop', raw: 'stop' };
  },
};

async function chunkLatency(set: CompiledPolicySet): Promise<void> {
  const registry = new ToolRegistry();
  registry.register(createEchoTool());
  const base = basePorts(set, registry);
  const loop = series();
  const bare = series();
  const viaLoop = async (out: Series): Promise<void> => {
    const t = performance.now();
    const onEvent = (event: AgentEvent): void => {
      if (event.type === 'text_delta') out.us.push((performance.now() - yieldedAt) * 1000);
    };
    await runAgent(runInput(set, newUlid()), { ...base, provider: chunkProvider, tape: { record: () => undefined }, onEvent });
    out.ms += performance.now() - t;
  };
  const viaForAwait = async (out: Series): Promise<void> => {
    const t = performance.now();
    for await (const event of chunkProvider.stream({ model: 'bench-model', messages: [] })) {
      if (event.type === 'text_delta') out.us.push((performance.now() - yieldedAt) * 1000);
    }
    out.ms += performance.now() - t;
  };
  for (let i = 0; i < 20; i++) {
    await viaLoop(series());
    await viaForAwait(series());
  }
  await interleave([() => viaLoop(loop), () => viaForAwait(bare)]);
  const l = summary(loop);
  const b = summary(bare);
  row('chunk latency, provider yield → onEvent text_delta', `p50 ${l.p50.toFixed(2)} µs, p99 ${l.p99.toFixed(2)} µs (${fmt(l.rate)} chunks/s)`);
  row('  baseline: the same generator in a bare for-await', `p50 ${b.p50.toFixed(2)} µs, p99 ${b.p99.toFixed(2)} µs (${fmt(b.rate)} chunks/s)`);
  row('  added by the loop (p50 / p99)', `+${(l.p50 - b.p50).toFixed(2)} µs / +${(l.p99 - b.p99).toFixed(2)} µs`);
}

process.stdout.write(
  `palyrad agent benchmark — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${ROUNDS} interleaved rounds of ${SLICE_MS} ms per case\n` +
    `model: the scripted provider (no delays), ${TOOL_TURNS} echo turns + a final answer per run; policy: the built-in set via decideToolCall\n\n`,
);
// Replay first, on a fresh heap: `tape replay` runs in a fresh process too.
// The turns first, on a fresh heap: the 100k-event replay leaves ~1 GiB behind, and its
// garbage collections would be timed as the loop's.
const set = await builtinPolicySet();
await turnOverhead(set);
await chunkLatency(set);
if (process.env.BENCH_SKIP_REPLAY !== '1') await replay();
row('peak RSS', `${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
