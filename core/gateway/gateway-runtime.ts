import { PalyraError, sha256Hex, systemClock, newUlid, type Clock, type JsonValue } from '../base/index.ts';
import { registryApprovals, registryTools, resumePoint, runAgent, type AgentEvent, type CallRef, type RunBudgetsInput, type RunCounters, type RunOutcome } from '../agent/index.ts';
import { readRunTapeOf } from './run-tape.ts';
import { journalTapePort } from './journal-tape.ts';
import { readRecords, type JournalStore, type StoredRecord } from '../journal/index.ts';
import { decideToolCall, parsePrincipal, systemTimers, type ApprovalRegistry, type CompiledPolicySet, type Timers } from '../policy/index.ts';
import type { ChatMessage, ModelProvider } from '../providers/index.ts';
import type { MemoryStore, ToolContext, ToolRegistry } from '../tools/index.ts';
import { hidingKnownSecrets } from './hide-known-secrets.ts';
import { assertWorkspaceApart } from './workspace-apart.ts';
import { learn, marksOf } from './learning.ts';
import { tightenedBudgets } from './session-budgets.ts';
import { RunEventStream } from './run-events.ts';
import { SessionRegistry, type Session } from './sessions.ts';
import { join } from 'node:path';
import { composeUserText, INTERRUPTED_REASON, JournalReplay, MESSAGE_RECEIVED, MEMORY_LEARNED, RUN_CANCELLED, RUN_INTERRUPTED, RUN_RESUMED, RUN_STOPPED, STOPPED_REASON, type JournalRun, type RecoveryPlan } from './journal-replay.ts';

export { composeUserText, MESSAGE_RECEIVED, MEMORY_LEARNED, RUN_CANCELLED, RUN_INTERRUPTED, RUN_RESUMED, RUN_STOPPED, STOPPED_REASON } from './journal-replay.ts';

/**
 * How a message joins a session that already has a run going. `coalesce` (the default):
 * it joins the waiting run if that run's last message came less than the debounce period
 * ago (a burst becomes one run), else it waits as its own run; a message starting with
 * "/" is a command and always gets its own run.
 */
export type QueueMode = 'coalesce' | 'followup' | 'collect' | 'steer' | 'interrupt';
const QUEUE_MODES: readonly string[] = ['coalesce', 'followup', 'collect', 'steer', 'interrupt'];

/** What the gateway needs from the daemon. */
export interface GatewayDeps {
  journal: JournalStore;
  provider: ModelProvider;
  model: string;
  system?: string;
  tools: ToolRegistry;
  /** The state directory (tools keep pid files there) and the default workspace. */
  stateDir: string;
  defaultWorkspace: string;
  /** The policy set in force now (normally `PolicyStore.current`). */
  policies: () => CompiledPolicySet;
  approvals: ApprovalRegistry;
  /** Where post-run learning stores what completed runs marked with memory.remember (none: not learned). */
  memory?: MemoryStore;
  /** More readers of the journal's records on open, fed in the same pass as the gateway's (one read of the log at start). */
  journalReaders?: ((record: StoredRecord) => void)[];
  /** Told of each journal event that could not be read back on open (it is skipped: the log cannot be changed). */
  warn?: (message: string) => void;
  budgets?: RunBudgetsInput;
  /** Runs going at once across all sessions (default 64); more wait their turn. */
  maxConcurrentRuns?: number;
  clock?: Clock;
  timers?: Timers;
  newId?: () => string;
  /** Messages of earlier runs a new run of the session sees (default 40). */
  historyMessages?: number;
  /**
   * Ended runs kept in memory with their live streams (default 10,000); older ones are
   * forgotten here (their tapes stay in the journal: GET /api/v1/runs/{id}/tape).
   */
  keepEndedRuns?: number;
  /**
   * Idempotency keys remembered (default 100,000: a few hundred bytes each): a long-lived
   * daemon forgets the oldest, so a retry carrying a key that old is admitted again.
   */
  keepIdempotencyKeys?: number;
  /** `coalesce`: how recent a waiting run's last message must be to join it (default 500 ms). */
  coalesceDebounceMs?: number;
  /** Messages of one run given verbatim; more are summarized in one line each (default 20). */
  maxPendingPerConversation?: number;
}

/** A run as clients see it. */
export interface RunView {
  runId: string;
  sessionId: string;
  state: 'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';
  reason: string | null;
  messageIds: string[];
  createdAt: number;
  finishedAt: number | null;
  finalText: string | null;
  counters: RunOutcome['counters'] | null;
  /** The interrupted run this one resumes, if any. */
  resumedFrom: string | null;
  /**
   * Set when this message was taken into a going run (mode `steer`): that run's id. This
   * run then ends with that run, with its final text.
   */
  steeredInto: string | null;
}

interface RunEntry {
  view: RunView;
  /** A resumed run starts from the old run's conversation, rebuilt from its tape, not from the session history. */
  resumeMessages: ChatMessage[] | null;
  /** A resumed run: what the runs it goes on from used of their budgets, counted against its own. */
  resumeCarried: RunCounters | null;
  /** Mode `steer`: the going run this message asks to join at its next model boundary. */
  steerInto: RunEntry | null;
  /** Runs this one took in by steering; they end when it ends. */
  steered: RunEntry[];
  /** Its message was never admitted (the journal refused it): it leaves no trace in the conversation. */
  withdrawn: boolean;
  texts: string[];
  /** When its newest message was admitted (for `coalesce`). */
  lastMessageAt: number;
  events: RunEventStream;
  abort: AbortController;
  done: Promise<RunView>;
  settle: (view: RunView) => void;
}

interface SessionLane {
  active: RunEntry | null;
  queued: RunEntry[];
  history: ChatMessage[];
}

/** What admitting a message returns. */
export interface Admission {
  messageId: string;
  runId: string;
  sessionId: string;
  /** True when the idempotency key was seen before: nothing new was admitted. */
  duplicate: boolean;
}

const MAX_TEXT_BYTES = 256 * 1024;

/**
 * An admission remembered under its idempotency key, with what was admitted: a retry must
 * send the same message. `fingerprint` is null when it is unknown (a key read back from a
 * journal event whose text was redacted): such a retry is taken for the same message.
 */
interface RememberedAdmission {
  admission: Admission;
  fingerprint: string | null;
}

/** An idempotency key as an error message quotes it: at most 64 characters of it. */
function quotedKey(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}…` : key;
}

/** What identifies a message for its idempotency key: its text and queue mode (128 bits of their hash: a few dozen bytes per key). */
function messageFingerprint(text: string, mode: string): string {
  return sha256Hex(`${mode}\u0000${text}`).slice(0, 32);
}

/** The last `n` items of a list. Not `slice(-n)`: `slice(-0)` is the whole list, so keeping none kept all. */
function newest<T>(list: readonly T[], n: number): T[] {
  return list.slice(Math.max(0, list.length - n));
}

/**
 * GatewayRuntimeState: sessions, durable admission, one run per session, and the runs'
 * live streams. A message is journaled (durable) before it is acknowledged; a duplicate
 * idempotency key returns the first admission. Each session runs one run at a time;
 * messages that arrive meanwhile wait (followup: a run each, in order; collect: merged
 * into the next run; interrupt: the active run is cancelled and the message runs next).
 */
export class GatewayRuntimeState {
  readonly sessions: SessionRegistry;
  private readonly runs = new Map<string, RunEntry>();
  private readonly lanes = new Map<string, SessionLane>();
  private readonly idempotency = new Map<string, RememberedAdmission>();
  /** Keys whose first message is still being written: a duplicate waits for that write. */
  private readonly keysBeingWritten = new Map<string, Promise<unknown>>();
  private readonly clock: Clock;
  private readonly newId: () => string;
  private running = 0;
  private readonly endedOrder: string[] = [];
  private pendingRecovery: RecoveryPlan | null = null;
  private readonly waitingForSlot: RunEntry[] = [];
  /** Interrupted run → the run resuming it (one resume per run). */
  private readonly resumedAs = new Map<string, string>();
  private stopping = false;

  private constructor(private readonly deps: GatewayDeps) {
    this.clock = deps.clock ?? systemClock;
    this.newId = deps.newId ?? (() => newUlid(this.clock.now()));
    this.sessions = new SessionRegistry(deps.journal, this.clock, this.newId, (workspace) => assertWorkspaceApart(workspace, deps.stateDir, 'workspace'));
  }

  /** Builds the runtime and rebuilds sessions and idempotency keys from the journal. */
  static open(deps: GatewayDeps): GatewayRuntimeState {
    const gateway = new GatewayRuntimeState(deps);
    const replay = new JournalReplay();
    const readers = deps.journalReaders ?? [];
    for (const { record } of readRecords(join(deps.journal.paths.dir, 'segments'))) {
      // One event of an unexpected shape (written by an older or other writer) must not keep
      // the daemon from starting, ever: the append-only log can never drop it. It is skipped
      // and reported; `journal verify` still vouches for it as a record.
      try {
        for (const read of readers) read(record);
        gateway.sessions.replay(record);
        replay.add(record);
        if (record.kind === MESSAGE_RECEIVED && record.sessionId) {
          const p = JSON.parse(record.payloadJson) as { messageId: string; runId: string; idempotencyKey: string | null; text?: unknown; mode?: unknown };
          if (typeof p.idempotencyKey === 'string' && p.idempotencyKey !== '') {
            // Redaction may have changed the text on disk: then what was sent is unknown.
            const known = record.redactions === 0 && typeof p.text === 'string' && typeof p.mode === 'string';
            const fingerprint = known ? messageFingerprint(p.text as string, p.mode as string) : null;
            gateway.rememberKey(`${record.sessionId}\u0000${p.idempotencyKey}`, { admission: { messageId: p.messageId, runId: p.runId, sessionId: record.sessionId, duplicate: true }, fingerprint });
          }
        }
      } catch (error) {
        deps.warn?.(`journal event ${record.seq} (${record.kind}) could not be read back and was skipped: ${(error as Error).message}`);
      }
    }
    gateway.pendingRecovery = replay.finish(deps.maxPendingPerConversation ?? 20);
    gateway.restoreEnded(replay.ended());
    for (const run of replay.resumed()) gateway.resumedAs.set(run.resumedFrom as string, run.runId);
    for (const [sessionId, history] of gateway.pendingRecovery.histories) gateway.lane(sessionId).history = newest(history, gateway.historyMessages);
    return gateway;
  }

  /**
   * The views of runs that ended before this start (the newest `keepEndedRuns`), so a
   * retried idempotency key, `GET /api/v1/runs/{id}` and `?wait=true` find them.
   */
  private restoreEnded(ended: readonly JournalRun[]): void {
    for (const run of newest(ended, this.deps.keepEndedRuns ?? 10_000)) {
      const entry = this.newRunWithId(run.runId, run.sessionId, [...run.messageIds], [...run.texts]);
      const end = run.end as NonNullable<JournalRun['end']>;
      Object.assign(entry.view, {
        state: end.state as RunView['state'],
        reason: end.reason,
        createdAt: run.createdAt,
        finishedAt: end.at,
        finalText: run.finalText,
        counters: end.counters as RunView['counters'],
        resumedFrom: run.resumedFrom,
        steeredInto: run.steeredInto,
      });
      entry.events.end(entry.view as unknown as JsonValue);
      entry.settle(entry.view);
      this.runs.set(run.runId, entry);
      this.endedOrder.push(run.runId);
    }
  }

  /**
   * Picks up after a crash (call once, after open): runs that were going when the daemon
   * died end `failed` with reason `interrupted` (a `run.interrupted` event; their tapes are
   * left as they were, so they still replay), and admitted messages that never got a run
   * are run now, in the order they were admitted.
   */
  async recover(): Promise<{ interrupted: string[]; requeued: string[] }> {
    const plan = this.pendingRecovery;
    this.pendingRecovery = null;
    if (!plan) return { interrupted: [], requeued: [] };
    for (const run of plan.interrupted) {
      await this.deps.journal.append({ kind: RUN_INTERRUPTED, runId: run.runId, sessionId: run.sessionId, actor: 'gateway', payload: { runId: run.runId, reason: 'interrupted' } });
      const entry = this.newRunWithId(run.runId, run.sessionId, run.messageIds, run.texts);
      this.runs.set(run.runId, entry);
      this.finish(entry, { state: 'failed', reason: INTERRUPTED_REASON, finalText: null, counters: null });
      // Messages it took in by steering ended with it.
      for (const id of run.steeredIn) {
        const steered = plan.byId.get(id);
        if (!steered || this.runs.has(id)) continue;
        const view = this.newRunWithId(id, steered.sessionId, steered.messageIds, steered.texts);
        view.view.steeredInto = run.runId;
        this.runs.set(id, view);
        this.finish(view, { state: 'failed', reason: `steered into run ${run.runId}: ${INTERRUPTED_REASON}`, finalText: null, counters: null });
      }
    }
    // Restored on open already when among the newest ended runs; older ones come back here,
    // so every run a stop cut off (a crash or a clean stop) stays resumable.
    for (const run of plan.interruptedBefore) {
      if (this.runs.has(run.runId)) continue;
      const entry = this.newRunWithId(run.runId, run.sessionId, run.messageIds, run.texts);
      this.runs.set(run.runId, entry);
      const end = run.end ?? { state: 'failed', reason: INTERRUPTED_REASON, counters: null };
      this.finish(entry, { state: end.state as RunView['state'], reason: end.reason, finalText: null, counters: end.counters as RunView['counters'] });
    }
    const requeued: string[] = [];
    // Every admitted message that had no run yet is run, also when its session was archived
    // since: it was acknowledged before the archive, and a daemon that had not stopped would
    // have run it (archiving refuses new messages; `cancel` is what stops admitted ones).
    for (const run of plan.unstarted) {
      const entry = this.newRunWithId(run.runId, run.sessionId, run.messageIds, run.texts);
      if (run.resumedFrom !== null) {
        entry.view.resumedFrom = run.resumedFrom;
        const point = resumePoint(readRunTapeOf(this.deps.journal, run.resumedFrom).events);
        entry.resumeMessages = point.messages;
        entry.resumeCarried = point.spent;
      }
      this.runs.set(run.runId, entry);
      this.lane(run.sessionId).queued.push(entry);
      requeued.push(run.runId);
    }
    for (const sessionId of new Set(plan.unstarted.map((r) => r.sessionId))) this.pump(sessionId);
    return { interrupted: plan.interrupted.map((r) => r.runId), requeued };
  }

  /**
   * Admits a message: checks it, dedupes by idempotency key, journals it (durable) and
   * queues its run. Resolves once the message is durable, not when the run ends.
   */
  async admit(sessionRef: string, message: { text: unknown; idempotencyKey?: unknown; mode?: unknown }): Promise<Admission> {
    if (this.stopping) throw new PalyraError('PALYRA_UNAVAILABLE', 'The daemon is stopping and admits no new messages');
    // Live is checked after the duplicate lookup below: a retry of a message admitted before
    // its session was archived gets its admission back, not a refusal.
    const session = this.sessions.resolve(sessionRef);
    const text = message.text;
    if (typeof text !== 'string' || text.trim() === '') throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'Message text must be a non-empty string');
    if (Buffer.byteLength(text) > MAX_TEXT_BYTES) throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `Message text is over ${MAX_TEXT_BYTES} bytes`);
    const key = message.idempotencyKey;
    if (key !== undefined && key !== null && (typeof key !== 'string' || key === '' || key.length > 200)) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'idempotencyKey must be a string of 1–200 characters');
    }
    const mode = message.mode ?? 'coalesce';
    if (typeof mode !== 'string' || !QUEUE_MODES.includes(mode)) {
      throw new PalyraError('PALYRA_INVALID_ARGUMENT', `mode must be one of ${QUEUE_MODES.join(', ')}, not ${JSON.stringify(mode)}`);
    }
    const dedupeKey = typeof key === 'string' ? `${session.id}\u0000${key}` : null;
    if (dedupeKey) {
      const writing = this.keysBeingWritten.get(dedupeKey);
      if (writing) {
        // Acknowledged only once the first is durable; if its write fails, this one is
        // admitted in its place (the first's caller got the error, and the key is free).
        await writing.catch(() => undefined);
        return this.admit(sessionRef, message);
      }
      const seen = this.idempotency.get(dedupeKey);
      if (seen) {
        // A key reused for another message would otherwise drop that message silently.
        if (seen.fingerprint !== null && seen.fingerprint !== messageFingerprint(text, mode)) {
          throw new PalyraError(
            'PALYRA_CONFLICT',
            `idempotencyKey ${JSON.stringify(quotedKey(key as string))} was already used in this session for a different message (text or mode); use a new key for a new message`,
          );
        }
        return { ...seen.admission, duplicate: true };
      }
    }
    this.sessions.live(session.id);
    const lane = this.lane(session.id);
    const waiting = lane.queued[lane.queued.length - 1];
    const now = this.clock.now();
    // Never joined: a resumed run (its conversation is the old run's tape) or a steer
    // waiting to be taken into the going run (it would stop being one).
    const joinable = waiting !== undefined && waiting.resumeMessages === null && waiting.steerInto === null;
    // A command ("/…") is always a run of its own, whatever the mode: merged with text it would
    // stop being one, and text merged into it would be taken for its arguments.
    const joins =
      mode !== 'steer' &&
      joinable &&
      !text.startsWith('/') &&
      !waiting.texts[0]?.startsWith('/') &&
      (mode === 'collect' || (mode === 'coalesce' && now - waiting.lastMessageAt <= (this.deps.coalesceDebounceMs ?? 500)));
    const collectInto = joins ? waiting : undefined;
    const entry = collectInto ?? this.newRun(session);
    // Steer: the message waits as its own run, which the going run takes in at its next
    // model boundary; if that run ends first, the message simply runs next.
    const steerInto = mode === 'steer' && lane.active && !lane.active.events.ended ? lane.active : null;
    if (!collectInto) entry.steerInto = steerInto;
    const messageId = `msg_${this.newId()}`;
    const admission: Admission = { messageId, runId: entry.view.runId, sessionId: session.id, duplicate: false };
    // Reserve the key before the await, so a concurrent duplicate waits for this one.
    if (dedupeKey) this.rememberKey(dedupeKey, { admission: { ...admission, duplicate: true }, fingerprint: messageFingerprint(text, mode) });
    // Written at once, not when the run started below first waits: the acknowledgement then
    // waits for one write, not for the run's first steps too (interleaved A/B of two
    // daemons: a message answered ~0.1 ms sooner as well).
    const appended = this.deps.journal.append({
      kind: MESSAGE_RECEIVED,
      sessionId: session.id,
      runId: entry.view.runId,
      actor: 'gateway',
      channel: session.channel,
      payload: { messageId, runId: entry.view.runId, idempotencyKey: typeof key === 'string' ? key : null, text, mode, ...(steerInto ? { steerInto: steerInto.view.runId } : {}) },
    }, { writeNow: true });
    if (dedupeKey) {
      this.keysBeingWritten.set(dedupeKey, appended);
      const written = (): void => void this.keysBeingWritten.delete(dedupeKey);
      appended.then(written, written);
    }
    if (mode === 'interrupt') {
      // Cancelling the going run is not undone if the message then fails to be admitted: wait first.
      try {
        await appended;
      } catch (error) {
        if (dedupeKey) this.idempotency.delete(dedupeKey);
        throw error;
      }
      this.enqueue(entry, messageId, text, now, lane, { newRun: !collectInto, interrupt: true });
      this.pump(session.id);
      return admission;
    }
    // The run may start while the message is still being written: the log is written in
    // order, so nothing the run records (and no tool, which waits for its decision to be
    // durable) can be on disk before the message. The caller's acknowledgement still waits.
    this.enqueue(entry, messageId, text, now, lane, { newRun: !collectInto, interrupt: false });
    this.pump(session.id);
    try {
      await appended;
    } catch (error) {
      if (dedupeKey) this.idempotency.delete(dedupeKey);
      this.withdraw(entry, messageId, error);
      throw error;
    }
    return admission;
  }

  /** Adds an admitted message to its run, and a new run to its session's queue. */
  private enqueue(entry: RunEntry, messageId: string, text: string, now: number, lane: SessionLane, how: { newRun: boolean; interrupt: boolean }): void {
    entry.view.messageIds.push(messageId);
    entry.texts.push(text);
    entry.lastMessageAt = now;
    if (!how.newRun) return;
    this.runs.set(entry.view.runId, entry);
    if (how.interrupt && lane.active) lane.active.abort.abort(new PalyraError('PALYRA_CONFLICT', 'interrupted by a newer message'));
    if (how.interrupt) lane.queued.unshift(entry);
    else lane.queued.push(entry);
  }

  /**
   * A message whose journal write failed was never admitted: it leaves its run. A run left
   * without messages is dropped if it had not started, and cancelled if it had.
   */
  private withdraw(entry: RunEntry, messageId: string, error: unknown): void {
    const at = entry.view.messageIds.indexOf(messageId);
    if (at < 0) return;
    const started = entry.view.state !== 'queued';
    if (!started) {
      entry.view.messageIds.splice(at, 1);
      entry.texts.splice(at, 1);
      if (entry.texts.length > 0) return;
      if (this.dropUnstarted(entry, `its message could not be journaled: ${(error as Error).message}`)) return;
    }
    entry.withdrawn = true;
    entry.abort.abort(new PalyraError('PALYRA_CONFLICT', `its message could not be journaled: ${(error as Error).message}`));
  }

  /** A run by id. */
  run(runId: string): RunView {
    return this.entry(runId).view;
  }

  /** Runs, newest first, optionally of one session. */
  listRuns(filter: { sessionId?: string; limit?: number } = {}): RunView[] {
    const all = [...this.runs.values()].map((r) => r.view).filter((v) => filter.sessionId === undefined || v.sessionId === filter.sessionId);
    return all.reverse().slice(0, filter.limit ?? 100);
  }

  /** Counts for /metrics: runs by state, sessions, and whether the gateway is stopping. */
  stats(): { runsByState: Record<string, number>; activeRuns: number; sessions: number; stopping: boolean } {
    const runsByState: Record<string, number> = {};
    for (const { view } of this.runs.values()) runsByState[view.state] = (runsByState[view.state] ?? 0) + 1;
    return { runsByState, activeRuns: this.running, sessions: this.sessions.list().length, stopping: this.stopping };
  }

  /** Resolves when the run has ended. */
  waitFor(runId: string): Promise<RunView> {
    return this.entry(runId).done;
  }

  /**
   * Archives a session (see SessionRegistry.archive) and forgets the approvals its
   * `session` scope granted: a new session with that id cannot exist, but runs admitted
   * before the archive still run, and they ask again.
   */
  async archiveSession(ref: string): Promise<Session> {
    const session = await this.sessions.archive(ref);
    this.deps.approvals.forgetSession(session.id);
    return session;
  }

  /** The live stream of a run. */
  events(runId: string): RunEventStream {
    return this.entry(runId).events;
  }

  /**
   * Cancels a run (queued or going); cancelling an ended run changes nothing. A run that
   * had not started is journaled as cancelled (`run.cancelled`) before this resolves, so
   * a restart does not run its messages after all.
   */
  async cancel(runId: string): Promise<RunView> {
    const entry = this.entry(runId);
    const reason = 'cancelled by request before it started';
    const dropped = this.dropUnstarted(entry, reason);
    entry.abort.abort(new PalyraError('PALYRA_CONFLICT', 'cancelled by request'));
    if (dropped) {
      const { sessionId } = entry.view;
      await this.deps.journal.append({ kind: RUN_CANCELLED, runId, sessionId, actor: 'gateway', payload: { runId, reason } });
    }
    return entry.view;
  }

  /**
   * Ends a run that has not started (queued, or first in its session but waiting for a
   * slot) and lets its session go on. False when the run had started or ended already.
   */
  private dropUnstarted(entry: RunEntry, reason: string): boolean {
    if (entry.view.state !== 'queued' || entry.events.ended) return false;
    const lane = this.lane(entry.view.sessionId);
    lane.queued = lane.queued.filter((e) => e !== entry);
    const slot = this.waitingForSlot.indexOf(entry);
    if (slot >= 0) this.waitingForSlot.splice(slot, 1);
    // The session's active run that waits for a slot has not started either.
    if (lane.active === entry && slot < 0) return false;
    if (lane.active === entry) lane.active = null;
    this.finish(entry, { state: 'cancelled', reason, finalText: null, counters: null });
    this.pump(entry.view.sessionId);
    return true;
  }

  /**
   * Resumes a run the daemon's stop cut off (a crash: ended `failed`, reason `interrupted`; a
   * clean stop: ended `cancelled`, reason STOPPED_REASON) as a new
   * run of the same session. Its conversation is rebuilt from the old run's tape: tool
   * results on the tape are fed back, not run again; a call whose result never reached the
   * tape, or that the old run ended before running (source `stopped`), is not run either
   * (the model is told, and may call again through policy).
   * A run is resumed at most once.
   * @throws PalyraError PALYRA_CONFLICT for a run that was not interrupted or was resumed already.
   */
  async resume(runId: string): Promise<{ runId: string; resumedFrom: string; reused: number; notRepeated: CallRef[] }> {
    if (this.stopping) throw new PalyraError('PALYRA_UNAVAILABLE', 'The daemon is stopping and starts no new runs');
    const already = this.resumedAs.get(runId);
    if (already) throw new PalyraError('PALYRA_CONFLICT', `Run "${runId}" was resumed already, as run "${already}"`);
    const old = this.entry(runId).view;
    const interrupted = old.state === 'failed' && old.reason?.startsWith('interrupted') === true;
    const stopped = old.state === 'cancelled' && old.reason === STOPPED_REASON;
    if (!interrupted && !stopped) {
      throw new PalyraError('PALYRA_CONFLICT', `Run "${runId}" is ${old.state}${old.reason ? ` (${old.reason})` : ''}; only a run a stop of the daemon cut off (a crash, or a clean stop) can be resumed`);
    }
    const session = this.sessions.live(old.sessionId);
    const point = resumePoint(readRunTapeOf(this.deps.journal, runId).events);
    const entry = this.newRun(session);
    entry.texts.push(...this.entry(runId).texts);
    entry.resumeMessages = point.messages;
    entry.resumeCarried = point.spent;
    entry.view.resumedFrom = runId;
    this.resumedAs.set(runId, entry.view.runId);
    try {
      await this.deps.journal.append({
        kind: RUN_RESUMED,
        sessionId: session.id,
        runId: entry.view.runId,
        actor: 'gateway',
        payload: { runId: entry.view.runId, fromRunId: runId, reused: point.reused, notRepeated: point.notRepeated },
      });
    } catch (error) {
      this.resumedAs.delete(runId);
      throw error;
    }
    this.runs.set(entry.view.runId, entry);
    this.lane(session.id).queued.push(entry);
    this.pump(session.id);
    return { runId: entry.view.runId, resumedFrom: runId, reused: point.reused, notRepeated: point.notRepeated };
  }

  /**
   * Stops admitting, cancels every run and waits for them to reach their end. Runs that
   * had not started are not journaled as cancelled: their messages were acknowledged, so
   * the next start runs them.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const pending = [...this.runs.values()].filter((r) => r.events.ended === false);
    for (const r of pending) {
      this.dropUnstarted(r, 'the daemon stopped before it started; it runs when the daemon starts again');
      r.abort.abort(new PalyraError('PALYRA_CONFLICT', STOPPED_REASON));
    }
    await Promise.all(pending.map((r) => r.done));
  }

  private entry(runId: string): RunEntry {
    const e = this.runs.get(runId);
    if (!e) throw new PalyraError('PALYRA_NOT_FOUND', `No run "${runId}" in this daemon`);
    return e;
  }

  private lane(sessionId: string): SessionLane {
    let lane = this.lanes.get(sessionId);
    if (!lane) {
      lane = { active: null, queued: [], history: [] };
      this.lanes.set(sessionId, lane);
    }
    return lane;
  }

  private newRun(session: Session): RunEntry {
    return this.newRunWithId(`run_${this.newId()}`, session.id, [], []);
  }

  private newRunWithId(runId: string, sessionId: string, messageIds: string[], texts: string[]): RunEntry {
    let settle!: (view: RunView) => void;
    const done = new Promise<RunView>((resolve) => (settle = resolve));
    return {
      view: { runId, sessionId, state: 'queued', reason: null, messageIds, createdAt: this.clock.now(), finishedAt: null, finalText: null, counters: null, resumedFrom: null, steeredInto: null },
      resumeMessages: null,
      resumeCarried: null,
      steerInto: null,
      steered: [],
      withdrawn: false,
      texts,
      lastMessageAt: 0,
      events: new RunEventStream(),
      abort: new AbortController(),
      done,
      settle,
    };
  }

  /** Starts the session's next run when it has none going and a slot is free. */
  private pump(sessionId: string): void {
    const lane = this.lane(sessionId);
    // A stopping daemon starts nothing: what has not started runs on the next start.
    if (this.stopping || lane.active || lane.queued.length === 0) return;
    const next = lane.queued.shift() as RunEntry;
    lane.active = next;
    if (this.running >= (this.deps.maxConcurrentRuns ?? 64)) {
      this.waitingForSlot.push(next);
      return;
    }
    this.start(next);
  }

  private start(entry: RunEntry): void {
    this.running++;
    void this.drive(entry).finally(() => {
      this.running--;
      const lane = this.lane(entry.view.sessionId);
      if (lane.active === entry) lane.active = null;
      const waiting = this.stopping ? undefined : this.waitingForSlot.shift();
      if (waiting) this.start(waiting);
      this.pump(entry.view.sessionId);
    });
  }

  private async drive(entry: RunEntry): Promise<void> {
    const { view } = entry;
    const session = this.sessions.resolve(view.sessionId);
    const lane = this.lane(view.sessionId);
    const userText = composeUserText(entry.texts, this.deps.maxPendingPerConversation ?? 20);
    const messages: ChatMessage[] = entry.resumeMessages ?? [...lane.history, { role: 'user', content: userText }];
    const set = this.deps.policies();
    const approvals = this.deps.approvals;
    const tape = journalTapePort(this.deps.journal, { runId: view.runId, sessionId: view.sessionId });
    const context: Omit<ToolContext, 'signal'> = { workspace: session.workspace || this.deps.defaultWorkspace, stateDir: this.deps.stateDir, sessionId: session.id };
    const onEvent = (event: AgentEvent): void => {
      // A run is shown ended only by finish(), once its tape is durable and its final text
      // is set: readers never see "completed" without the answer.
      if (event.type === 'state' && event.to !== 'completed' && event.to !== 'failed' && event.to !== 'cancelled') view.state = event.to;
      entry.events.publish(event.type, event as unknown as JsonValue);
    };
    let outcome: RunOutcome;
    try {
      outcome = await runAgent(
        {
          runId: view.runId,
          sessionId: view.sessionId,
          model: this.deps.model,
          system: this.deps.system ?? null,
          messages,
          principal: parsePrincipal(session.principal, session.id),
          workspace: context.workspace,
          channel: session.channel,
          senderIsOwner: session.owner,
          policySetHash: set.hash,
          budgets: tightenedBudgets(this.deps.budgets, session.budgets),
          ...(entry.resumeCarried === null ? {} : { carried: entry.resumeCarried }),
        },
        {
          clock: this.clock,
          newId: this.newId,
          timers: this.deps.timers ?? systemTimers,
          provider: this.deps.provider,
          tools: hidingKnownSecrets(registryTools(this.deps.tools, context), this.deps.journal.redactor),
          decide: (request) => decideToolCall(request, this.deps.policies()),
          approvalState: (request) => approvals.approvalState(request),
          approvals: registryApprovals(approvals, { runId: view.runId }),
          tape,
          steering: { take: () => this.takeSteers(entry) },
          onEvent,
        },
        { signal: entry.abort.signal },
      );
    } catch (error) {
      this.finish(entry, { state: 'failed', reason: `internal: ${(error as Error).message}`, finalText: null, counters: null });
      return;
    }
    await tape.settled().catch(() => undefined); // a journal failure is the journal's to report
    if (outcome.state === 'completed' && this.deps.memory) await this.learnFrom(view, outcome);
    // A run cancelled from here says why (by request, a newer message, a refused admission).
    const why = entry.abort.signal.reason;
    const reason = outcome.state === 'cancelled' && why instanceof PalyraError ? why.message : outcome.reason;
    // Invariant: a run a stop cut off stays out of the history, as after a crash (and as
    // JournalReplay rebuilds it): its resume, if any, tells the turn, so it is told once.
    if (!(outcome.state === 'cancelled' && reason === STOPPED_REASON)) this.remember(lane, entry, userText, outcome.finalText);
    // The tape says only "cancelled by request" (the loop's word): the journal says it was the stop, so a restart shows it and may resume it.
    if (outcome.state === 'cancelled' && reason === STOPPED_REASON) {
      await this.deps.journal.append({ kind: RUN_STOPPED, runId: view.runId, sessionId: view.sessionId, actor: 'gateway', payload: { runId: view.runId, reason } }).catch(() => undefined);
    }
    this.finish(entry, { state: outcome.state, reason, finalText: outcome.finalText, counters: outcome.counters });
  }

  /** Adds an ended run's turn to its session's history: its messages, those it took in by steering, its answer. */
  private remember(lane: SessionLane, entry: RunEntry, userText: string, finalText: string | null): void {
    // Frozen: every later run of the session records these in its tape, and canonicalJson
    // remembers the text of frozen values instead of writing them again each run.
    if (!entry.withdrawn) lane.history.push(Object.freeze({ role: 'user', content: userText }));
    for (const s of entry.steered) lane.history.push(Object.freeze({ role: 'user', content: s.texts.join('\n\n') }));
    if (finalText !== null && !entry.withdrawn) lane.history.push(Object.freeze({ role: 'assistant', content: finalText }));
    const keep = this.historyMessages;
    if (lane.history.length > keep) lane.history.splice(0, lane.history.length - keep);
  }

  /** How many of a session's newest messages its next run sees. */
  private get historyMessages(): number {
    return this.deps.historyMessages ?? 40;
  }

  /** Post-run learning: stores the run's marks and journals which records it made. A failure is logged on the journal, never fails the run. */
  private async learnFrom(view: RunView, outcome: RunOutcome): Promise<void> {
    const marks = marksOf(outcome.messages);
    if (marks.length === 0) return;
    try {
      const ids = await learn(this.deps.memory as MemoryStore, marks, view.sessionId);
      await this.deps.journal.append({ kind: MEMORY_LEARNED, runId: view.runId, sessionId: view.sessionId, actor: 'gateway', payload: { runId: view.runId, marks: marks.length, stored: ids } });
    } catch (error) {
      await this.deps.journal
        .append({ kind: MEMORY_LEARNED, runId: view.runId, sessionId: view.sessionId, actor: 'gateway', payload: { runId: view.runId, marks: marks.length, stored: [], error: (error as Error).message } })
        .catch(() => undefined);
    }
  }

  /**
   * The steering port of a going run: hands over (once) the messages queued to steer it,
   * in arrival order, as `{id: their run id, text}`; they leave the queue and end with it.
   */
  private takeSteers(entry: RunEntry): { id: string; text: string }[] {
    const lane = this.lane(entry.view.sessionId);
    const taken = lane.queued.filter((q) => q.steerInto === entry);
    if (taken.length === 0) return [];
    lane.queued = lane.queued.filter((q) => !taken.includes(q));
    for (const t of taken) {
      t.view.state = 'running';
      t.view.steeredInto = entry.view.runId;
      entry.steered.push(t);
    }
    return taken.map((t) => ({ id: t.view.runId, text: t.texts.join('\n\n') }));
  }

  /** Remembers an admission under its idempotency key, forgetting the oldest keys past the bound. */
  private rememberKey(dedupeKey: string, remembered: RememberedAdmission): void {
    this.idempotency.delete(dedupeKey); // re-inserted as the newest
    this.idempotency.set(dedupeKey, remembered);
    const keep = this.deps.keepIdempotencyKeys ?? 100_000;
    for (const oldest of this.idempotency.keys()) {
      if (this.idempotency.size <= keep) break;
      this.idempotency.delete(oldest);
    }
  }

  private finish(entry: RunEntry, end: Pick<RunView, 'state' | 'reason' | 'finalText' | 'counters'>): void {
    for (const s of entry.steered) this.finish(s, { state: end.state, reason: `steered into run ${entry.view.runId}: ${end.reason ?? ''}`, finalText: end.finalText, counters: null });
    Object.assign(entry.view, end, { finishedAt: this.clock.now() });
    entry.events.end(entry.view as unknown as JsonValue);
    entry.settle(entry.view);
    // Bounded memory in a long-lived daemon: forget the oldest ended runs.
    this.endedOrder.push(entry.view.runId);
    const keep = this.deps.keepEndedRuns ?? 10_000;
    while (this.endedOrder.length > keep) this.runs.delete(this.endedOrder.shift() as string);
  }
}
