import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleSessions, csrfMatches } from './console-sessions.ts';

test('a session lives until its expiry, is found only by its id, and ends on delete', () => {
  let now = 1_000;
  const sessions = new ConsoleSessions({ now: () => now, ttlMs: 100 });
  const s = sessions.create();
  assert.deepEqual([s.createdAt, s.expiresAt], [1_000, 1_100]);
  assert.notEqual(s.id, s.csrfToken);
  assert.equal(sessions.get(s.id), s);
  assert.equal(sessions.get(s.csrfToken), null, 'the CSRF token is not a session id');
  assert.equal(sessions.get(''), null);
  now = 1_099;
  assert.equal(sessions.get(s.id), s);
  now = 1_100;
  assert.equal(sessions.get(s.id), null, 'expired at expiresAt');
  const t = sessions.create();
  sessions.delete(t.id);
  assert.equal(sessions.get(t.id), null);
});

test('the number of sessions is bounded: a new login evicts the oldest', () => {
  const sessions = new ConsoleSessions({ maxSessions: 2 });
  const [a, b, c] = [sessions.create(), sessions.create(), sessions.create()];
  assert.deepEqual([sessions.get(a.id), sessions.get(b.id), sessions.get(c.id)], [null, b, c]);
  assert.equal(sessions.size(), 2);
});

test('failed logins past the limit are refused until the window passes', () => {
  let now = 0;
  const sessions = new ConsoleSessions({ now: () => now, maxFailures: 2, failureWindowMs: 10_000 });
  sessions.checkLoginAllowed();
  sessions.recordFailure();
  now = 4_000;
  sessions.recordFailure();
  assert.throws(() => sessions.checkLoginAllowed(), { code: 'PALYRA_RATE_LIMITED', message: 'Too many failed console logins: try again in 6 s' });
  now = 10_001;
  sessions.checkLoginAllowed();
});

test('CSRF tokens match exactly', () => {
  const s = new ConsoleSessions().create();
  assert.deepEqual([csrfMatches(s, s.csrfToken), csrfMatches(s, `${s.csrfToken}x`), csrfMatches(s, ''), csrfMatches(s, null)], [true, false, false, false]);
});
