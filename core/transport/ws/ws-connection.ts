import type { WebSocket } from 'ws';
import { clientErrorBody, PalyraError, type InternalErrorReport } from '../../base/index.ts';
import type { GatewayRuntimeState, RunStreamEvent } from '../../gateway/index.ts';
import { idKey, parseClientMessage, WS_CLOSE, WS_PROTOCOL_VERSION, type ClientId, type ClientMessage, type Cursor, type ServerFrame } from './ws-protocol.ts';

/** Limits of one connection (all required here; `attachWebSocket` fills the defaults). */
export interface WsConnectionLimits {
  maxSubscriptions: number;
  maxMessageBytes: number;
  /** Run events are written only while the socket holds less than this unsent. */
  maxBufferedBytes: number;
  /** A connection whose socket made no progress for this long while events wait is slow. */
  slowTimeoutMs: number;
  /** A connection with more run events waiting than this is slow. */
  maxQueuedEvents: number;
}

interface Subscription {
  id: ClientId;
  run: string;
  /** Seq of the last run event written to the socket (the resume cursor). */
  cursor: number;
  unsubscribe: () => void;
}

/**
 * One client connection: per-connection frame numbering, subscriptions, and flow control.
 *
 * Invariant: every frame written carries the next `seq`, and a subscription's `cursor` is
 * the last run event written for it, so the cursors in `slow` (or the last events a client
 * saw) are exact resume points. Run events wait in `queue` (references into the run's
 * stream, not copies) and are written only while the socket's unsent bytes stay under
 * `maxBufferedBytes`; replies are written at once. A client that stops reading is told
 * (`slow`, with its cursors) and closed with 4008; queued events are then not lost, only
 * not sent — the client resumes from the cursors.
 */
export class WsConnection {
  private seq = 0;
  private readonly subs = new Map<string, Subscription>();
  private queue: { sub: Subscription; event: RunStreamEvent }[] = [];
  private head = 0;
  private closing = false;
  private stallTimer: NodeJS.Timeout | null = null;
  private progressAt = 0;
  /** Cleared by each heartbeat, set again by a pong or any message. */
  alive = true;
  readonly closed: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    private readonly gateway: GatewayRuntimeState,
    private readonly limits: WsConnectionLimits,
    /** Told of errors that are bugs; the client gets only a reference (see clientErrorBody). */
    private readonly reportInternal?: InternalErrorReport,
  ) {
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('close', () => this.release());
    ws.on('pong', () => (this.alive = true));
    // Protocol errors (an oversized or malformed frame) close the socket with the right
    // code by themselves; without a listener they would crash the daemon.
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      this.alive = true;
      if (isBinary) return this.replyError(null, new PalyraError('PALYRA_INVALID_ARGUMENT', 'Binary frames are not accepted: send JSON text frames'));
      const text = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.handle(text.toString('utf8'));
    });
    this.write({ op: 'hello', protocol: WS_PROTOCOL_VERSION, limits: { maxSubscriptions: limits.maxSubscriptions, maxMessageBytes: limits.maxMessageBytes, maxBufferedBytes: limits.maxBufferedBytes } });
  }

  /** Heartbeat: a connection that did not answer the previous ping is dead and dropped. */
  heartbeat(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Closes for a daemon shutdown (1001): the client reconnects later and resumes. */
  shutdown(): void {
    this.release();
    this.closing = true;
    this.ws.close(WS_CLOSE.goingAway, 'daemon stopping');
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.ws.terminate();
  }

  private handle(text: string): void {
    let message: ClientMessage;
    try {
      message = parseClientMessage(text);
    } catch (error) {
      const ref = error instanceof PalyraError ? ((error.details?.ref as ClientId | null | undefined) ?? null) : null;
      return this.replyError(ref, error);
    }
    switch (message.op) {
      case 'subscribe':
        return this.guard(message.id, () => this.subscribe(message.id, message.run, message.after));
      case 'unsubscribe':
        return this.guard(message.id, () => this.unsubscribe(message.id));
      case 'send':
        void this.gateway
          .admit(message.session, { text: message.text, idempotencyKey: message.idempotencyKey, mode: message.mode })
          .then((admission) => this.write({ op: 'ok', ref: message.id, admission: { ...admission } }))
          .catch((error: unknown) => this.replyError(message.id, error));
        return;
      case 'ping':
        return this.write({ op: 'pong', ref: message.id });
    }
    const exhaustive: never = message;
    void exhaustive;
  }

  private guard(ref: ClientId, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.replyError(ref, error);
    }
  }

  private subscribe(id: ClientId, run: string, after: number): void {
    const key = idKey(id);
    if (this.subs.has(key)) throw new PalyraError('PALYRA_CONFLICT', `Subscription "${key}" is already active on this connection`);
    if (this.subs.size >= this.limits.maxSubscriptions) throw new PalyraError('PALYRA_CONFLICT', `A connection holds at most ${this.limits.maxSubscriptions} subscriptions`);
    const stream = this.gateway.events(run);
    if (stream.ended && after >= stream.lastSeq) {
      // Nothing more will come: the subscription ends at once and holds no slot.
      this.write({ op: 'ok', ref: id, run, after, ended: true });
      return;
    }
    const sub: Subscription = { id, run, cursor: after, unsubscribe: () => undefined };
    // The stream replays synchronously inside subscribe(); hold the replay until the
    // `ok` (and `gap`) are written, so they come first.
    const replay: RunStreamEvent[] = [];
    let replaying = true;
    const { unsubscribe, gap } = stream.subscribe(after, (event) => (replaying ? replay.push(event) : this.enqueue(sub, event)));
    sub.unsubscribe = unsubscribe;
    this.subs.set(key, sub);
    this.write({ op: 'ok', ref: id, run, after });
    if (gap) {
      const first = replay[0]?.seq ?? null;
      this.write({ op: 'gap', sub: id, run, after, first, message: `Events of run "${run}" after ${after}${first === null ? '' : ` and before ${first}`} are no longer buffered` });
    }
    replaying = false;
    for (const event of replay) this.enqueue(sub, event);
  }

  private unsubscribe(id: ClientId): void {
    const sub = this.subs.get(idKey(id));
    if (!sub) throw new PalyraError('PALYRA_NOT_FOUND', `No subscription "${idKey(id)}" on this connection`);
    sub.unsubscribe();
    this.subs.delete(idKey(id));
    this.write({ op: 'ok', ref: id, run: sub.run, cursor: sub.cursor });
  }

  private enqueue(sub: Subscription, event: RunStreamEvent): void {
    if (this.closing) return;
    this.queue.push({ sub, event });
    if (this.queue.length - this.head > this.limits.maxQueuedEvents) return this.slow();
    this.pump();
  }

  /** Writes queued run events while the socket keeps up; resumes from write callbacks. */
  private pump(): void {
    while (this.head < this.queue.length && !this.closing) {
      if (this.ws.bufferedAmount >= this.limits.maxBufferedBytes) return this.armStall();
      const { sub, event } = this.queue[this.head++] as { sub: Subscription; event: RunStreamEvent };
      // Skip events of subscriptions ended or replaced since they were queued.
      if (this.subs.get(idKey(sub.id)) !== sub) continue;
      this.write({ op: 'event', sub: sub.id, run: sub.run, event });
      sub.cursor = event.seq;
      if (event.type === 'end') this.subs.delete(idKey(sub.id));
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.disarmStall();
  }

  private armStall(): void {
    if (this.stallTimer) return;
    this.progressAt = Date.now();
    const check = (): void => {
      const idle = Date.now() - this.progressAt;
      if (idle >= this.limits.slowTimeoutMs) return this.slow();
      this.stallTimer = setTimeout(check, this.limits.slowTimeoutMs - idle);
    };
    this.stallTimer = setTimeout(check, this.limits.slowTimeoutMs);
  }

  private disarmStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  /** Tells the client where each subscription stands and closes with 4008. */
  private slow(): void {
    if (this.closing) return;
    const cursors: Record<string, Cursor> = {};
    for (const [key, sub] of this.subs) cursors[key] = { run: sub.run, after: sub.cursor };
    this.write({ op: 'slow', cursors, message: 'The connection fell behind; reconnect and subscribe again from these cursors' });
    this.release();
    this.closing = true;
    this.ws.close(WS_CLOSE.slow, 'slow consumer');
  }

  /** Stops every subscription and forgets queued events (the cursors say where they start). */
  private release(): void {
    for (const sub of this.subs.values()) sub.unsubscribe();
    this.subs.clear();
    this.queue = [];
    this.head = 0;
    this.disarmStall();
  }

  private replyError(ref: ClientId | null, error: unknown): void {
    this.write({ op: 'error', ref, error: clientErrorBody(error, this.reportInternal).error });
  }

  private write(frame: ServerFrame): void {
    if (this.closing || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(JSON.stringify({ seq: ++this.seq, ...frame }), (error) => {
      if (error) return;
      this.progressAt = Date.now();
      const drained = this.ws.bufferedAmount < this.limits.maxBufferedBytes;
      if (drained && this.ws.isPaused) this.ws.resume();
      if (this.head < this.queue.length) this.pump();
      else if (drained) this.disarmStall();
    });
    if (frame.op === 'slow' || this.ws.bufferedAmount < this.limits.maxBufferedBytes) return;
    this.armStall();
    // Replies skip the queue, so a client that sends requests but never reads grew this
    // buffer by one reply per request (~1 GB in the 10 s before the stall timer cut it
    // off). Past the event limit plus one message's worth (room for the replies of a burst
    // of requests on top of paced events), its requests are not read until the buffer
    // drains: they wait in the kernel's buffers, and the stall timer still applies.
    const replyRoom = this.limits.maxBufferedBytes + this.limits.maxMessageBytes;
    if (frame.op !== 'event' && !this.ws.isPaused && this.ws.bufferedAmount >= replyRoom) this.ws.pause();
  }
}
