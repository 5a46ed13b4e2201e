/**
 * What the gateway learns from the journal when it starts: the runs it holds, which of
 * them a stop cut off or never started, and each session's conversation so far.
 */
import type { StoredRecord } from '../journal/index.ts';
import type { ChatMessage } from '../providers/index.ts';

export const MESSAGE_RECEIVED = 'message.received';
/** Written on restart for a run that was going when the daemon stopped. */
export const RUN_INTERRUPTED = 'run.interrupted';
/** Written after a completed run's marks were stored (post-run learning). */
export const MEMORY_LEARNED = 'memory.learned';
/** Written when an interrupted run is resumed as a new run (before that run is queued). */
export const RUN_RESUMED = 'run.resumed';
/** Why a run the daemon's stop cut off ended (`run.interrupted`). */
export const INTERRUPTED_REASON = 'interrupted: the daemon stopped while the run was going';
/**
 * Written after the tape of a run a clean stop of the daemon cancelled (its `run.finished`
 * says only "cancelled by request", the loop's word): says who cancelled it, and makes it
 * resumable like an interrupted run.
 */
export const RUN_STOPPED = 'run.stopped';
/** Why a run a clean stop of the daemon cancelled ended. */
export const STOPPED_REASON = 'cancelled: the daemon stopped';
/** Written when a run is cancelled by request before it started: its messages are never run. */
export const RUN_CANCELLED = 'run.cancelled';

/** A run known from the journal: its session and the messages admitted for it. */
export interface JournalRun {
  runId: string;
  sessionId: string;
  messageIds: string[];
  texts: string[];
  started: boolean;
  finished: boolean;
  finalText: string | null;
  /** Set on a run that resumes an interrupted one: that run's id. */
  resumedFrom: string | null;
  /** Ended by a `run.interrupted` in an earlier start. */
  interrupted: boolean;
  /** Cancelled by a clean stop of the daemon (`run.stopped`): resumable like an interrupted run. */
  stopped: boolean;
  /** Cancelled by request before it started (`run.cancelled`): not run, not in the conversation. */
  cancelled: boolean;
  /** How it ended, as its `run.finished` (or `run.cancelled`) says; null while it has not. */
  end: { state: string; reason: string | null; counters: unknown; at: number } | null;
  /** When its first message was admitted. */
  createdAt: number;
  /** The going run that took this message in (mode `steer`). */
  steeredInto: string | null;
  /** Runs this one took in by steering, in order. */
  steeredIn: string[];
}

/** What a restart must do, worked out while replaying the journal. */
export interface RecoveryPlan {
  interrupted: JournalRun[];
  /**
   * Runs a stop of the daemon cut off in an earlier start (a crash: `run.interrupted`; a clean
   * stop: `run.stopped`) that nothing resumed yet: still resumable.
   */
  interruptedBefore: JournalRun[];
  unstarted: JournalRun[];
  /** Each session's conversation so far: user messages and final answers, oldest first. */
  histories: Map<string, ChatMessage[]>;
  /** Every run the journal holds, by id. */
  byId: ReadonlyMap<string, JournalRun>;
}

/** Collects, while the journal is replayed on start, the runs and conversations it holds. */
export class JournalReplay {
  private readonly runs = new Map<string, JournalRun>();

  add(record: StoredRecord): void {
    if (record.runId === null || record.sessionId === null) return;
    if (record.kind === MESSAGE_RECEIVED) {
      const p = JSON.parse(record.payloadJson) as { messageId: string; text: string };
      if (typeof p?.messageId !== 'string' || typeof p.text !== 'string') throw new Error('a message.received event holds no message id and text');
      const run = this.runs.get(record.runId) ?? { runId: record.runId, sessionId: record.sessionId, messageIds: [], texts: [], started: false, finished: false, finalText: null, resumedFrom: null, interrupted: false, stopped: false, cancelled: false, end: null, createdAt: record.ts, steeredInto: null, steeredIn: [] };
      run.messageIds.push(p.messageId);
      run.texts.push(p.text);
      this.runs.set(record.runId, run);
      return;
    }
    if (record.kind === RUN_RESUMED) {
      const { fromRunId } = JSON.parse(record.payloadJson) as { fromRunId?: unknown };
      if (typeof fromRunId !== 'string') throw new Error('a run.resumed event names no run it resumes');
      const from = this.runs.get(fromRunId);
      const texts = from?.texts ?? [];
      this.runs.set(record.runId, { runId: record.runId, sessionId: record.sessionId, messageIds: [], texts, started: false, finished: false, finalText: null, resumedFrom: from?.runId ?? null, interrupted: false, stopped: false, cancelled: false, end: null, createdAt: record.ts, steeredInto: null, steeredIn: [] });
      return;
    }
    const run = this.runs.get(record.runId);
    if (!run) return;
    if (record.kind === 'run.steered') {
      // Messages a going run took in: done with that run, never run on their own.
      const { steers } = JSON.parse(record.payloadJson) as { steers?: { id?: unknown }[] };
      if (!Array.isArray(steers) || !steers.every((st) => typeof st?.id === 'string')) throw new Error('a run.steered event lists no steered messages');
      for (const { id } of steers as { id: string }[]) {
        const steered = this.runs.get(id);
        if (steered) {
          steered.started = steered.finished = true;
          steered.steeredInto = run.runId;
          run.steeredIn.push(id);
        }
      }
      return;
    }
    if (record.kind === 'run.started') run.started = true;
    else if (record.kind === 'run.finished') {
      const p = JSON.parse(record.payloadJson) as { finalText: string | null; state: string; reason: string | null; counters: unknown };
      if (typeof p?.state !== 'string' || !(p.finalText === null || p.finalText === undefined || typeof p.finalText === 'string')) {
        throw new Error('a run.finished event holds no final state');
      }
      run.finished = true;
      run.finalText = p.finalText ?? null;
      run.end = { state: p.state, reason: p.reason, counters: p.counters ?? null, at: record.ts };
    } else if (record.kind === RUN_INTERRUPTED) {
      run.finished = run.interrupted = true;
      run.end = { state: 'failed', reason: INTERRUPTED_REASON, counters: null, at: record.ts };
    }
    else if (record.kind === RUN_STOPPED && run.end !== null) {
      run.stopped = true;
      run.end = { ...run.end, reason: STOPPED_REASON };
    }
    else if (record.kind === RUN_CANCELLED && !run.started) {
      run.started = run.finished = run.cancelled = true;
      run.end = { state: 'cancelled', reason: (JSON.parse(record.payloadJson) as { reason?: string }).reason ?? 'cancelled', counters: null, at: record.ts };
    }
  }

  /**
   * Runs that ended before this start (completed, failed, cancelled, or taken in by a
   * steer), oldest first: a retried idempotency key may ask for any of them.
   */
  ended(): JournalRun[] {
    const out: JournalRun[] = [];
    for (const run of this.runs.values()) {
      if (run.end !== null) out.push(run);
      else if (run.steeredInto !== null) {
        const into = this.runs.get(run.steeredInto);
        if (into?.end) out.push({ ...run, end: { ...into.end, reason: `steered into run ${into.runId}: ${into.end.reason ?? ''}`, counters: null }, finalText: into.finalText });
      }
    }
    return out;
  }

  /** Runs that resume another. */
  resumed(): JournalRun[] {
    return [...this.runs.values()].filter((r) => r.resumedFrom !== null);
  }

  finish(cap: number): RecoveryPlan {
    const plan: RecoveryPlan = { interrupted: [], interruptedBefore: [], unstarted: [], histories: new Map(), byId: this.runs };
    const resumed = new Set(this.resumed().map((r) => r.resumedFrom));
    for (const run of this.runs.values()) {
      if (run.cancelled) continue;
      if (!run.started) plan.unstarted.push(run);
      else if (!run.finished) plan.interrupted.push(run);
      else if (run.interrupted || run.stopped) {
        // Invariant: a run a stop cut off is not in the conversation; its resume (if any)
        // tells its turn, else it is kept resumable. So the user's turn is told once.
        if (!resumed.has(run.runId)) plan.interruptedBefore.push(run);
      } else if (run.steeredInto === null) {
        // As the live run left it: its messages, those it took in by steering, its answer.
        const history = plan.histories.get(run.sessionId) ?? [];
        history.push({ role: 'user', content: composeUserText(run.texts, cap) });
        for (const id of run.steeredIn) {
          const steered = this.runs.get(id);
          if (steered) history.push({ role: 'user', content: steered.texts.join('\n\n') });
        }
        if (run.finalText !== null) history.push({ role: 'assistant', content: run.finalText });
        plan.histories.set(run.sessionId, history);
      }
    }
    return plan;
  }
}

/**
 * The user turn of a run made of several messages: each verbatim up to `cap`; past it,
 * the rest are summarized one line each (first 80 characters), so a flood of messages
 * cannot blow up the model's context.
 */
export function composeUserText(texts: readonly string[], cap: number): string {
  if (texts.length <= cap) return texts.join('\n\n');
  const kept = texts.slice(0, cap - 1);
  const rest = texts.slice(cap - 1);
  const summary = rest.map((t) => `- ${t.replace(/\s+/g, ' ').slice(0, 80)}${t.length > 80 ? '…' : ''}`).join('\n');
  return `${kept.join('\n\n')}\n\n[${rest.length} more messages arrived meanwhile, summarized:]\n${summary}`;
}
