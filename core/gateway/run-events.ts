import type { JsonValue } from '../base/index.ts';

/** One live event of a run, numbered per run from 1 so a client can resume after `seq`. */
export interface RunStreamEvent {
  seq: number;
  type: string;
  data: JsonValue;
}

/** Events kept per run for resuming, at least; a run that streams more keeps the newest. */
const MAX_BUFFERED = 10_000;
/**
 * Dropped in one go once the buffer is this much over: dropping the oldest event at each
 * new one shifted 10,000 entries per event (a provider streaming one character per delta
 * makes hundreds of thousands).
 */
const DROP_SLACK = 1_000;

/**
 * The live stream of one run: every event numbered and buffered, so a client that
 * reconnects with the last seq it saw (SSE `Last-Event-ID`, a WebSocket cursor) gets
 * exactly what it missed. `ended` is set after the final event.
 */
export class RunEventStream {
  private readonly buffer: RunStreamEvent[] = [];
  private readonly listeners = new Set<(event: RunStreamEvent) => void>();
  private next = 1;
  ended = false;

  publish(type: string, data: JsonValue): void {
    const event: RunStreamEvent = { seq: this.next++, type, data };
    this.buffer.push(event);
    if (this.buffer.length > MAX_BUFFERED + DROP_SLACK) this.buffer.splice(0, this.buffer.length - MAX_BUFFERED);
    for (const l of this.listeners) l(event);
  }

  end(data: JsonValue): void {
    if (this.ended) return;
    this.publish('end', data);
    this.ended = true;
    this.listeners.clear();
  }

  /** Seq of the newest event (0 before the first). */
  get lastSeq(): number {
    return this.next - 1;
  }

  /** True when events after `afterSeq` were already dropped from the buffer. */
  missedAfter(afterSeq: number): boolean {
    return afterSeq + 1 < (this.buffer[0]?.seq ?? this.next);
  }

  /**
   * Replays the buffered events after `afterSeq`, then follows new ones until the run ends.
   * Returns `gap: true` when events after `afterSeq` were already dropped from the buffer.
   */
  subscribe(afterSeq: number, listener: (event: RunStreamEvent) => void): { unsubscribe: () => void; gap: boolean } {
    const gap = this.missedAfter(afterSeq);
    for (const e of this.buffer) if (e.seq > afterSeq) listener(e);
    // A cursor ahead of the stream (a client's, from another daemon run) holds for live
    // events too: only what comes after it is sent.
    const live = afterSeq > this.lastSeq ? (e: RunStreamEvent) => void (e.seq > afterSeq && listener(e)) : listener;
    if (!this.ended) this.listeners.add(live);
    return { unsubscribe: () => this.listeners.delete(live), gap };
  }
}
