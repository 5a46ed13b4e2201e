import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScriptedProvider, parseScript } from '../../providers/index.ts';
import { FIXTURE_TOKEN, startGatewayFixture } from '../../../test/helpers/gateway-fixture.ts';
import { ConsoleSessions } from './console-sessions.ts';
import { CONSOLE_CSP, sessionCookie } from './console-routes.ts';

const SCRIPT = parseScript({ version: 1, turns: [{ when: {}, text: 'hello from the console test' }] });

/** A fixture serving the console; `now` drives session expiry. */
async function startConsole(options: { maxFailures?: number } = {}) {
  const clock = { now: Date.now() };
  const sessions = new ConsoleSessions({ now: () => clock.now, ttlMs: 60_000, maxFailures: options.maxFailures });
  const api = await startGatewayFixture({ provider: createScriptedProvider(SCRIPT), consoleSessions: sessions });
  return { api, clock, sessions };
}

async function login(url: string, token: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
  return { status: res.status, cookie: res.headers.get('set-cookie'), retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, any> };
}

/** Logs in and returns the cookie header to send and the CSRF token. */
async function session(url: string): Promise<{ cookie: string; csrf: string }> {
  const r = await login(url, FIXTURE_TOKEN);
  assert.equal(r.status, 200);
  return { cookie: (r.cookie as string).split(';')[0] as string, csrf: r.body.csrfToken as string };
}

async function call(url: string, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, cookie: res.headers.get('set-cookie'), body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

test('the console files are served with strict security headers and no inline code', async () => {
  const { api } = await startConsole();
  try {
    const expected = [
      ['/', 'text/html; charset=utf-8'],
      ['/console/console.js', 'text/javascript; charset=utf-8'],
      ['/console/console.css', 'text/css; charset=utf-8'],
    ];
    for (const [path, type] of expected) {
      const res = await fetch(api.url + path);
      const headers = ['content-type', 'content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options', 'cache-control'].map((h) => res.headers.get(h));
      assert.deepEqual([res.status, ...headers], [200, type, CONSOLE_CSP, 'nosniff', 'no-referrer', 'DENY', 'no-cache'], path);
      assert.ok((await res.text()).length > 100);
    }
    assert.equal(
      CONSOLE_CSP,
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    const html = await (await fetch(`${api.url}/`)).text();
    assert.deepEqual([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), ['<script src="/console/console.js" defer>'], 'one external script, nothing inline');
    assert.equal(/<style\b|\son[a-z]+=|style=/i.test(html), false, 'no inline styles or handlers');
    const js = await (await fetch(`${api.url}/console/console.js`)).text();
    assert.equal(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(js), false, 'the script never parses data as HTML');
    assert.equal((await fetch(`${api.url}/console/nope.js`)).status, 404);
  } finally {
    await api.close();
  }
});

test('login: a wrong token gets 401 and no cookie; the admin token gets an HttpOnly SameSite=Strict cookie and a CSRF token', async () => {
  const { api, sessions } = await startConsole();
  try {
    const wrong = await login(api.url, 'not-the-token');
    assert.deepEqual([wrong.status, wrong.cookie, wrong.body.error.code], [401, null, 'PALYRA_UNAUTHORIZED']);
    const missing = await call(api.url, 'POST', '/console/login', {}, {});
    assert.deepEqual([missing.status, missing.cookie], [401, null]);
    const ok = await login(api.url, FIXTURE_TOKEN);
    assert.equal(ok.status, 200);
    assert.match(ok.cookie ?? '', /^palyra_console=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=60$/);
    assert.match(ok.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(sessions.size(), 1);
    const cookie = (ok.cookie as string).split(';')[0] as string;
    const again = await call(api.url, 'GET', '/console/session', { cookie, 'x-csrf-token': ok.body.csrfToken });
    assert.deepEqual([again.status, again.body?.csrfToken, typeof again.body?.expiresAt], [200, undefined, 'number'], 'a reloaded page that kept its token is still logged in');
    const cookieOnly = await call(api.url, 'GET', '/console/session', { cookie });
    assert.deepEqual([cookieOnly.status, cookieOnly.body?.csrfToken], [403, undefined], 'the cookie alone never yields the token');
    assert.equal((await call(api.url, 'GET', '/console/session', {})).status, 401);
    const foreign = await login(api.url, FIXTURE_TOKEN, { origin: 'https://evil.example' });
    assert.deepEqual([foreign.status, foreign.cookie], [403, null], 'another origin cannot log in');
  } finally {
    await api.close();
  }
});

test('with the cookie and its token, reads and writes work; the cookie alone (which other services on this host receive) does nothing; /metrics stays bearer-only', async () => {
  const { api } = await startConsole();
  try {
    const { cookie, csrf } = await session(api.url);
    const cookieOnly = await call(api.url, 'GET', '/api/v1/sessions', { cookie });
    assert.deepEqual([cookieOnly.status, cookieOnly.body?.error.code], [403, 'PALYRA_FORBIDDEN']);
    const list = await call(api.url, 'GET', '/api/v1/sessions', { cookie, 'x-csrf-token': csrf });
    assert.deepEqual([list.status, list.body?.sessions], [200, []]);
    const noCsrf = await call(api.url, 'POST', '/api/v1/sessions', { cookie }, { key: 'a' });
    assert.deepEqual([noCsrf.status, noCsrf.body?.error.code], [403, 'PALYRA_FORBIDDEN']);
    const wrongCsrf = await call(api.url, 'POST', '/api/v1/sessions', { cookie, 'x-csrf-token': `${csrf}x` }, { key: 'a' });
    assert.deepEqual([wrongCsrf.status, wrongCsrf.body?.error.code], [403, 'PALYRA_FORBIDDEN']);
    const foreign = await call(api.url, 'POST', '/api/v1/sessions', { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' }, { key: 'a' });
    assert.equal(foreign.status, 403);
    const created = await call(api.url, 'POST', '/api/v1/sessions', { cookie, 'x-csrf-token': csrf, origin: api.url }, { key: 'a' });
    assert.equal(created.status, 201);
    const sent = await call(api.url, 'POST', `/api/v1/sessions/${created.body?.id}/messages?wait=true`, { cookie, 'x-csrf-token': csrf }, { text: 'hi' });
    assert.deepEqual([sent.status, sent.body?.run.finalText], [200, 'hello from the console test']);
    const events = await fetch(`${api.url}/api/v1/runs/${sent.body?.runId}/events?csrf=${encodeURIComponent(csrf)}`, { headers: { cookie } });
    assert.match(await events.text(), /event: end\n/, 'the SSE stream works with the cookie and the token in the query (EventSource sets no headers)');
    assert.equal((await fetch(`${api.url}/api/v1/runs/${sent.body?.runId}/events`, { headers: { cookie } })).status, 403);
    const queryWrite = await call(api.url, 'POST', `/api/v1/sessions?csrf=${encodeURIComponent(csrf)}`, { cookie }, { key: 'b' });
    assert.equal(queryWrite.status, 403, 'a write takes the token from the header only');
    assert.equal((await call(api.url, 'GET', '/metrics', { cookie })).status, 401, 'the cookie opens /api/v1 only');
    const openAi = await call(api.url, 'GET', '/v1/models', { cookie, 'x-csrf-token': csrf });
    assert.deepEqual([openAi.status, openAi.body?.error.code], [401, 'PALYRA_UNAUTHORIZED'], 'the OpenAI surface stays bearer-only, even with the CSRF token');
    assert.equal((await call(api.url, 'GET', '/api/v1/sessions', { cookie: 'palyra_console=forged' })).status, 401);
  } finally {
    await api.close();
  }
});

test('logged-out and expired sessions are refused; bearer clients are unaffected', async () => {
  const { api, clock } = await startConsole();
  try {
    const bearer = { authorization: `Bearer ${FIXTURE_TOKEN}` };
    assert.equal((await call(api.url, 'POST', '/api/v1/sessions', bearer, {})).status, 201, 'bearer writes need no CSRF token');
    assert.equal((await call(api.url, 'GET', '/api/v1/sessions', { authorization: 'Bearer wrong' })).status, 401);

    const first = await session(api.url);
    assert.equal((await call(api.url, 'POST', '/console/logout', { cookie: first.cookie })).status, 403, 'logout needs the CSRF token too');
    const out = await call(api.url, 'POST', '/console/logout', { cookie: first.cookie, 'x-csrf-token': first.csrf });
    assert.deepEqual([out.status, out.cookie], [200, 'palyra_console=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0']);
    assert.equal((await call(api.url, 'GET', '/api/v1/sessions', { cookie: first.cookie, 'x-csrf-token': first.csrf })).status, 401, 'logged out');

    const second = await session(api.url);
    assert.equal((await call(api.url, 'GET', '/api/v1/sessions', { cookie: second.cookie, 'x-csrf-token': second.csrf })).status, 200);
    clock.now += 60_001;
    const expired = await call(api.url, 'GET', '/api/v1/sessions', { cookie: second.cookie, 'x-csrf-token': second.csrf });
    assert.deepEqual([expired.status, expired.body?.error.code], [401, 'PALYRA_UNAUTHORIZED']);
    assert.equal((await call(api.url, 'GET', '/api/v1/sessions', bearer)).status, 200);
  } finally {
    await api.close();
  }
});

test('failed logins are rate-limited with 429 and Retry-After', async () => {
  const { api, clock } = await startConsole({ maxFailures: 3 });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await login(api.url, 'guess')).status, 401);
    const limited = await login(api.url, FIXTURE_TOKEN);
    assert.deepEqual([limited.status, limited.body.error.code, limited.retryAfter, limited.cookie], [429, 'PALYRA_RATE_LIMITED', '60', null]);
    clock.now += 60_001;
    assert.equal((await login(api.url, FIXTURE_TOKEN)).status, 200, 'the window passes');
  } finally {
    await api.close();
  }
});

test('failed logins from one address do not lock out the operator at another', async () => {
  const { api } = await startConsole({ maxFailures: 2 });
  try {
    const { request } = await import('node:http');
    // Any address of 127.0.0.0/8 reaches the loopback listener: a second client on this host.
    const loginFrom = (localAddress: string, token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(new URL('/console/login', api.url), { method: 'POST', localAddress, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ token }));
      });
    assert.deepEqual([await loginFrom('127.0.0.2', 'guess'), await loginFrom('127.0.0.2', 'guess'), await loginFrom('127.0.0.2', FIXTURE_TOKEN)], [401, 401, 429]);
    assert.equal(await loginFrom('127.0.0.1', FIXTURE_TOKEN), 200, 'another address logs in');
    assert.equal(await loginFrom('127.0.0.2', FIXTURE_TOKEN), 429, 'the failing one is still held');
  } finally {
    await api.close();
  }
});

test('logins sent in parallel, their bodies late, are limited as if one after another', async () => {
  const { api } = await startConsole({ maxFailures: 3 });
  try {
    const { request } = await import('node:http');
    const target = new URL('/console/login', api.url);
    const statuses = await Promise.all(
      Array.from({ length: 12 }, () =>
        new Promise<number>((resolve, reject) => {
          const req = request(target, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.flushHeaders();
          // Every request is in before any body arrives.
          setTimeout(() => req.end(JSON.stringify({ token: 'guess' })), 200);
        }),
      ),
    );
    assert.equal(statuses.filter((s) => s === 401).length, 3, `only 3 guesses checked: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 9);
  } finally {
    await api.close();
  }
});

test('the cookie is Secure when served over TLS, and cleared with Max-Age=0', () => {
  assert.equal(sessionCookie('abc', 60, true), 'palyra_console=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure');
  assert.equal(sessionCookie('', 0, false), 'palyra_console=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0');
});

test('an opaque origin ("null": sandboxed frames, file: pages) can neither log in nor write', async () => {
  const { api } = await startConsole();
  try {
    const nullLogin = await login(api.url, FIXTURE_TOKEN, { origin: 'null' });
    assert.deepEqual([nullLogin.status, nullLogin.cookie, nullLogin.body.error.code], [403, null, 'PALYRA_FORBIDDEN']);
    const { cookie, csrf } = await session(api.url);
    const nullWrite = await call(api.url, 'POST', '/api/v1/sessions', { cookie, 'x-csrf-token': csrf, origin: 'null' }, { key: 'n' });
    assert.deepEqual([nullWrite.status, nullWrite.body?.error.code], [403, 'PALYRA_FORBIDDEN']);
  } finally {
    await api.close();
  }
});

test('successful logins do not count toward the failed-login limit, and a new login ends the session it replaces', async () => {
  const { api, sessions } = await startConsole({ maxFailures: 2 });
  try {
    const first = await session(api.url);
    let previous = first;
    for (let i = 0; i < 4; i++) {
      const r = await login(api.url, FIXTURE_TOKEN, { cookie: previous.cookie });
      assert.equal(r.status, 200, `login ${i + 2}`);
      previous = { cookie: (r.cookie as string).split(';')[0] as string, csrf: r.body.csrfToken as string };
    }
    assert.equal(sessions.size(), 1, 'each login replaced the session whose cookie it carried');
    assert.equal((await call(api.url, 'GET', '/api/v1/sessions', { cookie: first.cookie, 'x-csrf-token': first.csrf })).status, 401, 'the replaced session is gone');
    assert.equal((await call(api.url, 'GET', '/api/v1/sessions', { cookie: previous.cookie, 'x-csrf-token': previous.csrf })).status, 200);
  } finally {
    await api.close();
  }
});
