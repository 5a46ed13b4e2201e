// The public surface of core/agent: the deterministic run machinery. Time, ids and I/O
// come in through ports; nothing here reads the clock or the disk itself.
export { RunStateMachine, isTerminal } from './run-state-machine.ts';
export type { RunState, RunTransition } from './run-state-machine.ts';
