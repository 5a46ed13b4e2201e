import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleSessions, csrfMatches, loginClientKey } from './console-sessions.ts';

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
  sessions.checkLoginAllowed('10.0.0.1');
  sessions.recordFailure('10.0.0.1');
  now = 4_000;
  sessions.recordFailure('10.0.0.1');
  assert.throws(() => sessions.checkLoginAllowed('10.0.0.1'), { code: 'PALYRA_RATE_LIMITED', message: 'Too many failed console logins: try again in 6 s' });
  now = 10_001;
  sessions.checkLoginAllowed('10.0.0.1');
  assert.throws(() => (sessions.recordFailure('10.0.0.1'), sessions.checkLoginAllowed('10.0.0.1')), { message: /try again in 4 s/ }, 'waits for the oldest failure still counted');
});

test('one client failing does not lock out another; all clients together are held to the total', () => {
  let now = 0;
  const sessions = new ConsoleSessions({ now: () => now, maxFailures: 2, maxFailuresTotal: 5, failureWindowMs: 10_000 });
  for (let i = 0; i < 2; i++) sessions.recordFailure('203.0.113.9');
  assert.throws(() => sessions.checkLoginAllowed('203.0.113.9'), { code: 'PALYRA_RATE_LIMITED' });
  sessions.checkLoginAllowed('127.0.0.1');
  // Three more clients, one failure each: five in all.
  for (const client of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) sessions.recordFailure(client);
  assert.throws(() => sessions.checkLoginAllowed('127.0.0.1'), { code: 'PALYRA_RATE_LIMITED', message: /try again in 10 s/ });
  now = 10_000;
  sessions.checkLoginAllowed('127.0.0.1');
});

test('a failure counted in advance and taken back leaves neither window counting it', () => {
  const sessions = new ConsoleSessions({ maxFailures: 1, maxFailuresTotal: 1 });
  sessions.forgetFailure(sessions.recordFailure('10.0.0.1'));
  sessions.checkLoginAllowed('10.0.0.1');
  sessions.checkLoginAllowed('10.0.0.2');
});

test('the failures of at most 1,024 clients are remembered; the total limit still counts the rest', () => {
  let now = 0;
  const sessions = new ConsoleSessions({ now: () => now, maxFailures: 1, maxFailuresTotal: 5_000, failureWindowMs: 60_000 });
  for (let i = 0; i < 3_000; i++) {
    now = i;
    sessions.recordFailure(`client-${i}`);
  }
  assert.equal(sessions.trackedClients, 1_024);
  assert.throws(() => sessions.checkLoginAllowed('client-2999'), { code: 'PALYRA_RATE_LIMITED' }, 'the newest are kept');
  sessions.checkLoginAllowed('client-0');
  for (let i = 0; i < 2_000; i++) sessions.recordFailure(`more-${i}`);
  assert.throws(() => sessions.checkLoginAllowed('someone-new'), { code: 'PALYRA_RATE_LIMITED' }, '5,000 failures in the window: everyone waits');
});

test('login clients: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64', () => {
  assert.equal(loginClientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(loginClientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(loginClientKey('2001:db8:0:1:aaaa::1'), '2001:db8:0:1::/64');
  assert.equal(loginClientKey('2001:0DB8:0000:0001:ffff:ffff:ffff:ffff'), '2001:db8:0:1::/64');
  assert.equal(loginClientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(loginClientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(loginClientKey('::1'), '0:0:0:0::/64');
  assert.equal(loginClientKey('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
  assert.equal(loginClientKey(undefined), 'unknown');
  assert.equal(loginClientKey('1::2::3'), '1::2::3', 'not an address: counted as given');
});

test('CSRF tokens match exactly', () => {
  const s = new ConsoleSessions().create();
  assert.deepEqual([csrfMatches(s, s.csrfToken), csrfMatches(s, `${s.csrfToken}x`), csrfMatches(s, ''), csrfMatches(s, null)], [true, false, false, false]);
});
