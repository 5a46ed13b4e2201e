import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, lstatSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { ioError, PalyraError, sha256Hex } from '../base/index.ts';

/** Version of the lock file format, written beside the owner fields. */
export const LOCK_FORMAT_VERSION = 1;
// Invariant: `pid`, `hostname`, `startedAt`, `procStart`, `bootId` and `pidNamespace` keep
// their meaning in every format version, and the file's mtime is a heartbeat, so any
// palyrad can judge whether any lock's holder is still alive.

/** Who holds a state directory's lock, as recorded in the lock file. */
export interface LockOwner {
  pid: number;
  /** `serve` or `writer` from this version; any other word (a later one's) is kept, not judged garbage. */
  mode: 'serve' | 'writer' | (string & {});
  /** The command a person would recognise, e.g. `palyrad journal append`. */
  command: string;
  /** Unix milliseconds. */
  startedAt: number;
  hostname: string;
  /** Linux: field 22 of /proc/<pid>/stat (start time in clock ticks), to detect PID reuse. */
  procStart?: string;
  /**
   * Linux: the kernel's boot id. Equal boot ids mean the same running kernel (containers
   * share it whatever their hostname); on the same host, another one means a reboot since.
   */
  bootId?: string;
  /** Linux: the holder's PID namespace (`pid:[inode]`); a pid is only checkable from its own. */
  pidNamespace?: string;
  /** The HTTP port of a running `palyrad serve`, once it listens. */
  port?: number;
  /** Where a client on this machine reaches it (scheme, host and port), once it listens. */
  url?: string;
  /** With TLS: the certificate it serves (a path), which clients here pin. */
  tlsCert?: string;
}

/** A held lock. */
export interface StateLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** The dead holder whose lock was taken over; unset when the file was free or held garbage. */
  tookOverStaleFrom?: LockOwner;
  /** Rewrites the lock file atomically with the patched owner (e.g. the port once listening). */
  update(patch: Partial<Pick<LockOwner, 'port' | 'url' | 'tlsCert'>>): void;
  /** Removes the lock file if it still names this holder; idempotent. */
  release(): void;
  /**
   * Throws PALYRA_STATE_LOCKED once the lock is lost; a writer calls it before it writes.
   * Cheap while the lock was refreshed lately; after a quiet spell (the process was
   * stopped, or its event loop blocked) it first checks the lock file (see refresh).
   */
  assertHeld(): void;
}

const MAX_ATTEMPTS = 20;
const RETRY_MS = 10;
/** A holder touches its lock file this often: the only sign of life visible from another PID namespace. */
const HEARTBEAT_MS = 10_000;
/** A holder in another PID namespace whose lock was not touched for this long is judged dead. */
export const HEARTBEAT_STALE_MS = 60_000;
/** A holder that has not refreshed its lock for this long checks the file before it writes again. */
const CHECK_BEFORE_WRITE_AFTER_MS = 2 * HEARTBEAT_MS;
/** Kept below HEARTBEAT_STALE_MS: a holder quiet for this long may have been judged dead. */
const MAY_BE_JUDGED_DEAD_MS = HEARTBEAT_STALE_MS - 5_000;

/**
 * Takes the exclusive writer lock of a state directory. Throws `PALYRA_STATE_LOCKED` while
 * a live holder (or one on another host, which cannot be checked) has it; takes over the
 * lock of a dead holder or a reused PID, and a garbage lock file.
 */
export function acquireStateLock(
  lockPath: string,
  options: {
    mode: 'serve' | 'writer';
    command: string;
    /** Told when the lock file is found removed (it is written again) or untouched for long. */
    onWarning?: (message: string) => void;
    /** Told once when the lock is lost (see StateLock.assertHeld): stop writing to the state directory. */
    onLost?: (error: PalyraError) => void;
    /** How often the holder touches its lock file (tests shorten it). */
    heartbeatMs?: number;
    /** The holder's wall clock and monotonic clock for how long it has been quiet (tests jump them; file times stay real). */
    clock?: () => number;
    monotonicClock?: () => number;
  },
): StateLock {
  const procStart = procStatOf(process.pid)?.start;
  const { bootId, pidNamespace } = thisKernel();
  const owner: LockOwner = {
    pid: process.pid,
    mode: options.mode,
    command: options.command,
    startedAt: Date.now(),
    hostname: hostname(),
    ...(procStart === undefined ? {} : { procStart }),
    ...(bootId === undefined ? {} : { bootId }),
    ...(pidNamespace === undefined ? {} : { pidNamespace }),
  };
  const text = serialize(owner);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(lockPath, text)) return heldLock(lockPath, owner, undefined, options);
    const found = readText(lockPath);
    if (found === null) {
      // A link() that failed with EEXIST but nothing to read: a dangling symlink, which no retry clears.
      if (isSymlink(lockPath)) throw new PalyraError('PALYRA_STATE_LOCKED', `Lock file "${lockPath}" is a symbolic link to nothing; palyrad never makes one: remove it`);
      continue; // Released between our attempt and the read.
    }
    const existing = parseOwner(found);
    const verdict = existing ? judgeHolder(existing, lockPath) : 'dead';
    if (existing && verdict !== 'dead') throw lockedError(lockPath, existing, verdict);
    // A holder judged by its heartbeat may beat again meanwhile (it was stopped, not dead):
    // checked again once the takeover is claimed, which that holder looks for after a beat.
    const stillDead = existing && heartbeatJudged(existing) ? () => heartbeatAge(lockPath) >= HEARTBEAT_STALE_MS : () => true;
    if (replaceStale(lockPath, found, text, text, stillDead)) return heldLock(lockPath, owner, existing ?? undefined, options);
    // Another process is taking the stale lock over; give it a moment, then look again.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS);
  }
  throw new PalyraError(
    'PALYRA_STATE_LOCKED',
    `Cannot lock state directory "${dirname(lockPath)}": another process kept taking over its stale lock "${lockPath}"; try again`,
  );
}

/**
 * Reads a lock file for status displays and error messages; never takes the lock.
 * Returns null when there is no lock file or it holds no readable owner. A holder on
 * another host counts as alive, since it cannot be checked from here.
 */
export function readStateLock(lockPath: string): { owner: LockOwner; alive: boolean } | null {
  const text = readText(lockPath);
  const owner = text === null ? null : parseOwner(text);
  return owner ? { owner, alive: judgeHolder(owner, lockPath) !== 'dead' } : null;
}

function heldLock(
  path: string,
  initial: LockOwner,
  tookOverStaleFrom: LockOwner | undefined,
  options: { onWarning?: (message: string) => void; onLost?: (error: PalyraError) => void; heartbeatMs?: number; clock?: () => number; monotonicClock?: () => number },
): StateLock {
  const clock = options.clock ?? Date.now;
  const monotonic = options.monotonicClock ?? (() => performance.now());
  let owner = initial;
  let released = false;
  let lost: PalyraError | null = null;
  /** When the lock file was last written or touched by us: by `clock` (wall time, as takers judge mtimes) and monotonic time. */
  let lastBeat = clock();
  let lastBeatMonotonic = monotonic();
  /** How long since the last beat, by the longer of the two clocks: a wall clock stepped back, or a suspend the monotonic one skips, cannot hide a quiet spell. */
  const quietFor = (): number => Math.max(clock() - lastBeat, monotonic() - lastBeatMonotonic);
  const namesUs = (current: LockOwner | null): boolean => current?.pid === owner.pid && current.startedAt === owner.startedAt;
  const isOurs = (): boolean => {
    const text = readText(path);
    return namesUs(text === null ? null : parseOwner(text));
  };
  const lose = (why: string): void => {
    if (lost) return;
    lost = new PalyraError('PALYRA_STATE_LOCKED', `Lost the lock of state directory "${dirname(path)}": ${why}; this process stops writing to it`);
    clearInterval(heartbeat);
    options.onLost?.(lost);
  };
  /**
   * The heartbeat: a sign of life for a palyrad in another PID namespace (which cannot
   * probe our pid), and the check that the lock is still ours.
   * - The file names another process: the lock is lost.
   * - The file is gone: an operator deleted it (it is written again), unless we were quiet
   *   so long that a palyrad elsewhere may have judged us dead, taken the lock, written
   *   and let it go: then it is lost.
   * - The file names us: touched, then a takeover claim on it is looked for. A taker checks
   *   the touch again after claiming, so when the two race, at least one of us backs off.
   */
  const refresh = (): void => {
    if (lost || released) return;
    const quietMs = quietFor();
    const text = readText(path);
    const current = text === null ? null : parseOwner(text);
    if (text !== null && !namesUs(current)) {
      lose(`the lock file now names ${current ? `${current.command} (pid ${current.pid})` : 'no process'}`);
      return;
    }
    if (text === null) {
      if (quietMs >= MAY_BE_JUDGED_DEAD_MS) {
        lose(`its lock file is gone after this process had not refreshed it for ${Math.round(quietMs / 1000)} s (stopped, or busy), so another palyrad may have taken the directory over and written meanwhile`);
        return;
      }
      // Without the file any writer would take the lock at once: write it again.
      if (!createExclusive(path, serialize(owner))) {
        lose('another process created its lock file after it was removed');
        return;
      }
      options.onWarning?.(`lock file "${path}" was removed while this process held it; it was written again`);
    } else {
      utimesSync(path, new Date(), new Date());
      if (existsSync(takeoverClaimPath(path, text))) {
        lose('another palyrad is taking its lock over, judging this process dead after a quiet spell');
        return;
      }
      // A taker that replaced the file between our read and our touch (and dropped its
      // claim) is seen here; one that claims after this saw our touch, and backs off.
      const after = readText(path);
      if (after !== text) {
        const taker = after === null ? null : parseOwner(after);
        lose(`the lock file was replaced while this process refreshed it; it now names ${taker ? `${taker.command} (pid ${taker.pid})` : 'no process'}`);
        return;
      }
      if (quietMs >= MAY_BE_JUDGED_DEAD_MS) {
        options.onWarning?.(`this process had not refreshed its lock file "${path}" for ${Math.round(quietMs / 1000)} s (stopped, or busy); it still names this process, so nobody took it over`);
      }
    }
    lastBeat = clock();
    lastBeatMonotonic = monotonic();
  };
  const heartbeat = setInterval(() => {
    try {
      refresh();
    } catch {
      // A missed beat is retried next time; six in a row let a container elsewhere take the lock.
    }
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();
  const release = (): void => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    process.removeListener('exit', onExit);
    // Invariant: nobody replaces a live holder's lock, so between this check and the
    // removal only an operator editing the file by hand could put someone else's there.
    let ours = false;
    try {
      ours = isOurs();
    } catch {
      // Unreadable (something else in its place): not provably ours, so left alone.
    }
    if (ours) rmFile(path, 'remove lock file');
  };
  const onExit = (): void => {
    try {
      release();
    } catch {
      // Exiting anyway: a lock left behind names a dead process and is taken over next time.
    }
  };
  process.on('exit', onExit);
  const lock: StateLock = {
    path,
    get owner() {
      return owner;
    },
    update(patch) {
      if (released) throw new PalyraError('PALYRA_INTERNAL', `Cannot update lock file "${path}": it was released`);
      if (!isOurs()) throw new PalyraError('PALYRA_STATE_LOCKED', `Cannot update lock file "${path}": it no longer names this process`);
      const next = { ...owner, ...patch };
      replaceFile(path, serialize(next));
      owner = next;
    },
    release,
    assertHeld() {
      if (!lost && !released && quietFor() >= CHECK_BEFORE_WRITE_AFTER_MS) {
        try {
          refresh();
        } catch (error) {
          // An I/O hiccup is retried at the next write or beat, unless we may have been judged dead meanwhile.
          if (quietFor() >= MAY_BE_JUDGED_DEAD_MS) lose(`its lock file could not be checked after a quiet spell (${(error as Error).message})`);
        }
      }
      if (lost) throw lost;
      if (released) throw new PalyraError('PALYRA_INTERNAL', `The lock of state directory "${dirname(path)}" was released`);
    },
  };
  if (tookOverStaleFrom) lock.tookOverStaleFrom = tookOverStaleFrom;
  return lock;
}

/**
 * Creates `path` holding `text`, or returns false when it exists.
 * Invariant: the file never exists half-written. The text is fsynced to a unique temp file
 * first, then hard-linked into place, which fails with EEXIST exactly like O_EXCL; a plain
 * O_EXCL create would leave an empty file that a concurrent starter could judge garbage.
 */
function createExclusive(path: string, text: string): boolean {
  const tmp = writeTemp(path, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(`create lock file "${path}"`, error);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Replaces the stale file at `path`, whose content was `judged`, with `replacement` (or
 * removes it when null); returns false if another process did so first or is doing so now.
 * Invariant: one claim file per stale content, created exclusively, so exactly one process
 * replaces a given stale lock. While the claim is held nobody else may touch `judged` (its
 * owner is dead and creators need an empty path), so re-reading then renaming over it is
 * safe, and the path is never empty for a third process to slip into. A claim whose holder
 * died mid-takeover is itself stale content and is cleared the same way.
 */
function replaceStale(path: string, judged: string, replacement: string | null, claimant: string, stillDead: () => boolean = () => true): boolean {
  const claim = takeoverClaimPath(path, judged);
  if (!createExclusive(claim, claimant)) {
    const held = readText(claim);
    const holder = held === null ? null : parseOwner(held);
    if (held !== null && !(holder && judgeHolder(holder, claim) !== 'dead')) replaceStale(claim, held, null, claimant);
    return false;
  }
  try {
    if (readText(path) !== judged || !stillDead()) return false;
    if (replacement === null) rmFile(path, 'remove stale lock file');
    else replaceFile(path, replacement);
    return true;
  } finally {
    rmSync(claim, { force: true });
  }
}

/** The claim file of a takeover of the lock whose content is `judged`. */
function takeoverClaimPath(path: string, judged: string): string {
  return `${path}.takeover-${sha256Hex(judged).slice(0, 16)}`;
}

/** Whether `owner` is judged by its heartbeat from here (it runs in another PID namespace of this kernel). */
function heartbeatJudged(owner: LockOwner): boolean {
  const here = thisKernel();
  return owner.bootId !== undefined && owner.bootId === here.bootId && owner.pidNamespace !== undefined && here.pidNamespace !== undefined && owner.pidNamespace !== here.pidNamespace;
}

/**
 * Whether a lock's holder may still be running: `dead` (its lock may be taken over),
 * `alive` (checked), `unknown-host` (another machine: cannot be checked, counts as alive)
 * or `other-namespace` (this kernel, another PID namespace: alive while it keeps touching
 * its lock file).
 */
type HolderVerdict = 'dead' | 'alive' | 'unknown-host' | 'other-namespace';

function judgeHolder(owner: LockOwner, lockPath: string): HolderVerdict {
  const here = thisKernel();
  const sameKernel = owner.bootId !== undefined && owner.bootId === here.bootId;
  if (!sameKernel) {
    if (owner.hostname !== hostname()) return 'unknown-host';
    // This host booted again since the lock was written: nothing from before runs now.
    if (owner.bootId !== undefined && here.bootId !== undefined) return 'dead';
  } else if (heartbeatJudged(owner)) {
    // Its pid means nothing here (pid 1 in a container is init out here): judge by the heartbeat.
    return heartbeatAge(lockPath) < HEARTBEAT_STALE_MS ? 'other-namespace' : 'dead';
  }
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'dead';
  }
  const stat = procStatOf(owner.pid);
  // A zombie has exited; only its parent has not reaped it yet.
  if (stat && (stat.state === 'Z' || stat.state === 'X')) return 'dead';
  return owner.procStart === undefined || stat === undefined || stat.start === owner.procStart ? 'alive' : 'dead';
}

/** Milliseconds since the lock file was last written or touched; Infinity when it is gone. */
function heartbeatAge(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

let kernel: { bootId?: string; pidNamespace?: string } | undefined;

/** This process's kernel boot id and PID namespace (Linux; empty elsewhere). Fixed for a process's life. */
function thisKernel(): { bootId?: string; pidNamespace?: string } {
  if (kernel) return kernel;
  kernel = {};
  if (process.platform !== 'linux') return kernel;
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    if (bootId !== '') kernel.bootId = bootId;
  } catch {
    // Not mounted (some sandboxes): fall back to hostname and pid alone.
  }
  try {
    kernel.pidNamespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    // As above.
  }
  return kernel;
}

/** State (field 3) and start time (field 22) of /proc/<pid>/stat on Linux; undefined elsewhere or when unreadable. */
function procStatOf(pid: number): { state: string; start: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is parenthesised and may hold spaces or ')': count after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function lockedError(lockPath: string, owner: LockOwner, verdict: Exclude<HolderVerdict, 'dead'>): PalyraError {
  const since = new Date(owner.startedAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const holder = `State directory "${dirname(lockPath)}" is locked by ${owner.command}`;
  const message =
    verdict === 'unknown-host'
      ? `${holder} on host "${owner.hostname}" (pid ${owner.pid}, since ${since}): it cannot be checked from here; if you are sure it is not running, delete "${lockPath}"`
      : verdict === 'other-namespace'
        ? `${holder} in another PID namespace (a container?) on this machine (its pid ${owner.pid}, since ${since}): it cannot be checked from here; ` +
          `its lock is taken over once it has not been refreshed for ${HEARTBEAT_STALE_MS / 1000} s`
        : `${holder} (pid ${owner.pid}, since ${since}): ${owner.mode === 'serve' ? 'stop it first, or use the running daemon' : 'wait for it to finish, then try again'}`;
  return new PalyraError('PALYRA_STATE_LOCKED', message, { details: { lockPath, owner } });
}

function serialize(owner: LockOwner): string {
  return `${JSON.stringify({ version: LOCK_FORMAT_VERSION, ...owner })}\n`;
}

/** The owner in a lock file's text, or null for anything malformed. */
function parseOwner(text: string): LockOwner | null {
  let raw: Partial<Record<keyof LockOwner, unknown>> | null;
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const { pid, mode, command, startedAt, hostname: host, procStart, bootId, pidNamespace, port, url, tlsCert } = raw;
  // Security: kill(0 or a negative pid, 0) probes process groups and would make any
  // garbage lock look alive, so only positive integers are pids.
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  if (typeof mode !== 'string' || mode === '' || typeof command !== 'string' || typeof host !== 'string') return null;
  if (typeof startedAt !== 'number' || !Number.isFinite(startedAt)) return null;
  if ((procStart !== undefined && typeof procStart !== 'string') || (port !== undefined && !Number.isSafeInteger(port))) return null;
  if ((bootId !== undefined && typeof bootId !== 'string') || (pidNamespace !== undefined && typeof pidNamespace !== 'string')) return null;
  return {
    pid,
    mode,
    command,
    startedAt,
    hostname: host,
    ...(procStart === undefined ? {} : { procStart }),
    ...(bootId === undefined ? {} : { bootId }),
    ...(pidNamespace === undefined ? {} : { pidNamespace }),
    ...(port === undefined ? {} : { port: port as number }),
    // Only a URL of the daemon's own making: http(s) on a literal host, never anything else to dial.
    ...(typeof url === 'string' && /^https?:\/\/[\w.:[\]-]+:\d+$/.test(url) ? { url } : {}),
    ...(typeof tlsCert === 'string' ? { tlsCert } : {}),
  };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(`read lock file "${path}"`, error);
  }
}

/** Replaces `path` atomically, so readers always see a whole owner. */
function replaceFile(path: string, text: string): void {
  const tmp = writeTemp(path, text);
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw ioError(`write lock file "${path}"`, error);
  }
}

function rmFile(path: string, action: string): void {
  try {
    rmSync(path, { force: true });
  } catch (error) {
    throw ioError(`${action} "${path}"`, error);
  }
}

/** Writes `text` durably to a new, private sibling of `path` and returns its name. */
function writeTemp(path: string, text: string): string {
  const tmp = `${path}.new-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number;
  try {
    // Security: O_EXCL on a random name never follows a planted symlink; 0600 keeps it private.
    fd = openSync(tmp, 'wx', 0o600);
  } catch (error) {
    throw ioError(`create lock file "${path}"`, error);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw ioError(`write lock file "${path}"`, error);
  } finally {
    closeSync(fd);
  }
  return tmp;
}
