import { PalyraError, type Clock } from '../base/index.ts';

/** The states of a run. `completed`, `failed` and `cancelled` are terminal. */
export type RunState = 'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';

/** One state change, as the tape records it. */
export interface RunTransition {
  runId: string;
  from: RunState;
  to: RunState;
  reason: string;
  at: number;
}

/**
 * Every legal move. `waiting` is a run parked on a human approval: it goes back to
 * `running` when the approval is resolved (or times out, which is a deny the loop feeds
 * back to the model), or ends when the run is cancelled or fails.
 */
const LEGAL: Readonly<Record<RunState, readonly RunState[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['waiting', 'completed', 'failed', 'cancelled'],
  waiting: ['running', 'failed', 'cancelled'],
  completed: [],
  failed: [],
  cancelled: [],
};

/** True for the states a run never leaves. */
export function isTerminal(state: RunState): boolean {
  return LEGAL[state].length === 0;
}

/**
 * The run state machine: `queued → running`, `running ⇄ waiting`, and the terminal
 * `completed`, `failed`, `cancelled`. An illegal transition throws (it is a bug in the
 * caller, never a user mistake). Time comes from the injected clock and every transition
 * goes to `record` (the tape) before the state changes, so a replay sees the same steps.
 */
export class RunStateMachine {
  private current: RunState = 'queued';

  constructor(
    readonly runId: string,
    private readonly ports: { clock: Clock; record: (transition: RunTransition) => void },
  ) {}

  /** The state the run is in. */
  get state(): RunState {
    return this.current;
  }

  /** True once the run has ended. */
  get ended(): boolean {
    return isTerminal(this.current);
  }

  /** Moves the run to `to`, recording why. */
  transition(to: RunState, reason: string): RunTransition {
    const from = this.current;
    if (!LEGAL[from].includes(to)) {
      throw new PalyraError('PALYRA_RUN_ILLEGAL_TRANSITION', `Run "${this.runId}" cannot go from ${from} to ${to} (${reason})`, {
        details: { runId: this.runId, from, to, reason },
      });
    }
    const t: RunTransition = { runId: this.runId, from, to, reason, at: this.ports.clock.now() };
    this.ports.record(t);
    this.current = to;
    return t;
  }
}
