/**
 * Fakes for the agent tests: a clock, timers driven by hand, providers, tools, decisions
 * and approvals the test controls, and a tape in memory. Test support only.
 */
import { canonicalJson, type JsonValue } from '../base/index.ts';
import type { PolicyDecision, ToolCallDecision, ToolCallRequest, Timers } from '../policy/index.ts';
import { createScriptedProvider, parseScript, type ModelProvider, type ProviderEvent, type ScriptTurn } from '../providers/index.ts';
import { failureReceipt, successReceipt, type ToolResult } from '../tools/index.ts';
import type { AgentApprovalOutcome, AgentEvent, AgentPorts, AgentTool, ApprovalHandle } from './ports.ts';
import type { RunInput } from './run-agent.ts';
import type { TapeEvent, TapeKind, TapePayload } from './tape-events.ts';

/** Timers that fire only when the test advances them. */
export class FakeTimers implements Timers {
  #now = 0;
  #next = 0;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();

  // Arrow properties: the port is called as `timers.setTimeout.call(timers, ...)` or detached.
  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    this.#pending.set(++this.#next, { at: this.#now + ms, fn });
    return this.#next;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.#pending.delete(handle as number);
  };

  get pending(): number {
    return this.#pending.size;
  }

  advance(ms: number): void {
    this.#now += ms;
    for (const [id, t] of [...this.#pending]) {
      if (t.at <= this.#now) {
        this.#pending.delete(id);
        t.fn();
      }
    }
  }
}

/** A promise with its resolver, for gates the test opens. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export const echoTool: AgentTool = {
  name: 'echo',
  description: 'Return the given text unchanged.',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  capabilities: [],
  risk: 'low',
  parallelSafe: true,
};

/** A tool as the agent sees it, with a name, parallel safety and capabilities. */
export function tool(name: string, parallelSafe: boolean, capabilities: AgentTool['capabilities'] = [], risk: AgentTool['risk'] = 'low'): AgentTool {
  return { ...echoTool, name, description: `Test tool ${name}.`, parallelSafe, capabilities, risk };
}

export function ok(name: string, output: JsonValue): ToolResult {
  return { ok: true, tool: name, output, receipt: successReceipt(name, canonicalJson(output)), durationMs: 1 };
}

export function failed(name: string, code: string, message: string): ToolResult {
  const error = { code, message };
  return { ok: false, tool: name, error, receipt: failureReceipt(name, error), durationMs: 1 };
}

/** A scripted model: each turn played once, in order. */
export function scripted(turns: ScriptTurn[]): ModelProvider {
  return createScriptedProvider(parseScript({ version: 1, turns }));
}

/** A model that streams `first`, then waits for `gate` ignoring its abort signal (a hung stream). */
export function hangingProvider(first: string, gate: Promise<void>): ModelProvider {
  return {
    id: 'hanging',
    async *stream(): AsyncGenerator<ProviderEvent> {
      yield { type: 'text_delta', text: first };
      await gate;
      yield { type: 'finish', reason: 'stop', raw: 'stop' };
    },
  };
}

/** Decides by tool name (default allow), flipping `ask` to allow once approved. */
export function decideBy(table: Record<string, PolicyDecision> = {}): (request: ToolCallRequest) => ToolCallDecision {
  return (request) => {
    let decision = table[request.tool.name] ?? 'allow';
    if (decision === 'ask' && request.approval === 'approved') decision = 'allow';
    return { decision, policies: [`test.${decision}`], reasons: [`Test says ${decision} for "${request.tool.name}"`], policySetHash: 'test-set' };
  };
}

/** Approvals answered by the test: each request gets the next outcome (or waits for `answer`). */
export function approvalsBy(outcomes: (AgentApprovalOutcome | Promise<AgentApprovalOutcome>)[]): AgentPorts['approvals'] & { cancelled: string[]; asked: ToolCallRequest[] } {
  let n = 0;
  const cancelled: string[] = [];
  const asked: ToolCallRequest[] = [];
  return {
    cancelled,
    asked,
    requestApproval(request): ApprovalHandle {
      asked.push(request);
      const approvalId = `appr-${++n}`;
      const outcome = outcomes.shift() ?? { type: 'expired' };
      return { approvalId, outcome: Promise.resolve(outcome), cancel: () => void cancelled.push(approvalId) };
    },
  };
}

/** Ports with a tape in memory; override any of them. */
export function harness(overrides: Partial<AgentPorts> = {}): { ports: AgentPorts; tape: TapeEvent[]; events: AgentEvent[]; timers: FakeTimers } {
  const tape: TapeEvent[] = [];
  const events: AgentEvent[] = [];
  const timers = new FakeTimers();
  let now = 1_000_000;
  let ids = 0;
  const ports: AgentPorts = {
    clock: { now: () => (now += 5) },
    newId: () => `id-${++ids}`,
    timers,
    provider: scripted([{ text: 'hello' }]),
    tools: { list: [echoTool], invoke: (name, input) => Promise.resolve(ok(name, input)) },
    decide: decideBy(),
    approvals: approvalsBy([]),
    tape: { record: (event) => void tape.push(event) },
    onEvent: (event) => void events.push(event),
    ...overrides,
  };
  return { ports, tape, events, timers };
}

export function input(overrides: Partial<RunInput> = {}): RunInput {
  return {
    runId: 'run-1',
    sessionId: 'session-1',
    model: 'test-model',
    system: 'You are a test.',
    messages: [{ role: 'user', content: 'hi' }],
    policySetHash: 'test-set',
    ...overrides,
  };
}

/** Kinds of a tape, for asserting its shape at a glance. */
export function kinds(tape: readonly TapeEvent[]): string[] {
  return tape.map((e) => e.kind);
}

/** The payloads of one kind. */
export function payloads<K extends TapeKind>(tape: readonly TapeEvent[], kind: K): TapePayload<K>[] {
  const out: unknown[] = [];
  for (const e of tape) if (e.kind === kind) out.push(e.payload);
  return out as TapePayload<K>[];
}

/** Resolves once `predicate` holds, checking after each macrotask turn (no timing assumptions). */
export async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !predicate(); i++) await new Promise((r) => setImmediate(r));
  if (!predicate()) throw new Error('Condition never held');
}
