/**
 * Ports that answer from a recorded tape: model responses, tool results, approval
 * outcomes, decisions, clock readings and ids, each in the order the live run asked for
 * them. Nothing here calls a model or runs a tool.
 */
import { canonicalJson, type JsonValue } from '../base/index.ts';
import { MARKER_PREFIX } from '../journal/redaction-markers.ts';
import type { ToolCallDecision, ToolCallRequest } from '../policy/index.ts';
import type { ModelProvider, ProviderEvent } from '../providers/index.ts';
import { failureReceipt, successReceipt, type ToolResult } from '../tools/index.ts';
import { APPROVAL_NOT_REQUESTED } from './judge-call.ts';
import type { AgentApprovalOutcome, AgentPorts, AgentTool, ApprovalHandle } from './ports.ts';
import type {
  ApprovalRequestedPayload,
  ApprovalResolvedPayload,
  InterruptCause,
  ModelResponsePayload,
  RunStartedPayload,
  TapeEvent,
  TapeKind,
  TapePayload,
  ToolDecisionPayload,
  ToolResultPayload,
} from './tape-events.ts';

/** One call whose decision would change under another policy. */
export interface WhatIfChange {
  /** Step of the recorded `tool.decision`. */
  step: number;
  callId: string;
  tool: string;
  args: JsonValue;
  approval: 'none' | 'approved';
  recorded: ToolCallDecision;
  decided: ToolCallDecision;
  /** The reasons of the new decision. */
  reasons: string[];
  /**
   * The journal redacted some of the arguments (they hold a marker): the call was judged on
   * the redacted values, not the ones the live run was decided on, so a policy that reads
   * them (an `always` approval binds them exactly) may be misjudged either way.
   */
  argsRedacted: boolean;
}

/** Where the replayed run stands against the recording, and how to raise interrupts in it. */
export interface ReplayDriver {
  /** Steps the replayed run has recorded so far. */
  position: number;
  trigger(cause: InterruptCause): void;
}

function ofKind<K extends TapeKind>(events: readonly TapeEvent[], kind: K): TapePayload<K>[] {
  const out: unknown[] = [];
  for (const e of events) if (e.kind === kind) out.push(e.payload);
  return out as TapePayload<K>[];
}

const NEVER = new Promise<never>(() => undefined);

/** The replay ports (all but `tape` and `timers`, which the replayer owns) for `events`. */
export function tapePorts(events: readonly TapeEvent[], driver: ReplayDriver, options: { decide?: (request: ToolCallRequest) => ToolCallDecision; whatIf: WhatIfChange[] }): Omit<AgentPorts, 'tape' | 'timers'> {
  const started = events[0]?.payload as RunStartedPayload;
  const responses = ofKind(events, 'model.response');
  const toolResults = ofKind(events, 'tool.result').filter((r) => r.source === 'tool');
  const requested = ofKind(events, 'approval.requested');
  const resolved = ofKind(events, 'approval.resolved');
  const requestIds = ofKind(events, 'model.request').map((r) => r.requestId);
  let clockAt = 0;
  let ids = 0;
  let responseAt = 0;
  let resultAt = 0;
  let approvalAt = 0;

  const provider: ModelProvider = {
    id: started.providerId,
    stream: (request) => replayStream(responses[responseAt++], driver),
  };
  return {
    clock: { now: () => (events[Math.min(clockAt++, events.length - 1)] as TapeEvent).payload.at },
    newId: () => requestIds[ids++] ?? `replay-extra-${ids}`,
    provider,
    tools: {
      list: started.tools as AgentTool[],
      invoke: (name) => Promise.resolve(toolResult(name, toolResults[resultAt++])),
    },
    decide: (request) => decideFromTape(events, driver.position, request, options),
    // A standing approval the live run found is on its recorded decision: the same request is decided again.
    approvalState: () => nextDecision(events, driver.position)?.approval ?? 'none',
    approvals: {
      requestApproval: () => {
        // The live run's port threw: no request was recorded, the run went back to running.
        const next = events[driver.position];
        if (next?.kind === 'run.transition' && next.payload.from === 'waiting' && next.payload.to === 'running') throw new Error(notRequestedMessage(events, driver.position));
        return approvalFromTape(requested[approvalAt], resolved[approvalAt++]);
      },
    },
    // What the live run took in at this boundary is the tape's next step, when it is run.steered.
    steering: {
      take: () => {
        const next = events[driver.position];
        return next?.kind === 'run.steered' ? next.payload.steers.map((s) => ({ id: s.id, text: s.text })) : [];
      },
    },
  };
}

async function* replayStream(r: ModelResponsePayload | undefined, driver: ReplayDriver): AsyncGenerator<ProviderEvent> {
  if (r === undefined) {
    yield { type: 'error', error: { code: 'bad_request', message: 'The tape has no more model responses', retryable: false } };
    return;
  }
  if (r.route !== undefined) yield { type: 'route', route: r.route };
  if (r.text !== '') yield { type: 'text_delta', text: r.text };
  for (let index = 0; index < r.toolCalls.length; index++) {
    const call = r.toolCalls[index] as (typeof r.toolCalls)[number];
    // A call whose arguments were not JSON was recorded with the raw text: send that text back.
    const fragment = r.invalidArguments.includes(index) ? String(call.arguments) : JSON.stringify(call.arguments);
    yield { type: 'tool_call_delta', index, id: call.id, name: call.name, argumentsFragment: fragment };
  }
  if (r.usage !== null) yield { type: 'usage', inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens };
  if (r.finish !== null) yield { type: 'finish', reason: r.finish, raw: r.finishReason };
  if (r.error !== null) yield { type: 'error', error: r.error };
  // Invariant: raised after every recorded event, before the stream ends, as the live run saw it.
  if (r.interrupted !== null) driver.trigger(r.interrupted);
}

/** The recorded result, with its receipt derived again from the output: an edited output shows up at its own step. */
function toolResult(name: string, r: ToolResultPayload | undefined): ToolResult {
  if (r === undefined) {
    const error = { code: 'PALYRA_TOOL_FAILED', message: 'The tape has no more tool results' };
    return { ok: false, tool: name, error, receipt: failureReceipt(name, error), durationMs: 0 };
  }
  if (r.ok) return { ok: true, tool: r.tool, output: r.output, receipt: successReceipt(r.tool, canonicalJson(r.output)), durationMs: r.durationMs };
  const error = r.error ?? { code: 'PALYRA_TOOL_FAILED', message: '' };
  return { ok: false, tool: r.tool, error, receipt: failureReceipt(r.tool, error), durationMs: r.durationMs };
}

/** The next recorded `tool.decision` at or after `position`. */
function nextDecision(events: readonly TapeEvent[], position: number): ToolDecisionPayload | undefined {
  for (let i = position; i < events.length; i++) {
    const e = events[i] as TapeEvent;
    if (e.kind === 'tool.decision') return e.payload;
  }
  return undefined;
}

/** The next recorded decision at or after the replay's position, and the what-if judgement of the same request. */
function decideFromTape(
  events: readonly TapeEvent[],
  position: number,
  request: ToolCallRequest,
  options: { decide?: (request: ToolCallRequest) => ToolCallDecision; whatIf: WhatIfChange[] },
): ToolCallDecision {
  const found = nextDecision(events, position);
  if (found === undefined) return { decision: 'deny', policies: [], reasons: ['The tape has no more decisions'], policySetHash: '' };
  const recorded: ToolCallDecision = { decision: found.decision, policies: found.policies, reasons: found.reasons, policySetHash: found.policySetHash };
  if (options.decide !== undefined) {
    let decided: ToolCallDecision;
    try {
      decided = options.decide(request);
    } catch (error) {
      decided = { decision: 'deny', policies: [], reasons: [`Policy could not judge the call: ${error instanceof Error ? error.message : String(error)}`], policySetHash: '' };
    }
    if (decided.decision !== recorded.decision) {
      const argsRedacted = JSON.stringify(request.args).includes(MARKER_PREFIX);
      options.whatIf.push({ step: found.step, callId: found.callId, tool: found.tool, args: request.args, approval: request.approval, recorded, decided, reasons: decided.reasons, argsRedacted });
    }
  }
  return recorded;
}

/** The port's error message of an approval that could not be requested, read back from the call's recorded result. */
function notRequestedMessage(events: readonly TapeEvent[], position: number): string {
  let asked: ToolDecisionPayload | undefined;
  for (let i = position - 1; i >= 0 && asked === undefined; i--) {
    const e = events[i] as TapeEvent;
    if (e.kind === 'tool.decision') asked = e.payload;
  }
  for (let i = position; asked !== undefined && i < events.length; i++) {
    const e = events[i] as TapeEvent;
    if (e.kind === 'tool.result' && e.payload.turn === asked.turn && e.payload.index === asked.index) {
      const message = e.payload.error?.message ?? '';
      return message.startsWith(APPROVAL_NOT_REQUESTED) ? message.slice(APPROVAL_NOT_REQUESTED.length) : message;
    }
  }
  return '';
}

function approvalFromTape(requested: ApprovalRequestedPayload | undefined, resolved: ApprovalResolvedPayload | undefined): ApprovalHandle {
  const approvalId = requested?.approvalId ?? 'replay-missing';
  if (resolved === undefined) return { approvalId, outcome: Promise.resolve({ type: 'expired' }) };
  let outcome: AgentApprovalOutcome;
  switch (resolved.outcome) {
    case 'approved':
      outcome = { type: 'approved', by: resolved.by ?? '', scope: resolved.scope ?? 'once' };
      break;
    case 'denied':
      outcome = { type: 'denied', by: resolved.by ?? '', reason: resolved.reason ?? '' };
      break;
    case 'expired':
      outcome = { type: 'expired' };
      break;
    case 'interrupted':
      // The replayer raises the interrupt itself when the run reaches this step.
      return { approvalId, outcome: NEVER };
    default: {
      const unreachable: never = resolved.outcome;
      throw new Error(`Unknown approval outcome ${String(unreachable)}`);
    }
  }
  return { approvalId, outcome: Promise.resolve(outcome) };
}
