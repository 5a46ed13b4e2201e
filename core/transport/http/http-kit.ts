import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { clientErrorBody, errorBody, httpStatusOf, PalyraError, reportInternal, type InternalErrorReport } from '../../base/index.ts';

/** Default cap of a request body. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** A matched request: the raw objects, the path parameters and the query. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/**
 * A small router: `GET /api/v1/runs/:id`. A path that exists with another method gets
 * 405, an unknown path 404, both as JSON errors.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${path.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === ':' ? c : `\\${c}`)).replace(/:([a-zA-Z]+)/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      })}$`,
    );
    this.routes.push({ method, pattern, names, handler });
    return this;
  }

  /** Finds the handler for a request, or throws the 404/405 error. */
  match(method: string, pathname: string): { handler: RouteHandler; params: Record<string, string> } {
    let pathKnown = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(pathname);
      if (!m) continue;
      pathKnown = true;
      // HEAD is GET without a body (health checkers use it); Node sends no body for it.
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1] as string);
        } catch {
          throw new PalyraError('PALYRA_INVALID_ARGUMENT', `The path ${pathname.slice(0, 200)} has a malformed percent-escape`);
        }
      });
      return { handler: route.handler, params };
    }
    if (pathKnown) throw new PalyraError('PALYRA_METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname}`);
    throw new PalyraError('PALYRA_NOT_FOUND', `No route ${method} ${pathname}`);
  }
}

/** Reads a JSON object body, capped; malformed JSON or a non-object is a 400. */
export async function readJson(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `Request body is ${declared} bytes, over the limit of ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PalyraError('PALYRA_PAYLOAD_TOO_LARGE', `Request body is over the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new PalyraError('PALYRA_INVALID_JSON', 'Request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PalyraError('PALYRA_INVALID_JSON', 'Request body must be a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Bytes a streaming response (server-sent events) may hold unsent for a client that does
 * not read; past them the client is cut off. SSE clients resume with Last-Event-ID.
 */
export const MAX_UNSENT_STREAM_BYTES = 8 * 1024 * 1024;

/**
 * Writes a piece of an event stream, or, when the client has let more than `maxUnsent`
 * bytes pile up unread, ends its connection instead. Security: events are pushed as a run
 * makes them, so a client that never reads would otherwise have the daemon buffer the
 * whole run's output for it, once per connection. False when the connection is gone.
 */
export function writeStreamed(res: ServerResponse, text: string, maxUnsent = MAX_UNSENT_STREAM_BYTES): boolean {
  if (res.writableEnded || res.destroyed) return false;
  if (res.writableLength > maxUnsent) {
    res.destroy();
    return false;
  }
  res.write(text);
  return true;
}

/** Sends a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Sends an error as `{"error":{"code","message"}}` with the status its code implies; `report`: see clientErrorBody. */
export function sendError(res: ServerResponse, error: unknown, report?: InternalErrorReport): void {
  if (res.headersSent) {
    reportInternal(error, report);
    res.destroy();
    return;
  }
  sendJson(res, httpStatusOf(error), clientErrorBody(error, report));
}

/**
 * The request's URL, or PALYRA_INVALID_ARGUMENT. Security: Node's HTTP parser accepts
 * request targets the WHATWG URL parser refuses (`//a:x/`, `//[`): thrown from a
 * `request` or `upgrade` listener, outside any handler's try, that error ended the daemon.
 */
export function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'The request target is not a valid URL path');
  }
}

/** The bearer token of a request, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

/** Answers a WebSocket upgrade request with a plain HTTP error (the API's JSON body) and closes. */
export function refuseUpgrade(socket: Duplex, error: PalyraError): void {
  const status = httpStatusOf(error);
  const body = JSON.stringify(errorBody(error));
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'connection: close',
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['www-authenticate: Bearer'] : []),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * A query parameter as an integer from `min` to `max` (`fallback` when absent). Decimal
 * digits only: `1e3`, `0x10` and an empty value are refused, not read as numbers.
 */
export function integerParam(raw: string | null, name: string, min: number, max: number, fallback: number): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}`);
  return n;
}
