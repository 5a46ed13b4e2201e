/**
 * The daemon's side of one worker's WebSocket: reads and checks its frames, sends
 * invocations and matches their results, keeps the heartbeat, and when the socket ends
 * for any reason fails every call still in flight at once with PALYRA_TOOL_WORKER_GONE.
 * Registration (what `hello` leads to) is the hub's business; this class hands it up.
 */
import type WebSocket from 'ws';
import { PalyraError, type ErrorCode, type JsonValue } from '../../base/index.ts';
import { isFrameJson, parseWorkerFrame } from './worker-frame-parse.ts';
import { closeReason, encodeFrame, WORKER_CLOSE, WORKER_LIMITS, type HubFrame, type WorkerFrame } from './worker-protocol.ts';

type HelloFrame = Extract<WorkerFrame, { type: 'hello' }>;

/** What a connection reports to its hub. */
export interface WorkerConnectionEvents {
  /** The first frame, `hello`; the hub registers or refuses. */
  onHello(connection: WorkerConnection, hello: HelloFrame): void;
  /** The connection ended; `failedCalls` in flight were failed. Called once. */
  onClosed(connection: WorkerConnection, info: { code: number; reason: string; failedCalls: number }): void;
}

/** A heartbeat's token check: still this worker's, revoked, or not known this time. */
export type Authorization = 'authorized' | 'revoked' | 'unknown';

interface Pending {
  settle(outcome: { ok: true; output: JsonValue } | { ok: false; error: PalyraError }): void;
}

/** Codes a worker may report for a failed call; any other becomes PALYRA_TOOL_FAILED. */
const WORKER_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'PALYRA_TOOL_NOT_FOUND',
  'PALYRA_TOOL_INPUT_INVALID',
  'PALYRA_TOOL_FORBIDDEN',
  'PALYRA_TOOL_TIMEOUT',
  'PALYRA_TOOL_CANCELLED',
  'PALYRA_TOOL_FAILED',
  'PALYRA_TOOL_LIMIT_EXCEEDED',
]);

/** One authenticated worker socket, from upgrade to close. */
export class WorkerConnection {
  /** The worker its token names (authoritative, whatever `hello` says). */
  readonly worker: string;
  /** Namespaced tool names the hub registered for this connection. */
  tools: string[] = [];
  readonly #ws: WebSocket;
  readonly #events: WorkerConnectionEvents;
  readonly #pending = new Map<string, Pending>();
  #helloSeen = false;
  #closed = false;
  #missedBeats = 0;
  #nonce = 0;
  #nextCall = 0;
  readonly #helloTimer: ReturnType<typeof setTimeout>;

  readonly #stillAuthorized: () => Authorization;

  constructor(ws: WebSocket, worker: string, options: { helloTimeoutMs: number; events: WorkerConnectionEvents; stillAuthorized: () => Authorization }) {
    this.#ws = ws;
    this.worker = worker;
    this.#events = options.events;
    this.#stillAuthorized = options.stillAuthorized;
    this.#helloTimer = setTimeout(() => this.drop(WORKER_CLOSE.helloTimeout, 'no hello frame in time'), options.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('close', (code, reason) => this.#finish(code, reason.toString() || 'connection closed'));
    ws.on('error', () => undefined); // 'close' follows and does the work
  }

  /** Whether its `hello` has arrived (until then it holds a hub slot and offers nothing). */
  get greeted(): boolean {
    return this.#helloSeen;
  }

  /** Connected and not yet closing. */
  get open(): boolean {
    return !this.#closed;
  }

  /**
   * Runs a tool on the worker. Resolves with its output; rejects with a PalyraError:
   * the worker's own PALYRA_TOOL_* code, PALYRA_TOOL_CANCELLED when `signal` aborts (the
   * worker is told to cancel), or PALYRA_TOOL_WORKER_GONE when the socket ends first.
   */
  call(tool: string, input: JsonValue, options: { timeoutMs: number; signal: AbortSignal }): Promise<JsonValue> {
    if (this.#closed) return Promise.reject(this.#gone('it is not connected'));
    const callId = `c${++this.#nextCall}`;
    const { signal } = options;
    let bytes: Uint8Array;
    try {
      // Encoded and checked before the call is pending: a frame the worker would refuse
      // closes the whole connection there (4001), failing every other call on it.
      bytes = this.#invokeFrame({ type: 'invoke', callId, tool, input, timeoutMs: options.timeoutMs });
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<JsonValue>((resolve, reject) => {
      const onAbort = (): void => {
        this.#pending.delete(callId);
        this.#send({ type: 'cancel', callId });
        reject(signal.reason instanceof PalyraError ? signal.reason : new PalyraError('PALYRA_TOOL_CANCELLED', `Call of "${tool}" on worker "${this.worker}" was cancelled`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(callId, {
        settle: (outcome) => {
          signal.removeEventListener('abort', onAbort);
          this.#pending.delete(callId);
          if (outcome.ok) resolve(outcome.output);
          else reject(outcome.error);
        },
      });
      this.#sendBytes(bytes);
    });
  }

  /** Sends a frame (dropped silently once closed: the close already failed the calls). */
  send(frame: HubFrame): void {
    this.#send(frame);
  }

  /**
   * Heartbeat tick: a worker that left two pings unanswered is dropped, and so is one
   * whose token was revoked since it connected (checked here, so revoking takes effect
   * within one interval without the hub watching the token files).
   */
  heartbeat(): void {
    if (this.#closed) return;
    // 'unknown' (the token files could not be read) waits for the next tick: never a permanent 4003 on a guess.
    if (this.#stillAuthorized() === 'revoked') return this.drop(WORKER_CLOSE.refused, 'the worker token was revoked');
    if (this.#missedBeats >= 2) return this.drop(WORKER_CLOSE.heartbeatTimeout, 'missed two heartbeats');
    this.#missedBeats++;
    this.#send({ type: 'ping', nonce: ++this.#nonce });
  }

  /**
   * Ends the connection now: in-flight calls fail and the hub hears of it at once, without
   * waiting for the close handshake of a worker that may be gone; a worker that never
   * answers it is cut off after a second.
   */
  drop(code: number, reason: string): void {
    if (this.#closed) return;
    this.#ws.close(code, closeReason(reason));
    setTimeout(() => this.#ws.terminate(), 1_000).unref();
    this.#finish(code, reason);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    let frame: WorkerFrame;
    try {
      if (!isBinary) throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'Invalid worker frame: frames must be binary msgpack');
      frame = parseWorkerFrame(data);
    } catch (error) {
      return this.drop(WORKER_CLOSE.badFrame, (error as Error).message);
    }
    this.#missedBeats = 0; // any frame shows the worker is alive
    if (!this.#helloSeen) {
      if (frame.type !== 'hello') return this.drop(WORKER_CLOSE.badFrame, 'Invalid worker frame: the first frame must be hello');
      this.#helloSeen = true;
      clearTimeout(this.#helloTimer);
      return this.#events.onHello(this, frame);
    }
    switch (frame.type) {
      case 'hello':
        return this.drop(WORKER_CLOSE.badFrame, 'Invalid worker frame: hello was sent twice');
      case 'pong':
        return;
      case 'result':
        // Invariant: an unknown callId is a result that lost a race with cancel or timeout, not an error.
        return this.#pending.get(frame.callId)?.settle(frame.ok ? { ok: true, output: frame.output } : { ok: false, error: this.#callError(frame.error) });
      default: {
        const unreachable: never = frame;
        throw new Error(`Unhandled frame ${JSON.stringify(unreachable)}`);
      }
    }
  }

  #callError(error: { code: string; message: string }): PalyraError {
    const code = (WORKER_ERROR_CODES.has(error.code) ? error.code : 'PALYRA_TOOL_FAILED') as ErrorCode;
    return new PalyraError(code, `Worker "${this.worker}": ${error.message}`);
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#helloTimer);
    const pending = [...this.#pending.values()];
    for (const p of pending) p.settle({ ok: false, error: this.#gone(`it disconnected: ${reason}`) });
    this.#events.onClosed(this, { code, reason, failedCalls: pending.length });
  }

  #gone(why: string): PalyraError {
    return new PalyraError('PALYRA_TOOL_WORKER_GONE', `Worker "${this.worker}" cannot finish the call: ${why}`);
  }

  /**
   * An invoke frame the worker's parser will accept.
   * @throws PalyraError PALYRA_TOOL_INPUT_INVALID for input the protocol cannot carry.
   */
  #invokeFrame(frame: Extract<HubFrame, { type: 'invoke' }>): Uint8Array {
    const refuse = (why: string) => new PalyraError('PALYRA_TOOL_INPUT_INVALID', `Input for "${frame.tool}" on worker "${this.worker}" cannot be sent: ${why}`);
    if (!isFrameJson(frame.input)) throw refuse(`it must be plain JSON nested at most ${WORKER_LIMITS.maxJsonDepth} deep`);
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame);
    } catch (error) {
      throw refuse((error as Error).message);
    }
    if (bytes.byteLength > WORKER_LIMITS.maxFrameBytes) throw refuse(`the frame is ${bytes.byteLength} bytes; at most ${WORKER_LIMITS.maxFrameBytes} are allowed`);
    return bytes;
  }

  #send(frame: HubFrame): void {
    this.#sendBytes(encodeFrame(frame));
  }

  #sendBytes(bytes: Uint8Array): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    // Security: a worker that answers pings but never reads would have every call's frame
    // kept in the daemon's memory; past the limit it is dropped and its calls fail.
    if (this.#ws.bufferedAmount + bytes.byteLength > WORKER_LIMITS.maxUnsentBytes) {
      return this.drop(WORKER_CLOSE.notReading, `it left more than ${WORKER_LIMITS.maxUnsentBytes} bytes unread`);
    }
    this.#ws.send(bytes, { binary: true });
  }
}
