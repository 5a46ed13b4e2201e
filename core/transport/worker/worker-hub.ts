/**
 * The daemon's endpoint for remote workers, `/api/v1/workers` (protocol: docs/workers.md).
 * Security: a worker presents its own token (`Authorization: Bearer`), checked before
 * the upgrade; the token, not the worker's `hello`, decides its name and so the
 * namespace `worker.<name>.*` of its tools. Its tools enter the daemon's ToolRegistry
 * with the "remote" capability and go through the same policy gate as every other tool.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { PalyraError, type JsonValue } from '../../base/index.ts';
import type { PreparedTool, ToolDefinition, ToolRegistry } from '../../tools/index.ts';
import { bearerToken, refuseUpgrade, requestUrl } from '../http/http-kit.ts';
import { remoteToolDefinition } from './remote-tool.ts';
import { schemaBudgetProblem } from './schema-budget.ts';
import { ConnectRateLimiter } from './worker-connect-rate.ts';
import { WorkerConnection, type Authorization } from './worker-connection.ts';
import { WORKER_CLOSE, WORKER_LIMITS, WORKER_PATH, WORKER_PROTOCOL_VERSION, type WorkerFrame } from './worker-protocol.ts';

/** What the hub needs from the daemon. */
export interface WorkerHubOptions {
  /** The daemon's registry; workers' tools are added and removed here. */
  registry: ToolRegistry;
  /**
   * The worker name a token belongs to, or null (the daemon passes findWorkerByToken).
   * May throw when it cannot tell: the upgrade gets a generic 503, a connected worker is
   * checked again at the next heartbeat.
   */
  authenticateWorker: (token: string | null) => string | null;
  /** Interval of the hub's ping; a worker silent for two is dropped (default 15 s, 0 = off). */
  heartbeatMs?: number;
  /** How long after the upgrade `hello` may take (default 10 s). */
  helloTimeoutMs?: number;
  /** Worker connections at once (default 64); more are refused with 503 before upgrading. */
  maxWorkers?: number;
  /**
   * Connections one worker may open per minute, all at once or spread out (default 30,
   * 0 = no limit); past it the upgrade is refused with 429 and nothing is journaled.
   */
  maxConnectsPerMinute?: number;
  /** Added to a tool's declared timeout for the daemon-side limit (default 2 s). */
  networkGraceMs?: number;
  /** Connections and disconnections, for the journal and the log. */
  onEvent?: (event: WorkerHubEvent) => void;
}

/** What happened to a worker. */
export type WorkerHubEvent =
  | { type: 'connected'; worker: string; tools: string[]; replaced: boolean }
  | { type: 'disconnected'; worker: string; code: number; reason: string; failedCalls: number }
  | { type: 'refused'; worker: string; reason: string };

/** A connected worker, as plain data. */
export interface ConnectedWorker {
  worker: string;
  tools: string[];
}

/** The running hub. */
export interface WorkerHub {
  /** Handles an upgrade request: serves `/api/v1/workers`, answers 404 for any other path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Workers registered now, sorted by name. */
  workers(): ConnectedWorker[];
  /** Refuses new workers and closes every connection with 1001; their calls in flight fail at once. */
  close(): Promise<void>;
}

/** Creates a hub; wire `handleUpgrade` to the server (or use attachWorkerHub). */
export function createWorkerHub(options: WorkerHubOptions): WorkerHub {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const maxWorkers = options.maxWorkers ?? 64;
  const networkGraceMs = options.networkGraceMs ?? 2_000;
  const emit = options.onEvent ?? (() => undefined);
  const connectRate = new ConnectRateLimiter(options.maxConnectsPerMinute ?? 30);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WORKER_LIMITS.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  const connections = new Set<WorkerConnection>();
  /** Invariant: the connection whose tools are registered under each worker name. */
  const registered = new Map<string, WorkerConnection>();
  let closed = false;

  const onHello = (c: WorkerConnection, hello: Extract<WorkerFrame, { type: 'hello' }>): void => {
    const refuse = (code: number, message: string): void => {
      emit({ type: 'refused', worker: c.worker, reason: message });
      c.send({ type: 'refused', code: 'PALYRA_INVALID_ARGUMENT', message });
      c.drop(code, message);
    };
    if (hello.protocol !== WORKER_PROTOCOL_VERSION) return refuse(WORKER_CLOSE.unsupportedVersion, `Protocol version ${hello.protocol} is not supported; this daemon speaks ${WORKER_PROTOCOL_VERSION}`);
    if (hello.worker !== null && hello.worker !== c.worker) return refuse(WORKER_CLOSE.refused, `The token belongs to worker "${c.worker}", not "${hello.worker}"`);
    // Security: sized before anything compiles, so one hello cannot stall the daemon.
    const tooComplex = schemaBudgetProblem(hello.tools);
    if (tooComplex !== null) return refuse(WORKER_CLOSE.refused, tooComplex);
    const definitions = hello.tools.map((spec) => remoteToolDefinition(c, spec, { networkGraceMs }));
    void prepareAll(definitions).then(
      (prepared) => admit(c, prepared, refuse),
      (error: unknown) => c.open && refuse(WORKER_CLOSE.refused, (error as Error).message),
    );
  };

  // Security: each schema compiles in its own turn of the event loop, so a hello within
  // the budget (schema-budget.ts) holds the daemon for one tool's compile at a time, not
  // for all of them. Nothing is registered yet: the names stay with whoever holds them.
  // Security: one hello's schemas compile in an Ajv instance of their own, which goes
  // with the tools (refused now, or unregistered when the connection closes); compiled
  // by the registry's `prepare`, they would stay in memory for the daemon's lifetime, and
  // a worker reconnecting in a loop would grow it without bound.
  const prepareAll = async (definitions: readonly ToolDefinition<JsonValue>[]): Promise<PreparedTool[]> => {
    const prepare = options.registry.scopedPreparer();
    const prepared: PreparedTool[] = [];
    for (const d of definitions) {
      await new Promise((resolve) => setImmediate(resolve));
      prepared.push(prepare(d as ToolDefinition<never>));
    }
    return prepared;
  };

  // The whole set compiled: only now may it replace the worker's previous connection, so a
  // refused hello leaves a healthy registered worker alone. Invariant: this runs in one
  // turn, and every name is free or the previous connection's, so `add` cannot fail halfway.
  const admit = (c: WorkerConnection, prepared: PreparedTool[], refuse: (code: number, message: string) => void): void => {
    if (!c.open || closed) return;
    const previous = registered.get(c.worker);
    const names = prepared.map((p) => p.name);
    const taken = names.find((name, i) => names.indexOf(name) !== i || (options.registry.get(name) !== undefined && !previous?.tools.includes(name)));
    if (taken !== undefined) return refuse(WORKER_CLOSE.refused, `Cannot register tool "${taken}": a tool of that name is registered already`);
    // The previous connection goes first: its tools hold the names.
    previous?.drop(WORKER_CLOSE.replaced, 'a newer connection of this worker took over');
    for (const p of prepared) options.registry.add(p);
    c.tools = names;
    registered.set(c.worker, c);
    c.send({ type: 'registered', worker: c.worker, tools: c.tools, heartbeatMs });
    emit({ type: 'connected', worker: c.worker, tools: c.tools, replaced: previous !== undefined });
  };

  const onClosed = (c: WorkerConnection, info: { code: number; reason: string; failedCalls: number }): void => {
    connections.delete(c);
    if (registered.get(c.worker) !== c) return;
    registered.delete(c.worker);
    for (const name of c.tools) options.registry.unregister(name);
    emit({ type: 'disconnected', worker: c.worker, ...info });
  };

  // An error looking the token up says nothing about this token (the token files may be
  // briefly unreadable): the heartbeat checks again next tick rather than drop the worker
  // for good. Security: a revoked token (a clean lookup without it) still drops it.
  const stillNames = (token: string | null, name: string): Authorization => {
    try {
      return options.authenticateWorker(token) === name ? 'authorized' : 'revoked';
    } catch {
      return 'unknown';
    }
  };

  const heartbeat = heartbeatMs > 0 ? setInterval(() => connections.forEach((c) => c.heartbeat()), heartbeatMs) : null;
  heartbeat?.unref();

  return {
    handleUpgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      let pathname: string;
      try {
        pathname = requestUrl(req).pathname;
      } catch (error) {
        return refuseUpgrade(socket, error as PalyraError);
      }
      if (pathname !== WORKER_PATH) return refuseUpgrade(socket, new PalyraError('PALYRA_NOT_FOUND', `No WebSocket endpoint at ${pathname}`));
      const token = bearerToken(req);
      let worker: string | null;
      try {
        worker = options.authenticateWorker(token);
      } catch {
        // Security: the cause (a file path, a worker name) is the daemon's log's business, not the peer's.
        return refuseUpgrade(socket, new PalyraError('PALYRA_UNAVAILABLE', 'Cannot check the worker token now: try again later'));
      }
      if (worker === null) return refuseUpgrade(socket, new PalyraError('PALYRA_UNAUTHORIZED', 'A valid worker token is required (create one with: palyrad worker token create NAME)'));
      if (closed) return refuseUpgrade(socket, new PalyraError('PALYRA_UNAVAILABLE', 'The daemon is stopping'));
      // Before anything else changes: a refused attempt must not drop the worker's other connection.
      const retryAfterS = connectRate.take(worker);
      if (retryAfterS > 0) return refuseUpgrade(socket, new PalyraError('PALYRA_RATE_LIMITED', `Worker "${worker}" connects too often: try again in ${retryAfterS} s`, { details: { retryAfterS } }));
      // Security: one token holds at most two slots, its registered connection and the
      // newest one not yet registered (before its hello, or compiling its tools); otherwise
      // connections that never say hello could take every slot until their hello timeouts.
      for (const c of [...connections]) if (c.worker === worker && registered.get(worker) !== c) c.drop(WORKER_CLOSE.replaced, 'a newer connection of this worker took over before hello');
      if (connections.size >= maxWorkers) return refuseUpgrade(socket, new PalyraError('PALYRA_UNAVAILABLE', `At most ${maxWorkers} worker connections at once`));
      const name = worker;
      wss.handleUpgrade(req, socket, head, (ws) => {
        connections.add(new WorkerConnection(ws, name, { helloTimeoutMs, events: { onHello, onClosed }, stillAuthorized: () => stillNames(token, name) }));
      });
    },
    workers: () => [...registered.values()].map((c) => ({ worker: c.worker, tools: [...c.tools] })).sort((a, b) => (a.worker < b.worker ? -1 : 1)),
    close: async () => {
      if (closed) return;
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
      for (const c of [...connections]) c.drop(WORKER_CLOSE.goingAway, 'daemon stopping');
      wss.close();
    },
  };
}

/**
 * Serves the hub on a server that has no other WebSocket endpoint: upgrades on other
 * paths are left alone. A server that also serves `/api/v1/ws` passes `hub.handleUpgrade`
 * as that endpoint's `otherUpgrade` instead, so each path has exactly one owner.
 */
export function attachWorkerHub(server: Server, options: WorkerHubOptions): WorkerHub {
  const hub = createWorkerHub(options);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let pathname: string | null = null;
    try {
      pathname = requestUrl(req).pathname;
    } catch {
      // handleUpgrade refuses it
    }
    if (pathname === null || pathname === WORKER_PATH) hub.handleUpgrade(req, socket, head);
  });
  return hub;
}
