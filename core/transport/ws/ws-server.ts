import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { PalyraError, type InternalErrorReport } from '../../base/index.ts';
import type { GatewayRuntimeState } from '../../gateway/index.ts';
import { bearerToken, refuseUpgrade, requestUrl } from '../http/http-kit.ts';
import { WsConnection, type WsConnectionLimits } from './ws-connection.ts';
import { WS_PATH, WS_SUBPROTOCOL, WS_TOKEN_SUBPROTOCOL_PREFIX } from './ws-protocol.ts';

/** What the WebSocket endpoint serves from, and its limits. */
export interface WebSocketOptions extends Partial<WsConnectionLimits> {
  gateway: GatewayRuntimeState;
  /** True when the presented token may use the API (the same check as the HTTP API's). */
  authenticate: (token: string | null) => boolean;
  /** Connections at once (default 256); more are refused with 503 before upgrading. */
  maxConnections?: number;
  /** Interval of the server's ping; a connection silent for two intervals is dropped (default 30 s, 0 = off). */
  heartbeatMs?: number;
  /** Upgrades on other paths (e.g. a future worker endpoint); without it they get 404. */
  otherUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Told of errors that are bugs (not PalyraErrors); the client gets only a reference (see clientErrorBody). */
  onInternalError?: InternalErrorReport;
}

/** The running endpoint. */
export interface WebSocketEndpoint {
  /** Connections open now. */
  connections(): number;
  /** Stops accepting, closes every connection with 1001 and waits for them (at most ~2 s). */
  close(): Promise<void>;
}

const DEFAULTS: WsConnectionLimits = {
  maxSubscriptions: 64,
  // Security: the gateway caps message text at 256 KiB; JSON escaping can double it.
  maxMessageBytes: 1024 * 1024,
  maxBufferedBytes: 1024 * 1024,
  slowTimeoutMs: 10_000,
  maxQueuedEvents: 100_000,
};

/**
 * Serves the WebSocket API on `/api/v1/ws` of an HTTP(S) server (protocol: docs/websocket.md).
 * Security: the admin token is checked before upgrading — from `Authorization: Bearer`, or
 * for browsers from the subprotocol `palyra.bearer.<token>` offered next to `palyra.v1`
 * (the server selects `palyra.v1`, never echoing the token). Tokens in the query string
 * are not accepted: URLs end up in logs and histories. A refused upgrade is a plain HTTP
 * 401 with the JSON error body of the HTTP API.
 */
export function attachWebSocket(server: Server, options: WebSocketOptions): WebSocketEndpoint {
  const limits: WsConnectionLimits = {
    maxSubscriptions: options.maxSubscriptions ?? DEFAULTS.maxSubscriptions,
    maxMessageBytes: options.maxMessageBytes ?? DEFAULTS.maxMessageBytes,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
    slowTimeoutMs: options.slowTimeoutMs ?? DEFAULTS.slowTimeoutMs,
    maxQueuedEvents: options.maxQueuedEvents ?? DEFAULTS.maxQueuedEvents,
  };
  const maxConnections = options.maxConnections ?? 256;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });
  const connections = new Set<WsConnection>();
  let closed = false;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    let pathname: string;
    try {
      pathname = requestUrl(req).pathname;
    } catch (error) {
      return refuseUpgrade(socket, error as PalyraError);
    }
    if (pathname !== WS_PATH) {
      if (options.otherUpgrade) return options.otherUpgrade(req, socket, head);
      return refuseUpgrade(socket, new PalyraError('PALYRA_NOT_FOUND', `No WebSocket endpoint at ${pathname}`));
    }
    if (!options.authenticate(bearerToken(req) ?? protocolToken(req))) {
      return refuseUpgrade(socket, new PalyraError('PALYRA_UNAUTHORIZED', 'A valid bearer token is required (the admin token is in the state directory: auth/admin.token)'));
    }
    if (closed) return refuseUpgrade(socket, new PalyraError('PALYRA_UNAVAILABLE', 'The daemon is stopping'));
    if (connections.size >= maxConnections) return refuseUpgrade(socket, new PalyraError('PALYRA_UNAVAILABLE', `At most ${maxConnections} WebSocket connections at once`));
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new WsConnection(ws, options.gateway, limits, options.onInternalError);
      connections.add(connection);
      ws.once('close', () => connections.delete(connection));
    });
  };
  server.on('upgrade', onUpgrade);

  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const heartbeat = heartbeatMs > 0 ? setInterval(() => connections.forEach((c) => c.heartbeat()), heartbeatMs) : null;
  heartbeat?.unref();

  return {
    connections: () => connections.size,
    close: async () => {
      if (closed) return;
      // The upgrade listener stays: later upgrades get a clear 503 instead of a dropped socket.
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
      const open = [...connections];
      for (const c of open) c.shutdown();
      // A client that never answers the close handshake is cut off instead of holding shutdown.
      const cutoff = setTimeout(() => open.forEach((c) => c.terminate()), 2_000);
      await Promise.all(open.map((c) => c.closed));
      clearTimeout(cutoff);
      wss.close();
    },
  };
}

/** The token a browser offers as the subprotocol `palyra.bearer.<token>`, or null. */
function protocolToken(req: IncomingMessage): string | null {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return null;
  for (const p of header.split(',')) {
    const name = p.trim();
    if (name.startsWith(WS_TOKEN_SUBPROTOCOL_PREFIX) && name.length > WS_TOKEN_SUBPROTOCOL_PREFIX.length) return name.slice(WS_TOKEN_SUBPROTOCOL_PREFIX.length);
  }
  return null;
}

