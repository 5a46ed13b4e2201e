/**
 * The agent loop: model turn → tool calls judged and run → results fed back → next turn,
 * until a final answer, a budget, an error or a cancel ends the run. Every step goes on the
 * tape through the injected port; everything non-deterministic comes through ports.
 */
import { canonicalJson, invalidArgument, PalyraError, sha256Hex, type JsonValue } from '../base/index.ts';
import { DEFAULT_PRINCIPAL, type PolicyPrincipal } from '../policy/index.ts';
import type { ChatMessage, ModelParameters, ProviderRequest } from '../providers/index.ts';
import { resolveBudgets, type RunBudgetsInput } from './budgets.ts';
import { Interrupter } from './interrupt.ts';
import { callIdPrefixOf, responseBody, streamTurn } from './model-turn.ts';
import type { AgentEvent, AgentPorts, AgentTool } from './ports.ts';
import { interruptEnding, type Ending, type RunContext } from './run-context.ts';
import { AgentRunLoopState } from './run-loop-state.ts';
import { RunStateMachine, type RunState } from './run-state-machine.ts';
import type { InterruptCause, RunCounters, RunPrincipal, TapeVersion } from './tape-events.ts';
import { TapeLimitReached, TapeRecorder } from './tape-recorder.ts';
import { runToolBatch } from './tool-batch.ts';

/** One run to do. Principal fields default as `toolCallRequest` does (agent "main", owner, channel "cli"). */
export interface RunInput {
  runId: string;
  sessionId: string;
  model: string;
  system?: string | null;
  messages: ChatMessage[];
  parameters?: ModelParameters;
  principal?: PolicyPrincipal;
  workspace?: string;
  channel?: string;
  sender?: string;
  senderIsOwner?: boolean;
  /** Hash of the policy set `decide` uses, recorded on `run.started`. */
  policySetHash: string;
  budgets?: RunBudgetsInput;
  /** A resumed run: what the runs it goes on from used, counted against its budgets (see resumePoint). */
  carried?: RunCounters;
}

/** How a run ended. */
export interface RunOutcome {
  runId: string;
  state: 'completed' | 'failed' | 'cancelled';
  reason: string;
  /** The final answer of a completed run; null otherwise. */
  finalText: string | null;
  messages: ChatMessage[];
  counters: RunCounters;
  /** Tape steps recorded. */
  steps: number;
}

/** Options of {@link runAgent}. */
export interface RunAgentOptions {
  /** Aborting it cancels the run: the model stream, running tools and approval waits. */
  signal?: AbortSignal;
  /** The tape version to record under and follow (default TAPE_VERSION); replay passes the recorded tape's. */
  tapeVersion?: TapeVersion;
  /**
   * Record on each `model.response` where the request went (`route`). Default true; replay
   * passes false for a tape recorded before routes were, so it replays unchanged.
   */
  recordRoutes?: boolean;
}

const noop = (): void => undefined;

/**
 * Runs one agent run to its end and returns how it ended. It never throws for what a run
 * may meet (provider errors, denials, budgets, cancel, the tape bound); it throws only when
 * the input is invalid (PALYRA_INVALID_ARGUMENT) before anything is recorded.
 */
export async function runAgent(input: RunInput, ports: AgentPorts, options: RunAgentOptions = {}): Promise<RunOutcome> {
  const budgets = resolveBudgets(input.budgets);
  if (input.carried !== undefined) checkCarried(input.carried);
  const recorder = new TapeRecorder(ports.tape, ports.clock, { maxEvents: budgets.tapeMaxEvents, maxBytes: budgets.tapeMaxBytes }, options.tapeVersion);
  // The machine hands each transition to the recorder before it commits the new state, so
  // a step the tape bound refuses (TapeLimitReached, thrown before anything is recorded)
  // leaves the state as the tape shows it, and the closing transition starts from there.
  let step: { interrupt: InterruptCause | null; closing: boolean; recorded: void | Promise<void> } = { interrupt: null, closing: false, recorded: undefined };
  const machine = new RunStateMachine(input.runId, {
    clock: recorder.stampClock,
    record: (t) => void (step.recorded = recorder.record('run.transition', { from: t.from, to: t.to, reason: t.reason, interrupt: step.interrupt }, step.closing)),
  });
  const interrupter = new Interrupter(options.signal, ports.timers);
  const emit: (event: AgentEvent) => void = ports.onEvent ?? noop;
  const principal: RunPrincipal = {
    principal: input.principal ?? DEFAULT_PRINCIPAL,
    workspace: input.workspace ?? '',
    channel: input.channel ?? 'cli',
    sender: input.sender ?? '',
    senderIsOwner: input.senderIsOwner ?? true,
  };
  const transition = async (to: RunState, reason: string, interrupt: InterruptCause | null = null, closing = false): Promise<void> => {
    step = { interrupt, closing, recorded: undefined };
    const t = machine.transition(to, reason);
    emit({ type: 'state', from: t.from, to, reason });
    await step.recorded;
  };
  const state = new AgentRunLoopState(budgets, input.messages, input.carried);
  let ending: Ending;
  try {
    const tools = [...ports.tools.list];
    const system = input.system ?? null;
    await recorder.record('run.started', {
      runId: input.runId,
      sessionId: input.sessionId,
      providerId: ports.provider.id,
      model: input.model,
      parameters: input.parameters ?? {},
      system,
      systemHash: sha256Hex(system ?? ''),
      messages: input.messages,
      messagesHash: state.messagesHash(),
      tools,
      toolsHash: toolsHashOf(ports.tools.list),
      policySetHash: input.policySetHash,
      principal,
      budgets,
      ...(input.carried === undefined ? {} : { carried: input.carried }),
    });
    state.startedAt = recorder.lastAt;
    const ctx: RunContext = { ports, recorder, state, interrupter, principal, policySetHash: input.policySetHash, tools: new Map(tools.map((t) => [t.name, t])), emit, transition };
    ending = await loop(ctx, input, options.recordRoutes ?? true);
  } catch (error) {
    ending = errorEnding(error);
  }
  interrupter.dispose();
  return close(machine, recorder, state, ending, transition, input.runId);
}

/** The turns of a run, from `queued` to the ending (not yet recorded). */
async function loop(ctx: RunContext, input: RunInput, recordRoutes: boolean): Promise<Ending> {
  const { state, interrupter, recorder, ports } = ctx;
  // Checkpoint: a run cancelled before it started goes from queued to cancelled.
  if (interrupter.cause !== null) return interruptEnding(interrupter.cause, state.budgets.wallClockMs);
  interrupter.armDeadline(state.budgets.wallClockMs);
  await ctx.transition('running', 'started');
  const specs = [...ctx.tools.values()].map(({ name, description, inputSchema }) => ({ name, description, inputSchema }));
  for (;;) {
    const stop = state.beforeTurn(recorder.lastAt);
    if (stop !== null) return { to: 'failed', reason: stop, interrupt: null };
    const turnNo = ++state.turns;
    // The model boundary: messages sent meanwhile (steer) join the conversation here.
    const steers = ports.steering?.take() ?? [];
    if (steers.length > 0) {
      await recorder.record('run.steered', { turn: turnNo, steers });
      state.push({ role: 'user', content: steers.map((s) => s.text).join('\n\n') });
      ctx.emit({ type: 'steered', turn: turnNo, ids: steers.map((s) => s.id) });
    }
    const requestId = ports.newId();
    await recorder.record('model.request', { turn: turnNo, requestId, messageCount: state.messages.length, messagesHash: state.messagesHash() });
    ctx.emit({ type: 'turn_started', turn: turnNo });
    const request: ProviderRequest = { model: input.model, messages: state.messages.slice(), signal: interrupter.signal };
    if (input.system) request.system = input.system;
    if (specs.length > 0) request.tools = specs;
    if (input.parameters) request.parameters = input.parameters;
    const onText = ports.onEvent ? (text: string) => ctx.emit({ type: 'text_delta', turn: turnNo, text }) : undefined;
    const callIdPrefix = callIdPrefixOf(requestId);
    const streamed = await streamTurn(ports.provider, request, onText ? { interrupter, onText, callIdPrefix } : { interrupter, callIdPrefix });
    await recorder.record('model.response', responseBody(turnNo, streamed, recordRoutes));
    const { turn, interrupted } = streamed;
    const { text, toolCalls, usage, finish, error } = turn;
    if (interrupted !== null) return interruptEnding(interrupted, state.budgets.wallClockMs);
    const overBudget = state.addUsage(usage);
    if (error !== null) return { to: 'failed', reason: `provider: ${error.code}: ${error.message}`, interrupt: null };
    if (finish === null) return { to: 'failed', reason: `provider: stream of "${ports.provider.id}" ended without a finish`, interrupt: null };
    state.push(toolCalls.length > 0 ? { role: 'assistant', content: text === '' ? null : text, toolCalls } : { role: 'assistant', content: text });
    if (toolCalls.length === 0) {
      state.finalText = text;
      return { to: 'completed', reason: 'final answer', interrupt: null };
    }
    // A final answer completes even past a token or cost ceiling; the ceilings stop further work.
    if (overBudget !== null) return { to: 'failed', reason: overBudget, interrupt: null };
    const noCalls = state.beforeToolCalls(toolCalls.length);
    if (noCalls !== null) return { to: 'failed', reason: noCalls, interrupt: null };
    const ended = await runToolBatch(ctx, turnNo, turn);
    if (ended !== null) return ended;
  }
}

/** Carried counters are counts: finite and never negative. */
function checkCarried(carried: RunCounters): void {
  for (const key of ['turns', 'toolCalls', 'inputTokens', 'outputTokens', 'cost'] as const) {
    const v = carried[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidArgument(`Carried ${key} must be a non-negative number, not "${String(v)}"`);
  }
}

/** The hash of a tool list, kept per list: runs over the same (cached, frozen) list share it. */
const toolsHashes = new WeakMap<readonly AgentTool[], string>();
function toolsHashOf(list: readonly AgentTool[]): string {
  let hash = toolsHashes.get(list);
  if (hash === undefined) {
    hash = sha256Hex(canonicalJson(list as unknown as JsonValue));
    // Only a frozen list cannot change under the cached hash.
    if (Object.isFrozen(list)) toolsHashes.set(list, hash);
  }
  return hash;
}

function errorEnding(error: unknown): Ending {
  if (error instanceof TapeLimitReached) return { to: 'failed', reason: error.reason, interrupt: null };
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof PalyraError ? `${error.code}: ` : '';
  return { to: 'failed', reason: `internal: ${code}${message}`, interrupt: null };
}

/** Records the ending (transition and `run.finished`, both past the tape bound) and builds the outcome. */
async function close(
  machine: RunStateMachine,
  recorder: TapeRecorder,
  state: AgentRunLoopState,
  ending: Ending,
  transition: (to: RunState, reason: string, interrupt?: Ending['interrupt'], closing?: boolean) => Promise<void>,
  runId: string,
): Promise<RunOutcome> {
  const finalText = ending.to === 'completed' ? state.finalText : null;
  try {
    if (!machine.ended) await transition(ending.to, ending.reason, ending.interrupt, true);
    const counters = state.counters();
    await recorder.record('run.finished', { state: ending.to, reason: ending.reason, counters, finalText, messagesHash: state.messagesHash() }, true);
  } catch {
    // The tape port itself failed (or the machine was left in an unexpected state): the
    // outcome still says how the run ended; the daemon sees the journal error on its side.
  }
  return { runId, state: ending.to, reason: ending.reason, finalText, messages: state.messages, counters: state.counters(), steps: recorder.steps };
}
