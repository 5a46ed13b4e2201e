/**
 * Resuming a run that was cut off (the daemon died or stopped while it went): the conversation is
 * rebuilt from its tape, so a new run goes on from where the old one stood without
 * running again any tool call whose result is on the tape. Pure: tape in, messages out.
 */
import type { ChatMessage } from '../providers/index.ts';
import type { CallRef, ModelResponsePayload, RunCounters, RunStartedPayload, RunSteeredPayload, ToolResultPayload } from './tape-events.ts';
import { messageOf } from './tool-batch.ts';

/** The code a call gets when its result never reached the tape. */
export const NOT_REPEATED_CODE = 'PALYRA_TOOL_INTERRUPTED';

/** What a resumed run starts from. */
export interface ResumePoint {
  /** The conversation as the old run last knew it, ready for the next model turn. */
  messages: ChatMessage[];
  /** Calls answered from the tape (not run again). */
  reused: number;
  /**
   * Calls that have no result to feed back: none on the tape (a crash), or one saying the
   * run ended before they ran (source `stopped`). The model is told they were not run.
   */
  notRepeated: CallRef[];
  /** Model turns the old run completed. */
  turns: number;
  /**
   * What the old run used, plus what it had carried itself: the resumed run starts with
   * these counted against its budgets, so a crash or stop and a resume never buy a run fresh
   * budgets. Turns count every model request, tool calls every proposed call (a call cut off
   * while it was being judged counts: never fewer than the old run used), tokens every
   * answered turn's usage, cost that usage at the old run's prices (0 when it had none).
   * The wall clock is not carried: the time the daemon was down is nobody's run time.
   */
  spent: RunCounters;
}

/**
 * Rebuilds the conversation of a run from its tape events (journal order): the messages it
 * started with, then for each completed model turn the assistant message and a tool message
 * per call in the model's order. A call with no `tool.result` on the tape may or may not
 * have run (the result is written after the tool ends): it is not run again; its message
 * says so, and the model may call it again (through the policy gate) if it still needs it.
 * A call whose result has source `stopped` never ran: it is told the same way, not as the
 * old run's "cancelled by request", which would read as a human refusing it.
 * A turn cut off while streaming is dropped: the model is simply asked again.
 * @throws Error when the tape has no `run.started` (nothing to resume from).
 */
export function resumePoint(events: readonly { kind: string; payload: unknown }[]): ResumePoint {
  const started = events.find((e) => e.kind === 'run.started')?.payload as RunStartedPayload | undefined;
  if (!started) throw new Error('the tape has no run.started event');
  const results = new Map<string, ToolResultPayload>();
  for (const e of events) {
    if (e.kind === 'tool.result') {
      const r = e.payload as ToolResultPayload;
      results.set(`${r.turn}:${r.index}`, r);
    }
  }
  const messages: ChatMessage[] = [...started.messages];
  const notRepeated: CallRef[] = [];
  let reused = 0;
  let turns = 0;
  for (const e of events) {
    if (e.kind === 'run.steered') {
      messages.push({ role: 'user', content: (e.payload as RunSteeredPayload).steers.map((st) => st.text).join('\n\n') });
      continue;
    }
    if (e.kind !== 'model.response') continue;
    const turn = e.payload as ModelResponsePayload;
    if (turn.finish === null || turn.error !== null || turn.interrupted !== null) break;
    turns++;
    if (turn.toolCalls.length === 0) {
      messages.push({ role: 'assistant', content: turn.text });
      break;
    }
    messages.push({ role: 'assistant', content: turn.text === '' ? null : turn.text, toolCalls: turn.toolCalls });
    for (const [index, call] of turn.toolCalls.entries()) {
      const result = results.get(`${turn.turn}:${index}`);
      if (result && result.source === 'stopped') {
        notRepeated.push({ turn: turn.turn, index, callId: call.id, tool: call.name });
        const content = `${NOT_REPEATED_CODE}: the run stopped before this call ran; it was not run. Call it again if it is still needed.`;
        messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content, isError: true });
      } else if (result) {
        reused++;
        const content = messageOf(result);
        messages.push(result.ok ? { role: 'tool', toolCallId: call.id, name: call.name, content } : { role: 'tool', toolCallId: call.id, name: call.name, content, isError: true });
      } else {
        notRepeated.push({ turn: turn.turn, index, callId: call.id, tool: call.name });
        const content = `${NOT_REPEATED_CODE}: the daemon stopped before the result of this call was recorded; it was not run again (it may or may not have taken effect). Call it again if it is still needed.`;
        messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content, isError: true });
      }
    }
  }
  return { messages, reused, notRepeated, turns, spent: spentBy(started, events) };
}

function spentBy(started: RunStartedPayload, events: readonly { kind: string; payload: unknown }[]): RunCounters {
  const spent: RunCounters = { ...(started.carried ?? { turns: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, cost: 0 }) };
  const prices = started.budgets.cost;
  for (const e of events) {
    if (e.kind === 'model.request') spent.turns++;
    else if (e.kind === 'tool.proposed') spent.toolCalls++;
    else if (e.kind === 'model.response') {
      const { usage, interrupted } = e.payload as ModelResponsePayload;
      // The run counts a turn's usage only when the turn was not interrupted (run-agent.ts).
      if (usage === null || interrupted !== null) continue;
      spent.inputTokens += usage.inputTokens;
      spent.outputTokens += usage.outputTokens;
      if (prices) spent.cost += usage.inputTokens * prices.inputPerToken + usage.outputTokens * prices.outputPerToken;
    }
  }
  return spent;
}
