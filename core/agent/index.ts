// The public surface of core/agent: the deterministic run machinery. Time, ids and I/O
// come in through ports; nothing here reads the clock or the disk itself.
export { RunStateMachine, isTerminal } from './run-state-machine.ts';
export type { RunState, RunTransition } from './run-state-machine.ts';
export { runAgent } from './run-agent.ts';
export type { RunInput, RunOutcome, RunAgentOptions } from './run-agent.ts';
export { AgentRunLoopState } from './run-loop-state.ts';
export { DEFAULT_BUDGETS, resolveBudgets } from './budgets.ts';
export type { RunBudgets, RunBudgetsInput, CostBudget } from './budgets.ts';
export type { AgentPorts, AgentTool, AgentEvent, AgentApprovalOutcome, ApprovalHandle, ApprovalsPort, ToolsPort, TapePort, SteeringPort } from './ports.ts';
export { registryTools, registryApprovals } from './port-adapters.ts';
export { TAPE_VERSION, TAPE_KINDS } from './tape-events.ts';
export type {
  TapeEvent,
  TapeKind,
  TapePayload,
  TapeHeader,
  InterruptCause,
  RunPrincipal,
  RunCounters,
  CallRef,
  ToolResultSource,
  RunStartedPayload,
  RunTransitionPayload,
  ModelRequestPayload,
  ModelResponsePayload,
  ToolProposedPayload,
  ToolDecisionPayload,
  ApprovalRequestedPayload,
  ApprovalResolvedPayload,
  ToolResultPayload,
  RunFinishedPayload,
  RunSteeredPayload,
} from './tape-events.ts';
export { parseTape } from './parse-tape.ts';
export { recordedCanonicalJson } from './tape-recorder.ts';
export { replayTape } from './replay.ts';
export type { ReplayReport, ReplayOptions, Divergence } from './replay.ts';
export type { WhatIfChange } from './replay-ports.ts';
export { buildSyntheticTape } from './synthetic-tape.ts';
export type { SyntheticTapeOptions } from './synthetic-tape.ts';
export { serializeTapeFile, parseTapeFile, TAPE_FILE_FORMAT, TAPE_FILE_VERSION } from './tape-file.ts';
export type { TapeFileHeader, TapeFileEvent } from './tape-file.ts';
export { resumePoint, NOT_REPEATED_CODE } from './resume.ts';
export type { ResumePoint } from './resume.ts';
