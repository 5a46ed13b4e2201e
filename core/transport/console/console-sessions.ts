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
  /** Failed logins allowed per client (address) per window before its logins are refused with 429 (default 10). */
  maxFailures?: number;
  /** Failed logins allowed per window from all clients together (default 100). */
  maxFailuresTotal?: number;
  /** The window of both limits (default 60 s). */
  failureWindowMs?: number;
}

const DEFAULTS = { ttlMs: 12 * 3_600_000, maxSessions: 32, maxFailures: 10, maxFailuresTotal: 100, failureWindowMs: 60_000 };

/** Clients whose failures are remembered at once; past it the oldest are forgotten (the total limit still holds). */
const MAX_TRACKED_CLIENTS = 1024;

/** A failed attempt counted in advance, for `forgetFailure`. */
export interface FailureHandle {
  client: string;
  at: number;
}

/**
 * Console sessions, kept in memory only: a daemon restart logs every console out.
 * Security: the map is keyed by the SHA-256 of the session id, so a lookup's timing says
 * nothing about stored ids; CSRF tokens are compared in constant time. Failed logins are
 * counted per client (its address; an IPv6 client by its /64) and for all clients
 * together, in one sliding window: one noisy or hostile client cannot lock the operator
 * out, and many cannot get more than the total through. The admin token has 256 bits, so
 * this is defence in depth against noise, not the thing that stops guessing.
 */
export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly now: () => number;
  private readonly limits: typeof DEFAULTS;
  /** Times of failed logins per client, oldest first, and of all of them. */
  private readonly failures = new Map<string, number[]>();
  private allFailures: number[] = [];

  constructor(options: ConsoleSessionOptions = {}) {
    this.now = options.now ?? Date.now;
    this.limits = {
      ttlMs: options.ttlMs ?? DEFAULTS.ttlMs,
      maxSessions: options.maxSessions ?? DEFAULTS.maxSessions,
      maxFailures: options.maxFailures ?? DEFAULTS.maxFailures,
      maxFailuresTotal: options.maxFailuresTotal ?? DEFAULTS.maxFailuresTotal,
      failureWindowMs: options.failureWindowMs ?? DEFAULTS.failureWindowMs,
    };
  }

  /** Lifetime of a new session in ms (the cookie's Max-Age). */
  get ttlMs(): number {
    return this.limits.ttlMs;
  }

  /**
   * Throws PALYRA_RATE_LIMITED (429) while too many logins from `client` (see
   * `loginClientKey`), or from all clients, failed in the current window; call before
   * checking a presented token. Returns nothing otherwise.
   */
  checkLoginAllowed(client: string): void {
    const since = this.now() - this.limits.failureWindowMs;
    this.allFailures = recent(this.allFailures, since);
    const own = recent(this.failures.get(client) ?? [], since);
    if (own.length === 0) this.failures.delete(client);
    else this.failures.set(client, own);
    const limiting = own.length >= this.limits.maxFailures ? own : this.allFailures.length >= this.limits.maxFailuresTotal ? this.allFailures : null;
    if (limiting !== null) {
      const retryAfterS = Math.max(1, Math.ceil(((limiting[limiting.length - (limiting === own ? this.limits.maxFailures : this.limits.maxFailuresTotal)] as number) - since) / 1000));
      throw new PalyraError('PALYRA_RATE_LIMITED', `Too many failed console logins: try again in ${retryAfterS} s`, { details: { retryAfterS } });
    }
  }

  /** Records a failed login attempt of `client`; returns a handle that `forgetFailure` takes back. */
  recordFailure(client: string): FailureHandle {
    const at = this.now();
    const own = this.failures.get(client);
    if (own) own.push(at);
    else {
      if (this.failures.size >= MAX_TRACKED_CLIENTS) this.forgetOldestClients();
      this.failures.set(client, [at]);
    }
    this.allFailures.push(at);
    return { client, at };
  }

  /** Takes back an attempt counted as failed in advance (the login succeeded). */
  forgetFailure(handle: FailureHandle): void {
    removeLast(this.failures.get(handle.client), handle.at);
    removeLast(this.allFailures, handle.at);
  }

  /** Clients whose failures are remembered now (for tests and bounds). */
  get trackedClients(): number {
    return this.failures.size;
  }

  private forgetOldestClients(): void {
    const since = this.now() - this.limits.failureWindowMs;
    for (const [client, times] of this.failures) if ((times[times.length - 1] ?? 0) <= since) this.failures.delete(client);
    // Map iteration is insertion order: the first clients are the longest tracked.
    for (const client of this.failures.keys()) {
      if (this.failures.size < MAX_TRACKED_CLIENTS) break;
      this.failures.delete(client);
    }
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

function recent(times: number[], since: number): number[] {
  let first = 0;
  while (first < times.length && (times[first] as number) <= since) first++;
  return first === 0 ? times : times.slice(first);
}

function removeLast(times: number[] | undefined, at: number): void {
  const i = times?.lastIndexOf(at) ?? -1;
  if (i >= 0) times?.splice(i, 1);
}

/**
 * Whose failed logins an address counts towards: the address itself, an IPv4 address
 * mapped into IPv6 as the IPv4 address, and an IPv6 address by its /64 (one host usually
 * holds a whole /64, so counting each address would count nothing). A client the
 * socket cannot name counts as "unknown" (all such share one window).
 */
export function loginClientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (!address.includes(':')) return address;
  const groups = ipv6Groups(address.replace(/%.*$/, ''));
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

/** The eight groups of an IPv6 address (lowercase, no leading zeros), or null when it is not one. */
function ipv6Groups(address: string): string[] | null {
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const split = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const head = split(halves[0]);
  const tail = split(halves[1]);
  // A trailing dotted IPv4 part stands for the last two groups.
  const last = tail.length > 0 ? tail : head;
  const dotted = last[last.length - 1];
  if (dotted?.includes('.')) {
    const bytes = dotted.split('.').map(Number);
    if (bytes.length !== 4 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) return null;
    last.splice(last.length - 1, 1, ((bytes[0] as number) * 256 + (bytes[1] as number)).toString(16), ((bytes[2] as number) * 256 + (bytes[3] as number)).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.map((g) => parseInt(g, 16).toString(16));
}

function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}
