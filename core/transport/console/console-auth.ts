import type { IncomingMessage } from 'node:http';
import { PalyraError } from '../../base/index.ts';
import { requestUrl } from '../http/http-kit.ts';
import { csrfMatches, type ConsoleSession, type ConsoleSessions } from './console-sessions.ts';

/** The console's session cookie. */
export const CONSOLE_COOKIE = 'palyra_console';
/** The header every cookie-authenticated request must carry, holding the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';
/** The same token as a query parameter, for GETs only: EventSource cannot set headers. */
export const CSRF_QUERY = 'csrf';

/** Methods that never change anything: for these the token may come in the query. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** The value of the console cookie of a request, or null. */
export function consoleCookie(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === CONSOLE_COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** The live console session a request's cookie names, or null. */
export function consoleSessionOf(req: IncomingMessage, sessions: ConsoleSessions): ConsoleSession | null {
  return sessions.get(consoleCookie(req));
}

/**
 * Whether the request's `Origin` (when a browser sent one) is this server. Browsers send
 * it on every cross-origin request and on same-origin writes; a request without it
 * comes from a non-browser client or a same-origin GET.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    // Security: "null" (sandboxed frames, file: pages) and garbage are never this server.
    return false;
  }
}

/**
 * Authorizes a request to /api/v1 by its console session instead of a bearer token.
 * Security: every request must also carry the session's CSRF token (in `x-csrf-token`;
 * a GET may put it in `?csrf=`, for EventSource). The cookie alone is not enough: browsers
 * do not keep cookies apart by port, so any other web service on this host that the
 * operator's browser visits receives the cookie; the token lives only in the page's own
 * per-tab storage, which no other origin (port included) can read. A write must also not
 * come from another origin (SameSite=Strict already keeps other sites' requests from
 * carrying the cookie; this is the second lock).
 * @throws PalyraError PALYRA_UNAUTHORIZED (401) without a live session, PALYRA_FORBIDDEN
 *   (403) without the right token or for a write from another origin.
 */
export function authorizeConsoleRequest(req: IncomingMessage, sessions: ConsoleSessions): void {
  const session = consoleSessionOf(req, sessions);
  if (!session) {
    throw new PalyraError('PALYRA_UNAUTHORIZED', 'A valid bearer token is required (the admin token is in the state directory: auth/admin.token)');
  }
  const safe = SAFE_METHODS.has(req.method ?? 'GET');
  if (!csrfMatches(session, presentedToken(req, safe))) {
    throw new PalyraError('PALYRA_FORBIDDEN', `A console request needs the session's CSRF token in the ${CSRF_HEADER} header`);
  }
  if (!safe && !sameOrigin(req)) throw new PalyraError('PALYRA_FORBIDDEN', `A console write from origin "${String(req.headers.origin)}" is refused: it is not this server`);
}

function presentedToken(req: IncomingMessage, queryAllowed: boolean): string | null {
  const header = req.headers[CSRF_HEADER];
  if (typeof header === 'string') return header;
  if (!queryAllowed) return null;
  return requestUrl(req).searchParams.get(CSRF_QUERY);
}
