/**
 * Resuming a run that was cut off (the daemon died or stopped while it went): the conversation is
 * rebuilt from its tape, so a new run goes on from where the old one stood without
 * running again any tool call whose result is on the tape. Pure: tape in, messages out.
 */
import type { ChatMessage } from '../providers/index.ts';
import type { CallRef, ModelResponsePayload, RunStartedPayload, RunSteeredPayload, ToolResultPayload } from './tape-events.ts';
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
  return { messages, reused, notRepeated, turns };
}
