/**
 * Judging one proposed call: availability and arguments, the policy gate, and a human
 * approval when policy says `ask`. Decide first, act later: nothing here runs a tool.
 */
import type { JsonValue } from '../base/index.ts';
import { toolCallRequest, type ApprovalState, type ToolCallDecision, type ToolCallRequest } from '../policy/index.ts';
import type { ToolCall } from '../providers/index.ts';
import { INTERRUPTED } from './interrupt.ts';
import type { AgentApprovalOutcome, AgentTool, ApprovalHandle } from './ports.ts';
import { interruptEnding, type Ending, type RunContext } from './run-context.ts';
import type { CallRef, ToolResultPayload, ToolResultSource } from './tape-events.ts';

/** A result the loop makes itself (no tool ran), as `tool.result` records it. */
export type SyntheticResult = Omit<ToolResultPayload, 'tapeVersion' | 'step' | 'at' | keyof CallRef>;

/** What judging gave: run it, a result to feed back instead, or the run ends. */
export type Judgement =
  | { type: 'run'; tool: AgentTool; args: { [key: string]: JsonValue } }
  | { type: 'result'; result: SyntheticResult }
  | { type: 'end'; ending: Ending };

export function syntheticError(source: ToolResultSource, code: string, message: string): SyntheticResult {
  return { source, ok: false, output: null, error: { code, message }, receipt: null, durationMs: 0 };
}

/** Judges call `ref` of the current turn. */
export async function judgeCall(ctx: RunContext, ref: CallRef, call: ToolCall, argsValid: boolean): Promise<Judgement> {
  const tool = ctx.tools.get(call.name);
  if (tool === undefined) return result(syntheticError('invalid', 'PALYRA_TOOL_NOT_FOUND', `Tool "${call.name}" is not available in this run`));
  const args = call.arguments;
  if (!argsValid || typeof args !== 'object' || args === null || Array.isArray(args)) {
    return result(syntheticError('invalid', 'PALYRA_TOOL_INPUT_INVALID', `Arguments of tool "${call.name}" must be a JSON object`));
  }
  const toolCallsLeft = ctx.state.toolCallsLeft();
  const first = await decideRecorded(ctx, ref, tool, args, 'none', toolCallsLeft);
  switch (first.decision.decision) {
    case 'allow':
      return { type: 'run', tool, args };
    case 'deny':
      return result(syntheticError('policy', 'PALYRA_TOOL_FORBIDDEN', `Denied by policy: ${first.decision.reasons.join('; ')}`));
    case 'ask':
      return askHuman(ctx, ref, tool, args, first, toolCallsLeft);
    default: {
      const unreachable: never = first.decision.decision;
      throw new Error(`Unknown decision ${String(unreachable)}`);
    }
  }
}

function result(r: SyntheticResult): Judgement {
  return { type: 'result', result: r };
}

interface Decided {
  request: ToolCallRequest | null;
  decision: ToolCallDecision;
}

/** Builds the request, decides (a throw is a deny naming it) and records `tool.decision`. */
async function decideRecorded(
  ctx: RunContext,
  ref: CallRef,
  tool: AgentTool,
  args: { [key: string]: JsonValue },
  approval: ApprovalState,
  toolCallsLeft: number,
): Promise<Decided> {
  let request: ToolCallRequest | null = null;
  let decision: ToolCallDecision;
  try {
    const p = ctx.principal;
    // Fields spelled out: object spread costs microseconds per call on V8, and replay does this per step.
    request = toolCallRequest({ principal: p.principal, workspace: p.workspace, channel: p.channel, sender: p.sender, senderIsOwner: p.senderIsOwner, tool: { name: tool.name, capabilities: tool.capabilities, risk: tool.risk }, args, approval, toolCallsLeft });
    // A standing (session) approval goes into the request itself, so what is decided is what is recorded.
    if (approval === 'none' && standingApproval(ctx, request) === 'approved') {
      approval = 'approved';
      request = { ...request, approval };
    }
    decision = ctx.ports.decide(request);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    decision = { decision: 'deny', policies: [], reasons: [`Policy could not judge the call: ${message}`], policySetHash: ctx.policySetHash };
  }
  const { decision: verdict, policies, reasons, policySetHash } = decision;
  await ctx.recorder.record('tool.decision', { turn: ref.turn, index: ref.index, callId: ref.callId, tool: ref.tool, approval, decision: verdict, policies: [...policies], reasons: [...reasons], policySetHash });
  return { request, decision };
}

function standingApproval(ctx: RunContext, request: ToolCallRequest): ApprovalState {
  try {
    return ctx.ports.approvalState?.(request) ?? 'none';
  } catch {
    return 'none';
  }
}

/** How the result of a call whose approval could not be requested begins; replay reads the port's error back from it. */
export const APPROVAL_NOT_REQUESTED = 'Approval could not be requested: ';

/** `ask`: the run waits for a human; an approved call is decided again as approved before it runs. */
async function askHuman(ctx: RunContext, ref: CallRef, tool: AgentTool, args: { [key: string]: JsonValue }, asked: Decided, toolCallsLeft: number): Promise<Judgement> {
  await ctx.transition('waiting', `approval needed for tool "${tool.name}"`);
  let handle: ApprovalHandle;
  try {
    handle = ctx.ports.approvals.requestApproval(asked.request as ToolCallRequest, asked.decision);
  } catch (error) {
    await ctx.transition('running', 'approval could not be requested');
    const message = error instanceof Error ? error.message : String(error);
    return result(syntheticError('approval', 'PALYRA_TOOL_FORBIDDEN', `${APPROVAL_NOT_REQUESTED}${message}`));
  }
  const { approvalId } = handle;
  let waited: Waited | undefined;
  try {
    waited = await awaitAnswer(ctx, ref, tool, handle);
  } finally {
    // Security: whenever the wait ends without an answer (interrupt, or a step that threw —
    // the tape bound right after the request), the approval is withdrawn, so a late answer
    // can grant nothing (no `session` scope, no `always` policy) for a run that stopped.
    if (waited?.answered !== true) handle.cancel?.();
  }
  const { outcome } = waited;
  if (outcome === INTERRUPTED) {
    const cause = ctx.interrupter.cause ?? 'cancelled';
    await ctx.recorder.record('approval.resolved', { ...ref, approvalId, outcome: 'interrupted', by: null, scope: null, reason: null, interrupt: cause });
    return { type: 'end', ending: interruptEnding(cause, ctx.state.budgets.wallClockMs) };
  }
  const resolved = {
    by: outcome.type === 'expired' ? null : outcome.by,
    scope: outcome.type === 'approved' ? outcome.scope : null,
    reason: outcome.type === 'denied' ? outcome.reason : null,
  };
  await ctx.recorder.record('approval.resolved', { ...ref, approvalId, outcome: outcome.type, ...resolved, interrupt: null });
  await ctx.transition('running', `approval ${outcome.type}`);
  switch (outcome.type) {
    case 'denied':
      return result(syntheticError('approval', 'PALYRA_TOOL_FORBIDDEN', `Denied by ${outcome.by}: ${outcome.reason}`));
    case 'expired':
      return result(syntheticError('approval', 'PALYRA_APPROVAL_EXPIRED', `Approval "${approvalId}" expired before anyone answered`));
    case 'approved': {
      const again = await decideRecorded(ctx, ref, tool, args, 'approved', toolCallsLeft);
      if (again.decision.decision === 'allow') return { type: 'run', tool, args };
      return result(syntheticError('approval', 'PALYRA_TOOL_FORBIDDEN', `Not allowed even when approved: ${again.decision.reasons.join('; ')}`));
    }
    default: {
      const unreachable: never = outcome;
      throw new Error(`Unknown approval outcome ${JSON.stringify(unreachable)}`);
    }
  }
}

/** How a wait ended; `answered` when the outcome came from the approval itself (nothing left to withdraw). */
interface Waited {
  outcome: AgentApprovalOutcome | typeof INTERRUPTED;
  answered: boolean;
}

/** Records the request and waits for its answer, or the interrupt. */
async function awaitAnswer(ctx: RunContext, ref: CallRef, tool: AgentTool, handle: ApprovalHandle): Promise<Waited> {
  const { approvalId } = handle;
  await ctx.recorder.record('approval.requested', { ...ref, approvalId });
  ctx.emit({ type: 'approval_requested', turn: ref.turn, callId: ref.callId, tool: tool.name, approvalId, decision: 'ask' });
  let outcome: AgentApprovalOutcome | typeof INTERRUPTED;
  try {
    outcome = await ctx.interrupter.wait(handle.outcome);
  } catch (error) {
    return { outcome: { type: 'denied', by: 'palyrad', reason: `Approval failed: ${error instanceof Error ? error.message : String(error)}` }, answered: false };
  }
  return { outcome, answered: outcome !== INTERRUPTED };
}
