import type { ServerResponse } from 'node:http';
import { PalyraError } from '../../base/index.ts';
import { readJson, sendJson, type Router } from '../http/http-kit.ts';
import { consoleAssets, type ConsoleAssetFiles } from './console-assets.ts';
import { authorizeConsoleRequest, consoleCookie, CONSOLE_COOKIE, consoleSessionOf, sameOrigin } from './console-auth.ts';
import { loginClientKey, type ConsoleSession, type ConsoleSessions } from './console-sessions.ts';

/** What the console's routes need. */
export interface ConsoleRoutesDeps {
  sessions: ConsoleSessions;
  /** True when the presented token is the admin token (the API's bearer check). */
  authenticate: (token: string | null) => boolean;
  /** True when served over TLS: the cookie then gets `Secure`. */
  secure: boolean;
}

/**
 * Security: the page runs only its own script and stylesheet (no inline code, so an
 * injected `<script>` or `onclick` cannot run), talks only to this server, and may not
 * be framed (clickjacking the approval buttons).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every console file. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Revalidated on every load: the files change with the daemon's version.
  'cache-control': 'no-cache',
};

const FILES: Record<string, { name: keyof ConsoleAssetFiles; type: string }> = {
  '/': { name: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/console.js': { name: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console/console.css': { name: 'console.css', type: 'text/css; charset=utf-8' },
  '/console/favicon.svg': { name: 'favicon.svg', type: 'image/svg+xml' },
};

/** Longest login body accepted (a token is 43 characters). */
const LOGIN_BODY_LIMIT = 4096;

/**
 * Adds the web console: its files at `/` and `/console/*`, and its session routes:
 * `POST /console/login` (admin token in, cookie and CSRF token out), `GET /console/session`
 * (the CSRF token again after a reload), `POST /console/logout`. The API accepts the
 * cookie through `ApiDeps.consoleSessions`. Auth model: docs/console.md.
 */
export function registerConsoleRoutes(router: Router, deps: ConsoleRoutesDeps): void {
  for (const [path, file] of Object.entries(FILES)) {
    router.add('GET', path, ({ res }) => sendAsset(res, consoleAssets()[file.name], file.type));
  }
  router
    .add('POST', '/console/login', async ({ req, res }) => {
      // Security: only this page may log in (a cross-site form could otherwise plant a session).
      if (!sameOrigin(req)) throw new PalyraError('PALYRA_FORBIDDEN', 'A console login from another origin is refused');
      const client = loginClientKey(req.socket.remoteAddress);
      try {
        deps.sessions.checkLoginAllowed(client);
      } catch (error) {
        const retryAfterS = (error as PalyraError).details?.retryAfterS;
        if (typeof retryAfterS === 'number') res.setHeader('retry-after', String(retryAfterS));
        throw error;
      }
      // Counted as failed before the body is read, taken back on success: logins sent in
      // parallel would otherwise all pass the check before the first failure counts.
      const attempt = deps.sessions.recordFailure(client);
      const body = await readJson(req, LOGIN_BODY_LIMIT);
      if (!deps.authenticate(typeof body.token === 'string' ? body.token.trim() : null)) {
        throw new PalyraError('PALYRA_UNAUTHORIZED', 'That is not the admin token (it is in the state directory: auth/admin.token)');
      }
      deps.sessions.forgetFailure(attempt);
      const previous = consoleCookie(req);
      if (previous) deps.sessions.delete(previous);
      const session = deps.sessions.create();
      res.setHeader('set-cookie', sessionCookie(session.id, Math.floor(deps.sessions.ttlMs / 1000), deps.secure));
      sendJson(res, 200, sessionBody(session));
    })
    .add('GET', '/console/session', ({ req, res }) => {
      // Whether a reloaded page's session (cookie and the token it kept) is still live. The
      // token is never handed out again here: the cookie alone must not yield it.
      const session = consoleSessionOf(req, deps.sessions);
      if (!session) throw new PalyraError('PALYRA_UNAUTHORIZED', 'Not logged in to the console');
      authorizeConsoleRequest(req, deps.sessions);
      sendJson(res, 200, { expiresAt: session.expiresAt });
    })
    .add('POST', '/console/logout', ({ req, res }) => {
      const id = consoleCookie(req);
      if (id && deps.sessions.get(id)) {
        authorizeConsoleRequest(req, deps.sessions);
        deps.sessions.delete(id);
      }
      res.setHeader('set-cookie', sessionCookie('', 0, deps.secure));
      sendJson(res, 200, { loggedOut: true });
    });
}

/** The Set-Cookie value of a console session (an empty id with max-age 0 clears it). */
export function sessionCookie(id: string, maxAgeS: number, secure: boolean): string {
  return `${CONSOLE_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

function sessionBody(session: ConsoleSession): { csrfToken: string; expiresAt: number } {
  return { csrfToken: session.csrfToken, expiresAt: session.expiresAt };
}

function sendAsset(res: ServerResponse, body: string, type: string): void {
  res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
