/**
 * The tool calls of one turn: propose (with loop detection), judge each in the model's
 * order, then execute what may run — parallel-safe calls up to the cap at once, others one
 * at a time — and record and feed back every result in the model's order, whatever order
 * they finish in, so the tape is deterministic.
 */
import { canonicalJson, type JsonValue } from '../base/index.ts';
import type { CollectedTurn, ToolCall } from '../providers/index.ts';
import { failureReceipt, type ToolResult } from '../tools/index.ts';
import { judgeCall, syntheticError, type SyntheticResult } from './judge-call.ts';
import type { AgentTool } from './ports.ts';
import { interruptEnding, type Ending, type RunContext } from './run-context.ts';
import type { CallRef } from './tape-events.ts';

interface Runnable {
  index: number;
  ref: CallRef;
  tool: AgentTool;
  args: { [key: string]: JsonValue };
}

/** Runs the calls of `turn`; returns how the run ends, or null to go on to the next turn. */
export async function runToolBatch(ctx: RunContext, turnNo: number, turn: CollectedTurn): Promise<Ending | null> {
  const calls = turn.toolCalls;
  const refs: CallRef[] = calls.map((call, index) => ({ turn: turnNo, index, callId: call.id, tool: call.name }));
  for (const [i, call] of calls.entries()) {
    const ref = refs[i] as CallRef;
    await ctx.recorder.record('tool.proposed', { turn: ref.turn, index: ref.index, callId: ref.callId, tool: ref.tool, args: call.arguments });
    const loop = ctx.state.countProposal(call);
    if (loop !== null) return endEarly(ctx, calls, refs.slice(0, i + 1), [], { to: 'failed', reason: loop, interrupt: null });
  }
  const invalid = new Set(turn.invalidArguments);
  const known: (SyntheticResult | null)[] = [];
  const runnable: Runnable[] = [];
  for (const [i, call] of calls.entries()) {
    const judged = await judgeCall(ctx, refs[i] as CallRef, call, !invalid.has(i));
    ctx.state.toolCalls++;
    if (judged.type === 'end') return endEarly(ctx, calls, refs, known, judged.ending);
    if (judged.type === 'result') known.push(judged.result);
    else {
      known.push(null);
      runnable.push({ index: i, ref: refs[i] as CallRef, tool: judged.tool, args: judged.args });
    }
  }
  await execute(ctx, calls, refs, known, runnable);
  const cause = ctx.interrupter.cause;
  return cause === null ? null : interruptEnding(cause, ctx.state.budgets.wallClockMs);
}

/** Records one call's result and feeds it back to the model. */
async function recordResult(ctx: RunContext, ref: CallRef, call: ToolCall, r: SyntheticResult): Promise<void> {
  // Fields spelled out: object spread costs microseconds per call on V8, and replay does this per step.
  await ctx.recorder.record('tool.result', { turn: ref.turn, index: ref.index, callId: ref.callId, tool: ref.tool, source: r.source, ok: r.ok, output: r.output, error: r.error, receipt: r.receipt, durationMs: r.durationMs });
  const content = messageOf(r);
  ctx.state.push(r.ok ? { role: 'tool', toolCallId: call.id, name: call.name, content } : { role: 'tool', toolCallId: call.id, name: call.name, content, isError: true });
}

/**
 * A batch that ends before its calls run (a loop, or an interrupt while judging):
 * Invariant: every proposed call gets exactly one `tool.result`. Calls already judged
 * keep their result (a denial stays a denial); the others never ran and say so.
 */
async function endEarly(ctx: RunContext, calls: readonly ToolCall[], proposed: readonly CallRef[], known: readonly (SyntheticResult | null)[], ending: Ending): Promise<Ending> {
  // Version 1 tapes recorded no results here; their replay follows them.
  if (ctx.recorder.version < 2) return ending;
  for (const [i, ref] of proposed.entries()) {
    const r = known[i] ?? syntheticError('stopped', NOT_RUN_CODE, `Tool "${ref.tool}" was not run: the run ended (${ending.reason})`);
    await recordResult(ctx, ref, calls[i] as ToolCall, r);
  }
  return ending;
}

/** The code of a proposed call that never ran because the run ended first. */
export const NOT_RUN_CODE = 'PALYRA_TOOL_NOT_RUN';

/** A result slot, filled when its call settles. */
interface Slot {
  promise: Promise<SyntheticResult>;
  fill: (r: SyntheticResult) => void;
}

function slot(): Slot {
  let fill!: (r: SyntheticResult) => void;
  const promise = new Promise<SyntheticResult>((resolve) => (fill = resolve));
  return { promise, fill };
}

async function execute(ctx: RunContext, calls: readonly ToolCall[], refs: readonly CallRef[], known: (SyntheticResult | null)[], runnable: Runnable[]): Promise<void> {
  const slots = new Map<number, Slot>(runnable.map((r) => [r.index, slot()]));
  // Tools stop on an interrupt, and also when recording fails (tape bound, tape error).
  const batch = new AbortController();
  const onInterrupt = (): void => batch.abort(ctx.interrupter.signal.reason);
  if (ctx.interrupter.signal.aborted) onInterrupt();
  else ctx.interrupter.signal.addEventListener('abort', onInterrupt, { once: true });
  const control = { stopped: false };
  const starting = startAll(ctx, runnable, slots, batch.signal, control);
  try {
    for (const [i, call] of calls.entries()) {
      const r = known[i] ?? (await (slots.get(i) as Slot).promise);
      await recordResult(ctx, refs[i] as CallRef, call, r);
    }
  } catch (error) {
    control.stopped = true;
    batch.abort('stopped');
    await starting;
    throw error;
  } finally {
    ctx.interrupter.signal.removeEventListener('abort', onInterrupt);
  }
  await starting;
}

/** Starts calls in the model's order: a parallel-safe call waits for a free place (cap), any other waits for all before it and runs alone. */
async function startAll(ctx: RunContext, runnable: Runnable[], slots: Map<number, Slot>, signal: AbortSignal, control: { stopped: boolean }): Promise<void> {
  const cap = ctx.state.budgets.maxParallelTools;
  let running = 0;
  // Invariant: only this loop waits for a place, one wait at a time, so one waker is enough.
  let wake: (() => void) | null = null;
  const settled = (): void => {
    running--;
    const w = wake;
    wake = null;
    w?.();
  };
  const below = async (limit: number): Promise<void> => {
    while (running > limit) await new Promise<void>((resolve) => (wake = resolve));
  };
  for (const r of runnable) {
    await below(r.tool.parallelSafe ? cap - 1 : 0);
    const target = slots.get(r.index) as Slot;
    // Invariant: once recording has failed nothing new starts; these results are never recorded.
    if (control.stopped) {
      target.fill(syntheticError('tool', 'PALYRA_TOOL_CANCELLED', `Tool "${r.tool.name}" was not started: the run stopped`));
      continue;
    }
    running++;
    const done = invokeOne(ctx, r, signal).then((result) => {
      target.fill(result);
      settled();
    });
    if (!r.tool.parallelSafe) await done;
  }
  await below(0);
}

async function invokeOne(ctx: RunContext, r: Runnable, signal: AbortSignal): Promise<SyntheticResult> {
  const { turn, callId } = r.ref;
  ctx.emit({ type: 'tool_call_started', turn, callId, tool: r.tool.name });
  let result: ToolResult;
  try {
    result = await ctx.ports.tools.invoke(r.tool.name, r.args, signal);
  } catch (error) {
    // Invariant: the port never throws; if it does, the call still gets a result.
    const message = error instanceof Error ? error.message : String(error);
    const failure = { code: 'PALYRA_TOOL_FAILED', message: `Tool "${r.tool.name}" failed: ${message}` };
    result = { ok: false, tool: r.tool.name, error: failure, receipt: failureReceipt(r.tool.name, failure), durationMs: 0 };
  }
  ctx.emit({ type: 'tool_call_finished', turn, callId, tool: r.tool.name, ok: result.ok });
  return result.ok
    ? { source: 'tool', ok: true, output: result.output, error: null, receipt: result.receipt, durationMs: result.durationMs }
    : { source: 'tool', ok: false, output: null, error: { code: result.error.code, message: result.error.message }, receipt: result.receipt, durationMs: result.durationMs };
}

/** What the model reads back: the output as canonical JSON, or `CODE: message`. */
export function messageOf(r: Pick<SyntheticResult, 'ok' | 'output' | 'error'>): string {
  return r.ok ? canonicalJson(r.output) : `${r.error?.code ?? 'PALYRA_TOOL_FAILED'}: ${r.error?.message ?? ''}`;
}
