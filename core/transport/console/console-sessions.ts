import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { PalyraError } from '../../base/index.ts';

/** One logged-in console: what the cookie names and what writes must echo. */
export interface ConsoleSession {
  /** The cookie value (32 random bytes, base64url). Only its hash is kept as the map key. */
  id: string;
  /** The CSRF token writes must send in `x-csrf-token` (32 random bytes, base64url). */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/** Limits of the session store. */
export interface ConsoleSessionOptions {
  /** Unix ms now (tests pass a fake clock). Default Date.now. */
  now?: () => number;
  /** Lifetime of a session from login (default 12 hours); it is not extended by use. */
  ttlMs?: number;
  /** Sessions kept at once (default 32); a new login evicts the oldest. */
  maxSessions?: number;
  /** Failed logins allowed per window before logins are refused with 429 (default 10). */
  maxFailures?: number;
  /** The window of `maxFailures` (default 60 s). */
  failureWindowMs?: number;
}

const DEFAULTS = { ttlMs: 12 * 3_600_000, maxSessions: 32, maxFailures: 10, failureWindowMs: 60_000 };

/**
 * Console sessions, kept in memory only: a daemon restart logs every console out.
 * Security: the map is keyed by the SHA-256 of the session id, so a lookup's timing says
 * nothing about stored ids; CSRF tokens are compared in constant time. Failed logins are
 * counted in one window for the whole daemon (the admin token has 256 bits, so this is
 * defence in depth against noise, not the thing that stops guessing).
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly now: () => number;
  private readonly limits: typeof DEFAULTS;
  private failures: number[] = [];

  constructor(options: ConsoleSessionOptions = {}) {
    this.now = options.now ?? Date.now;
    this.limits = {
      ttlMs: options.ttlMs ?? DEFAULTS.ttlMs,
      maxSessions: options.maxSessions ?? DEFAULTS.maxSessions,
      maxFailures: options.maxFailures ?? DEFAULTS.maxFailures,
      failureWindowMs: options.failureWindowMs ?? DEFAULTS.failureWindowMs,
    };
  }

  /** Lifetime of a new session in ms (the cookie's Max-Age). */
  get ttlMs(): number {
    return this.limits.ttlMs;
  }

  /**
   * Throws PALYRA_RATE_LIMITED (429) while too many logins failed in the current window;
   * call before checking a presented token. Returns nothing otherwise.
   */
  checkLoginAllowed(): void {
    const now = this.now();
    this.failures = this.failures.filter((t) => t > now - this.limits.failureWindowMs);
    if (this.failures.length >= this.limits.maxFailures) {
      const retryAfterS = Math.max(1, Math.ceil(((this.failures[0] as number) + this.limits.failureWindowMs - now) / 1000));
      throw new PalyraError('PALYRA_RATE_LIMITED', `Too many failed console logins: try again in ${retryAfterS} s`, { details: { retryAfterS } });
    }
  }

  /** Records a failed login attempt; returns a handle that `forgetFailure` takes back. */
  recordFailure(): number {
    const at = this.now();
    this.failures.push(at);
    return at;
  }

  /** Takes back an attempt counted as failed in advance (the login succeeded). */
  forgetFailure(at: number): void {
    const i = this.failures.lastIndexOf(at);
    if (i >= 0) this.failures.splice(i, 1);
  }

  /** Creates a session after a successful login, evicting expired ones and then the oldest. */
  create(): ConsoleSession {
    this.sweep();
    while (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    const now = this.now();
    const session: ConsoleSession = { id: randomBytes(32).toString('base64url'), csrfToken: randomBytes(32).toString('base64url'), createdAt: now, expiresAt: now + this.limits.ttlMs };
    // Invariant: Map iteration is insertion order, so the first key is the oldest session.
    this.sessions.set(keyOf(session.id), session);
    return session;
  }

  /** The live session with this id, or null (unknown, logged out or expired). */
  get(id: string | null | undefined): ConsoleSession | null {
    if (typeof id !== 'string' || id === '') return null;
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (!session) return null;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return null;
    }
    return session;
  }

  /** Ends a session (logout); unknown ids are ignored. */
  delete(id: string): void {
    this.sessions.delete(keyOf(id));
  }

  /** Sessions alive now. */
  size(): number {
    this.sweep();
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(key);
  }
}

/** Whether `presented` is the session's CSRF token, in time that depends on neither value. */
export function csrfMatches(session: ConsoleSession, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string' || presented === '') return false;
  return timingSafeEqual(createHash('sha256').update(session.csrfToken).digest(), createHash('sha256').update(presented).digest());
}

function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
