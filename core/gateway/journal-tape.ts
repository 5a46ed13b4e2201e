import type { JsonValue } from '../base/index.ts';
import { recordedCanonicalJson, type TapeEvent, type TapePort } from '../agent/index.ts';
import type { JournalStore } from '../journal/index.ts';

/**
 * Steps after which the loop waits until the tape is durable: before a tool runs (its
 * decision), before a human is asked (the request), and the end. The steps between are
 * held and appended together with the next such step (or after FLUSH_AFTER_MS, so a live
 * tape never lags far), so a turn costs one fsync: appended one by one, they started
 * writes of their own and the decision queued behind them (measured: ~2 fsyncs a turn).
 * A crash can lose only held steps, which no action depended on.
 */
const DURABLE_BEFORE_GOING_ON: ReadonlySet<string> = new Set(['tool.decision', 'approval.requested', 'run.finished']);
const FLUSH_AFTER_MS = 20;

/** A tape port that journals each event with the run's id. A failed append fails the next step. */
export function journalTapePort(store: JournalStore, run: { runId: string; sessionId: string | null }): TapePort & { settled(): Promise<void> } {
  let failure: unknown = null;
  let last: Promise<unknown> = Promise.resolve();
  let held: TapeEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const append = (event: TapeEvent): Promise<unknown> => {
    const appended = store.append({
      kind: event.kind,
      payload: event.payload as unknown as JsonValue,
      payloadCanonical: recordedCanonicalJson(event.payload),
      runId: run.runId,
      sessionId: run.sessionId,
      actor: 'agent',
    });
    appended.catch((error: unknown) => {
      failure ??= error;
    });
    last = appended;
    return appended;
  };
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    const events = held;
    held = [];
    for (const e of events) append(e);
  };
  return {
    record(event: TapeEvent): Promise<void> | void {
      if (failure) throw failure;
      if (!DURABLE_BEFORE_GOING_ON.has(event.kind)) {
        held.push(event);
        timer ??= setTimeout(flush, FLUSH_AFTER_MS);
        return undefined;
      }
      flush();
      return append(event).then(() => undefined);
    },
    /** Resolves when every event recorded so far is durable; rejects with the first failure. */
    async settled(): Promise<void> {
      flush();
      await last.catch(() => undefined);
      if (failure) throw failure;
    },
  };
}
