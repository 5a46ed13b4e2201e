/**
 * The ports of the agent loop: everything non-deterministic (time, ids, timers, the model,
 * tools, policy, humans, the tape) comes in here, so the loop itself is a pure function of
 * what the ports answer, and a tape of those answers replays to the same run.
 */
import type { Clock, JsonValue } from '../base/index.ts';
import type { ApprovalScope, ApprovalState, PolicyDecision, Timers, ToolCallDecision, ToolCallRequest } from '../policy/index.ts';
import type { ModelProvider } from '../providers/index.ts';
import type { Capability, RiskLevel, ToolResult } from '../tools/index.ts';
import type { RunState } from './run-state-machine.ts';
import type { TapeEvent } from './tape-events.ts';

/** A tool as the loop sees it: what the model is told, what policy is told, and how it may run. */
export type AgentTool = {
  name: string;
  description: string;
  inputSchema: { [key: string]: JsonValue };
  capabilities: Capability[];
  risk: RiskLevel;
  /** True when calls may run concurrently with other calls of the same turn. */
  parallelSafe: boolean;
};

/** The tools of a run. */
export interface ToolsPort {
  list: readonly AgentTool[];
  /**
   * Runs one call. Never throws (a ToolResult carries failures), and settles promptly once
   * `signal` aborts, as `ToolRegistry.invoke` does within its grace period.
   */
  invoke(name: string, input: JsonValue, signal: AbortSignal): Promise<ToolResult>;
}

/** How a human answered; mirrors the essentials of the policy layer's `ApprovalOutcome`. */
export type AgentApprovalOutcome =
  | { type: 'approved'; by: string; scope: ApprovalScope }
  | { type: 'denied'; by: string; reason: string }
  | { type: 'expired' };

/** A pending approval: its id, its outcome, and a way to withdraw it when the run stops waiting. */
export interface ApprovalHandle {
  approvalId: string;
  outcome: Promise<AgentApprovalOutcome>;
  /** Withdraws the request (the run was cancelled or ended); optional. */
  cancel?(): void;
}

/** Opens approvals for calls decided `ask` (normally `ApprovalRegistry.open`, adapted). */
export interface ApprovalsPort {
  requestApproval(request: ToolCallRequest, decision: ToolCallDecision): ApprovalHandle;
}

/** The run's tape. `record` is awaited: the daemon journals each event durably before the loop goes on. */
export interface TapePort {
  record(event: TapeEvent): void | Promise<void>;
}

/**
 * Messages that arrived for the run while it went (queue mode `steer`). `take` is asked at
 * each model boundary and hands over, once, what waits; the loop records them on the tape.
 */
export interface SteeringPort {
  take(): { id: string; text: string }[];
}

/** Live events for transports (not on the tape; replay does not produce them). */
export type AgentEvent =
  | { type: 'state'; from: RunState; to: RunState; reason: string }
  | { type: 'turn_started'; turn: number }
  | { type: 'steered'; turn: number; ids: string[] }
  | { type: 'text_delta'; turn: number; text: string }
  | { type: 'tool_call_started'; turn: number; callId: string; tool: string }
  | { type: 'tool_call_finished'; turn: number; callId: string; tool: string; ok: boolean }
  | { type: 'approval_requested'; turn: number; callId: string; tool: string; approvalId: string; decision: PolicyDecision };

/** Everything the loop needs from the world. */
export interface AgentPorts {
  clock: Clock;
  newId(): string;
  /** For the wall-clock budget; the same shape as the policy layer's timers (`systemTimers` fits). */
  timers: Timers;
  provider: ModelProvider;
  tools: ToolsPort;
  /**
   * The policy gate (normally `decideToolCall(request, set)`). A throw is taken as a deny
   * naming the error.
   */
  decide(request: ToolCallRequest): ToolCallDecision;
  /**
   * Optional: whether a standing approval (a `session` approval, normally
   * `ApprovalRegistry.approvalState`) already covers a call. When it says `approved`, the
   * loop decides and records the request with `approval: "approved"`, so the tape shows
   * why the call was allowed and a replay re-decides the same request. A throw counts as
   * `none`. Absent: no standing approvals.
   */
  approvalState?(request: ToolCallRequest): ApprovalState;
  approvals: ApprovalsPort;
  tape: TapePort;
  /** Optional: messages to take in at model boundaries (none when absent). */
  steering?: SteeringPort;
  /** Live stream for transports; called synchronously, so keep it cheap. */
  onEvent?(event: AgentEvent): void;
}
