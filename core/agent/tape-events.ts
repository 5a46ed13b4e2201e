/**
 * The tape: what one run did, step by step, as journal-ready events `{ kind, payload }`.
 * Every payload carries `tapeVersion`, its 1-based `step` and `at` (the one clock reading
 * taken for that step), so a replay can feed the same time back. docs/agent.md describes
 * every field. Invariant: every version stays readable (and replayable) forever; a change of
 * meaning is a new version.
 */
import type { JsonValue } from '../base/index.ts';
import type { ApprovalScope, PolicyDecision, PolicyPrincipal } from '../policy/index.ts';
import type { ChatMessage, FinishReason, ModelParameters, ProviderFailure, ProviderRoute, ToolCall } from '../providers/index.ts';
import type { RunBudgets } from './budgets.ts';
import type { AgentTool } from './ports.ts';
import type { RunState } from './run-state-machine.ts';

/**
 * The tape format this code writes and the newest it reads. Version 2: a tool batch that
 * ends before its calls run records a `tool.result` (source `stopped`) for every proposed
 * call without one; version 1 tapes have none there, and replay them as recorded.
 */
export const TAPE_VERSION = 2;

/** Every tape version this code reads (and replays under that version's rules). */
export type TapeVersion = 1 | 2;

/** What interrupted a run from outside its own logic: the caller's signal, or the wall-clock timer. */
export type InterruptCause = 'cancelled' | 'wall_clock';

/** Fields every payload has. */
export type TapeHeader = { tapeVersion: TapeVersion; step: number; at: number };

/** Who the run acts for, as policy requests need it. */
export type RunPrincipal = {
  principal: PolicyPrincipal;
  workspace: string;
  channel: string;
  sender: string;
  senderIsOwner: boolean;
};

export type RunCounters = { turns: number; toolCalls: number; inputTokens: number; outputTokens: number; cost: number };

export type RunStartedPayload = TapeHeader & {
  runId: string;
  sessionId: string;
  providerId: string;
  model: string;
  parameters: ModelParameters;
  system: string | null;
  systemHash: string;
  messages: ChatMessage[];
  messagesHash: string;
  tools: AgentTool[];
  toolsHash: string;
  policySetHash: string;
  principal: RunPrincipal;
  budgets: RunBudgets;
  /**
   * What the runs this one resumes had used (turns, tool calls, tokens, cost), counted against
   * this run's budgets so a resume never hands a run fresh ones. Only on a resumed run.
   */
  carried?: RunCounters;
};

export type RunTransitionPayload = TapeHeader & { from: RunState; to: RunState; reason: string; interrupt: InterruptCause | null };

export type ModelRequestPayload = TapeHeader & { turn: number; requestId: string; messageCount: number; messagesHash: string };

export type ModelResponsePayload = TapeHeader & {
  turn: number;
  text: string;
  toolCalls: ToolCall[];
  /** Indexes of calls whose arguments were not JSON; their `arguments` hold the raw text. */
  invalidArguments: number[];
  usage: { inputTokens: number; outputTokens: number } | null;
  finish: FinishReason | null;
  finishReason: string | null;
  error: ProviderFailure | null;
  /** Set when the run was interrupted while this turn streamed. */
  interrupted: InterruptCause | null;
  /**
   * Where the request went: the provider and model asked last (whose answer or failure
   * this is) and the attempts that failed over before it, each with its failure. Absent
   * on tapes recorded before it was added (same version, no change of meaning).
   */
  route?: ProviderRoute;
};

/** Which call of the run: its turn, its index in the model's order, and the model's id. */
export type CallRef = { turn: number; index: number; callId: string; tool: string };

export type ToolProposedPayload = TapeHeader & CallRef & { args: JsonValue };

export type ToolDecisionPayload = TapeHeader &
  CallRef & { approval: 'none' | 'approved'; decision: PolicyDecision; policies: string[]; reasons: string[]; policySetHash: string };

export type ApprovalRequestedPayload = TapeHeader & CallRef & { approvalId: string };

export type ApprovalResolvedPayload = TapeHeader &
  CallRef & {
    approvalId: string;
    outcome: 'approved' | 'denied' | 'expired' | 'interrupted';
    by: string | null;
    scope: ApprovalScope | null;
    reason: string | null;
    interrupt: InterruptCause | null;
  };

/**
 * Where a result came from: `tool` (the tools port ran it), `policy` (denied), `approval`
 * (denied, expired or still not allowed after approval), `invalid` (unknown tool or bad arguments),
 * `stopped` (the run ended before the call ran: a loop, or an interrupt while judging).
 */
export type ToolResultSource = 'tool' | 'policy' | 'approval' | 'invalid' | 'stopped';

export type ToolResultPayload = TapeHeader &
  CallRef & {
    source: ToolResultSource;
    ok: boolean;
    output: JsonValue;
    error: { code: string; message: string } | null;
    receipt: string | null;
    durationMs: number;
  };

/**
 * Messages a user sent while the run went, taken in at a model boundary (after the tool
 * calls of a turn, never during one) and added as one user message before `turn`'s request.
 * Each has the id the gateway gave it (its own run id), so recovery knows it was taken.
 */
export type RunSteeredPayload = TapeHeader & { turn: number; steers: { id: string; text: string }[] };

export type RunFinishedPayload = TapeHeader & {
  state: 'completed' | 'failed' | 'cancelled';
  reason: string;
  counters: RunCounters;
  finalText: string | null;
  messagesHash: string;
};

/** One tape event. */
export type TapeEvent =
  | { kind: 'run.started'; payload: RunStartedPayload }
  | { kind: 'run.transition'; payload: RunTransitionPayload }
  | { kind: 'model.request'; payload: ModelRequestPayload }
  | { kind: 'model.response'; payload: ModelResponsePayload }
  | { kind: 'tool.proposed'; payload: ToolProposedPayload }
  | { kind: 'tool.decision'; payload: ToolDecisionPayload }
  | { kind: 'approval.requested'; payload: ApprovalRequestedPayload }
  | { kind: 'approval.resolved'; payload: ApprovalResolvedPayload }
  | { kind: 'tool.result'; payload: ToolResultPayload }
  | { kind: 'run.steered'; payload: RunSteeredPayload }
  | { kind: 'run.finished'; payload: RunFinishedPayload };

export type TapeKind = TapeEvent['kind'];

/** The payload of one kind. */
export type TapePayload<K extends TapeKind> = Extract<TapeEvent, { kind: K }>['payload'];

/** A payload without its header, as the loop hands it to the recorder. */
export type TapeBody<K extends TapeKind> = Omit<Extract<TapeEvent, { kind: K }>['payload'], keyof TapeHeader>;

/** Every kind, in no particular order. */
export const TAPE_KINDS: readonly TapeKind[] = [
  'run.started',
  'run.transition',
  'model.request',
  'model.response',
  'tool.proposed',
  'tool.decision',
  'approval.requested',
  'approval.resolved',
  'tool.result',
  'run.steered',
  'run.finished',
];
