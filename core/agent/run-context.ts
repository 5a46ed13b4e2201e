/**
 * What the parts of one run share while it goes: ports, recorder, state, interrupts. Built
 * by `runAgent`, handed to the turn and tool-batch steps.
 */
import { budgetReason } from './budgets.ts';
import type { AgentEvent, AgentPorts, AgentTool } from './ports.ts';
import type { Interrupter } from './interrupt.ts';
import type { RunState } from './run-state-machine.ts';
import type { AgentRunLoopState } from './run-loop-state.ts';
import type { InterruptCause, RunPrincipal } from './tape-events.ts';
import type { TapeRecorder } from './tape-recorder.ts';

/** How a run ends: its terminal state, why, and the interrupt that caused it (if one did). */
export type Ending = { to: 'completed' | 'failed' | 'cancelled'; reason: string; interrupt: InterruptCause | null };

export interface RunContext {
  ports: AgentPorts;
  recorder: TapeRecorder;
  state: AgentRunLoopState;
  interrupter: Interrupter;
  principal: RunPrincipal;
  policySetHash: string;
  tools: ReadonlyMap<string, AgentTool>;
  emit: (event: AgentEvent) => void;
  /** Moves the run and records the step; `closing` steps pass the tape bound. */
  transition(to: RunState, reason: string, interrupt?: InterruptCause | null, closing?: boolean): Promise<void>;
}

/** The ending an interrupt gives: the caller's cancel, or the wall-clock budget. */
export function interruptEnding(cause: InterruptCause, wallClockMs: number): Ending {
  return cause === 'cancelled'
    ? { to: 'cancelled', reason: 'cancelled by request', interrupt: cause }
    : { to: 'failed', reason: budgetReason.wallClock(wallClockMs), interrupt: cause };
}
