/**
 * PID files of spawned processes, `<stateDir>/run/pids/<pid>.json`: written when a
 * process starts, removed when its group is gone. A daemon that crashed leaves them
 * behind; on the next start `reapStalePids` kills what is left of those groups.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { groupAlive, signalGroup } from './process-group.ts';
import { liveGroupMembers, procStartOf } from './proc-stat.ts';

/** Version of the PID file format. */
export const PID_FILE_VERSION = 1;

/** One PID file. */
export interface PidRecord {
  pid: number;
  /** Equal to pid: every spawned process leads its own group. */
  pgid: number;
  argv: string[];
  /** Unix milliseconds. */
  startedAt: number;
  /** /proc start time of the process, to tell it from a later process given the same pid. */
  procStart?: string;
  /** The daemon that spawned it: its processes are stale only once it is gone. */
  owner: { pid: number; procStart?: string };
}

/** What `reapStalePids` did with one PID file. */
export interface ReapedPid {
  file: string;
  record: PidRecord | null;
  action:
    /** The group was still running and was killed with SIGKILL. */
    | 'killed'
    /** Nothing of the group was left. */
    | 'gone'
    /** The pid now belongs to another process: nothing killed. */
    | 'reused'
    /** The group exists but cannot be shown to be ours (no /proc start time): nothing killed. */
    | 'unverified'
    /** The daemon that spawned it is still running: left alone, file kept. */
    | 'owned'
    /** The file was unreadable or malformed. */
    | 'invalid';
}

/** The folder of PID files in a state directory. */
export function pidDir(stateDir: string): string {
  return join(stateDir, 'run', 'pids');
}

/** Creates the PID folder (owner-only); call before spawning so a failure happens first. */
export function ensurePidDir(stateDir: string): string {
  const dir = pidDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Writes a PID file atomically (tmp + rename), so the reaper never reads half of one.
 * Not fsync'd: it guards against the daemon dying, not the machine (a reboot kills the
 * processes anyway).
 */
export function writePidFile(stateDir: string, record: PidRecord): string {
  const dir = ensurePidDir(stateDir);
  const file = join(dir, `${record.pid}.json`);
  const tmp = join(dir, `.${record.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, `${JSON.stringify({ version: PID_FILE_VERSION, ...record })}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
  return file;
}

/** Removes a PID file; idempotent. */
export function removePidFile(stateDir: string, pid: number): void {
  rmSync(join(pidDir(stateDir), `${pid}.json`), { force: true });
}

/**
 * Kills the process groups left by a daemon that is gone, and removes their PID files.
 * A group is killed only when its leader's /proc start time matches the file, or, with the
 * leader gone, when every remaining member started after it (a pid is not reused while its
 * group exists). Call once on start, before spawning anything.
 */
export function reapStalePids(stateDir: string): ReapedPid[] {
  let names: string[];
  try {
    names = readdirSync(pidDir(stateDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const done: ReapedPid[] = [];
  for (const name of names.sort()) {
    const file = join(pidDir(stateDir), name);
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      rmSync(file, { force: true }); // A write cut short by a crash.
      continue;
    }
    if (!name.endsWith('.json')) continue;
    const record = readRecord(file);
    const action = record === null ? 'invalid' : reapOne(record);
    if (action !== 'owned') rmSync(file, { force: true });
    done.push({ file, record, action });
  }
  return done;
}

function reapOne(record: PidRecord): ReapedPid['action'] {
  if (ownerAlive(record.owner)) return 'owned';
  if (!groupAlive(record.pgid)) return 'gone';
  if (record.procStart === undefined) return 'unverified';
  const leaderStart = procStartOf(record.pid);
  if (leaderStart !== undefined) {
    if (leaderStart !== record.procStart) return 'reused';
  } else {
    const members = liveGroupMembers(record.pgid);
    if (members === undefined) return 'unverified';
    // Start times are clock ticks since boot; a member older than our leader is not ours.
    if (members.some((m) => BigInt(m.startTime) < BigInt(record.procStart as string))) return 'reused';
  }
  signalGroup(record.pgid, 'SIGKILL');
  return 'killed';
}

function ownerAlive(owner: PidRecord['owner']): boolean {
  // Our own pid is no proof either: a daemon restarted after a crash can get the pid the
  // crashed one had; the start time tells them apart.
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = procStartOf(owner.pid);
  return owner.procStart === undefined || start === undefined || start === owner.procStart;
}

function readRecord(file: string): PidRecord | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<PidRecord> & { version?: unknown };
    const ok =
      value.version === PID_FILE_VERSION &&
      Number.isSafeInteger(value.pid) &&
      Number.isSafeInteger(value.pgid) &&
      (value.pgid as number) > 1 &&
      Array.isArray(value.argv) &&
      typeof value.startedAt === 'number' &&
      (value.procStart === undefined || /^\d+$/.test(value.procStart)) &&
      typeof value.owner === 'object' &&
      value.owner !== null &&
      Number.isSafeInteger(value.owner.pid);
    if (!ok) return null;
    const { version: _, ...record } = value;
    return record as PidRecord;
  } catch {
    return null;
  }
}
