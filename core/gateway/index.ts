// The public surface of core/gateway: sessions, admission and runs of the daemon.
export { GatewayRuntimeState, MESSAGE_RECEIVED } from './gateway-runtime.ts';
export type { GatewayDeps, RunView, Admission, QueueMode } from './gateway-runtime.ts';
export { SessionRegistry, SESSION_CREATED, SESSION_ARCHIVED } from './sessions.ts';
export { assertWorkspaceApart } from './workspace-apart.ts';
export type { Session, SessionInput } from './sessions.ts';
export { checkedSessionBudgets, tightenedBudgets } from './session-budgets.ts';
export type { SessionBudgets } from './session-budgets.ts';
export { RunEventStream } from './run-events.ts';
export type { RunStreamEvent } from './run-events.ts';
export { journalTapePort } from './journal-tape.ts';
export { listRuns, readRunTape, readRunTapeOf } from './run-tape.ts';
export type { RunSummary } from './run-tape.ts';
export { openJournalMemoryStore, createJournalMemoryStore, MEMORY_STORED, MEMORY_DELETED } from './journal-memory-store.ts';
export type { JournalMemoryStore, JournalMemoryStoreOptions } from './journal-memory-store.ts';
export { marksOf, learn } from './learning.ts';
export type { MemoryMark } from './learning.ts';
