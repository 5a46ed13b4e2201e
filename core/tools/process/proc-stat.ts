/**
 * What Linux's /proc says about a process: its state, process group and start time.
 * Elsewhere every function answers "unknown" (undefined) and callers fall back to
 * signal 0, which cannot tell a zombie from a live process.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat palyrad uses. */
export interface ProcStat {
  pid: number;
  /** One letter: R running, S sleeping, Z zombie, X dead, T stopped, … */
  state: string;
  pgid: number;
  /** Field 22, start time in clock ticks since boot: with the pid, identifies a process across pid reuse. */
  startTime: string;
}

const hasProc = process.platform === 'linux';

/** Parses /proc/<pid>/stat; undefined when there is no such process or no /proc. */
export function procStat(pid: number): ProcStat | undefined {
  if (!hasProc) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is parenthesised and may hold spaces or ')': count after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, pgid, startTime] = [fields[0], fields[2], fields[19]];
  if (state === undefined || pgid === undefined || startTime === undefined) return undefined;
  return { pid, state, pgid: Number(pgid), startTime };
}

/** The start time of a process (see ProcStat.startTime), or undefined when unknown. */
export function procStartOf(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/** True for a process that has exited but not been reaped (or is being torn down). */
export function isZombie(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}

/**
 * The processes of a group that have not exited, with their stats; undefined without /proc.
 * Scans /proc: O(processes on the host), a few milliseconds, so callers poll it only
 * while a group is being killed.
 */
export function liveGroupMembers(pgid: number): ProcStat[] | undefined {
  if (!hasProc) return undefined;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const members: ProcStat[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue; // Not a pid directory.
    const stat = procStat(Number(name));
    if (stat !== undefined && stat.pgid === pgid && !isZombie(stat)) members.push(stat);
  }
  return members;
}
