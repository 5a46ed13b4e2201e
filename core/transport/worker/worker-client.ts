/**
 * The worker's side: connects to a daemon's hub with its token, registers the tools of
 * a local ToolRegistry, runs the invocations it receives through that registry (so the
 * local limits, validation and workspace confinement apply too), answers pings, and
 * reconnects with backoff whenever the connection ends, until stopped or refused for good.
 */
import WebSocket from 'ws';
import { PalyraError } from '../../base/index.ts';
import type { ToolContext, ToolRegistry } from '../../tools/index.ts';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './worker-backoff.ts';
import { parseHubFrame } from './worker-frame-parse.ts';
import { helloFor } from './worker-hello.ts';
import { closeReason, encodeFrame, PERMANENT_CLOSE_CODES, WORKER_CLOSE, WORKER_LIMITS, type HubFrame, type WorkerFrame } from './worker-protocol.ts';

/** Timers, injectable so tests control time. */
export interface WorkerTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What a worker client needs. */
export interface WorkerClientOptions {
  /** The hub's WebSocket URL (see workerUrl). */
  url: string;
  /** The worker token. Security: sent only in the Authorization header, never logged. */
  token: string;
  /** Expected worker name; the hub refuses the connection when the token names another. */
  name?: string | null;
  registry: ToolRegistry;
  context: Pick<ToolContext, 'workspace' | 'stateDir'>;
  backoff?: Partial<BackoffOptions>;
  /** Random numbers in [0, 1) for jitter (default Math.random). */
  random?: () => number;
  timers?: WorkerTimers;
  /**
   * How long a registered connection must stay up before the backoff starts afresh
   * (default 30 s): a connection that is cut at once again and again keeps backing off.
   */
  stableAfterMs?: number;
  /**
   * Consecutive replacements (close 4005: another connection with this token took over)
   * after which the worker gives up (default 5): two processes sharing a token would
   * otherwise take the name from each other forever.
   */
  maxReplacements?: number;
  /**
   * How long after the WebSocket opens `registered` (or `refused`) may take before the
   * connection is cut and retried (default 15 s: the hub's 10 s hello timeout plus a
   * margin). Without it a hub that accepted the upgrade and went silent held the worker
   * forever: the heartbeat watch starts only with `registered`.
   */
  registrationTimeoutMs?: number;
  /** Progress lines: connected, registered, disconnected, retrying. */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

const globalTimers: WorkerTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A worker process's connection to a daemon, kept up until `stop()`. */
export class WorkerClient {
  readonly #o: WorkerClientOptions;
  readonly #timers: WorkerTimers;
  readonly #backoff: BackoffOptions;
  readonly #inflight = new Map<string, AbortController>();
  #ws: WebSocket | null = null;
  #attempt = 0;
  #retryTimer: unknown = null;
  #silenceTimer: unknown = null;
  #stableTimer: unknown = null;
  #registrationTimer: unknown = null;
  /** Closes with 4005 since the last connection that stayed up `stableAfterMs`. */
  #replacedInARow = 0;
  #stopping = false;
  /** The hub's heartbeat interval from `registered`; 0 until then. */
  #heartbeatMs = 0;
  #done: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(options: WorkerClientOptions) {
    this.#o = options;
    this.#timers = options.timers ?? globalTimers;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  /**
   * Connects and keeps connecting. Resolves once `stop()` has closed the connection;
   * rejects with a PalyraError when reconnecting cannot help: the token is refused (401),
   * there is no hub at the URL (404), or the hub refuses the `hello`.
   */
  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#done = { resolve, reject };
      this.#connect();
    });
  }

  /** Closes the connection (1000), aborts local calls in flight, stops reconnecting. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#abortAll();
    const ws = this.#ws;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return this.#done?.resolve();
    ws.close(WORKER_CLOSE.normal, 'worker stopping');
    // A hub that never answers the close handshake does not hold the worker's exit.
    setTimeout(() => ws.terminate(), 2_000).unref();
  }

  #connect(): void {
    const log = this.#o.log ?? (() => undefined);
    const ws = new WebSocket(this.#o.url, {
      headers: { authorization: `Bearer ${this.#o.token}` },
      maxPayload: WORKER_LIMITS.maxFrameBytes,
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.#ws = ws;
    let fatal: PalyraError | null = null;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403) fatal = new PalyraError('PALYRA_UNAUTHORIZED', `The daemon refused the worker token (HTTP ${status}): check it, or create one with "palyrad worker token create NAME"`);
      else if (status === 404) fatal = new PalyraError('PALYRA_NOT_FOUND', `No worker endpoint at ${this.#o.url} (HTTP 404)`);
      else log(`the daemon answered HTTP ${status} instead of upgrading`, { status });
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      log(`connected to ${this.#o.url}`);
      const limitMs = this.#o.registrationTimeoutMs ?? 15_000;
      this.#registrationTimer = this.#timers.setTimeout(() => {
        log(`the daemon did not answer hello within ${limitMs} ms`, { timeoutMs: limitMs });
        ws.terminate();
      }, limitMs);
      this.#send(ws, helloFor(this.#o.registry, this.#o.name ?? null));
    });
    ws.on('message', (data, isBinary) => {
      let frame: HubFrame;
      try {
        if (!isBinary) throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'Invalid worker frame: frames must be binary msgpack');
        frame = parseHubFrame(data as Buffer);
      } catch (error) {
        return ws.close(WORKER_CLOSE.badFrame, closeReason((error as Error).message));
      }
      if (frame.type === 'refused' || frame.type === 'registered') this.#timers.clearTimeout(this.#registrationTimer);
      if (frame.type === 'refused') fatal = new PalyraError('PALYRA_INVALID_ARGUMENT', `The daemon refused this worker: ${frame.message}`);
      else this.#onFrame(ws, frame);
    });
    ws.on('error', (error) => log(`connection error: ${error.message}`));
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString(), fatal));
  }

  #onFrame(ws: WebSocket, frame: Exclude<HubFrame, { type: 'refused' }>): void {
    this.#watchSilence(ws);
    switch (frame.type) {
      case 'registered':
        // Only a connection that stays up starts the backoff afresh: one replaced or cut
        // right after registering must not reconnect at the shortest delay forever.
        this.#timers.clearTimeout(this.#stableTimer);
        this.#stableTimer = this.#timers.setTimeout(() => {
          this.#attempt = 0;
          this.#replacedInARow = 0;
        }, this.#o.stableAfterMs ?? 30_000);
        this.#heartbeatMs = frame.heartbeatMs;
        this.#watchSilence(ws);
        this.#o.log?.(`registered as worker "${frame.worker}" with ${frame.tools.length} tool(s): ${frame.tools.join(', ')}`, { worker: frame.worker, tools: frame.tools });
        return;
      case 'ping':
        return this.#send(ws, { type: 'pong', nonce: frame.nonce });
      case 'cancel':
        return this.#inflight.get(frame.callId)?.abort();
      case 'invoke':
        return void this.#invoke(ws, frame);
      default: {
        const unreachable: never = frame;
        throw new Error(`Unhandled frame ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** A hub silent for 2.5 heartbeats is taken for dead: the socket is cut and the worker reconnects. */
  #watchSilence(ws: WebSocket): void {
    this.#timers.clearTimeout(this.#silenceTimer);
    if (this.#heartbeatMs > 0) this.#silenceTimer = this.#timers.setTimeout(() => ws.terminate(), this.#heartbeatMs * 2.5);
  }

  async #invoke(ws: WebSocket, frame: Extract<HubFrame, { type: 'invoke' }>): Promise<void> {
    const controller = new AbortController();
    this.#inflight.set(frame.callId, controller);
    const context: ToolContext = { ...this.#o.context, signal: controller.signal, sessionId: null };
    const result = await this.#o.registry.invoke(frame.tool, frame.input, context);
    this.#inflight.delete(frame.callId);
    const reply: WorkerFrame = result.ok
      ? { type: 'result', callId: frame.callId, ok: true, output: result.output }
      : { type: 'result', callId: frame.callId, ok: false, error: { code: result.error.code, message: result.error.message.slice(0, WORKER_LIMITS.maxErrorMessageLength) } };
    let bytes = encodeFrame(reply);
    if (bytes.byteLength > WORKER_LIMITS.maxFrameBytes) {
      const error = { code: 'PALYRA_TOOL_LIMIT_EXCEEDED', message: `Result of "${frame.tool}" is ${bytes.byteLength} bytes; a frame holds at most ${WORKER_LIMITS.maxFrameBytes}` };
      bytes = encodeFrame({ type: 'result', callId: frame.callId, ok: false, error });
    }
    // A result for a connection that has ended is dropped: the daemon already failed that call.
    if (ws.readyState === WebSocket.OPEN) ws.send(bytes, { binary: true });
  }

  #onClose(code: number, reason: string, fatal: PalyraError | null): void {
    this.#timers.clearTimeout(this.#silenceTimer);
    this.#timers.clearTimeout(this.#stableTimer);
    this.#timers.clearTimeout(this.#registrationTimer);
    this.#heartbeatMs = 0;
    this.#abortAll();
    this.#ws = null;
    if (this.#stopping) return this.#done?.resolve();
    const permanent = fatal ?? (PERMANENT_CLOSE_CODES.has(code) ? new PalyraError('PALYRA_INVALID_ARGUMENT', `The daemon refused this worker: ${reason || `close code ${code}`}`) : this.#replacedTooOften(code));
    if (permanent) return this.#done?.reject(permanent);
    const delay = backoffDelay(this.#attempt++, { ...this.#backoff, random: this.#o.random ?? Math.random });
    this.#o.log?.(`disconnected (${code}${reason ? `: ${reason}` : ''}); reconnecting in ${delay} ms`, { code, reason, retryInMs: delay });
    this.#retryTimer = this.#timers.setTimeout(() => this.#connect(), delay);
  }

  /** The error to give up with when another process keeps taking this token's connection over. */
  #replacedTooOften(code: number): PalyraError | null {
    if (code !== WORKER_CLOSE.replaced) return null;
    const max = this.#o.maxReplacements ?? 5;
    if (++this.#replacedInARow < max) return null;
    return new PalyraError('PALYRA_CONFLICT', `Another worker is using this token: a newer connection with it took over ${max} times in a row (close 4005). Stop the other worker, or give each worker its own token`);
  }

  #abortAll(): void {
    for (const controller of this.#inflight.values()) controller.abort();
    this.#inflight.clear();
  }

  #send(ws: WebSocket, frame: WorkerFrame): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame(frame), { binary: true });
  }
}
