/**
 * Signalling and killing whole process groups. Every process `process.run` spawns leads
 * its own group (spawned with `detached: true`, i.e. setsid), so its children and
 * grandchildren share the group id and one signal to `-pgid` reaches all of them.
 *
 * Security: a process that calls setsid() itself leaves the group and escapes this; only
 * a cgroup or a pid namespace catches those (see the tool's documentation).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { liveGroupMembers } from './proc-stat.ts';

/** Sends `signal` to every process of group `pgid`; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // Invariant: pgid > 1. Signalling -1 or -0 would reach every process we may signal.
  if (!Number.isSafeInteger(pgid) || pgid <= 1) throw new RangeError(`Refusing to signal process group ${pgid}`);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') return true; // It exists; some member is not ours to signal.
    throw error;
  }
}

/**
 * True while a member of the group has not exited. Zombies do not count: where pid 1
 * does not reap orphans (many containers), killed grandchildren stay zombies forever,
 * and signal 0 alone would report the group alive.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  const members = liveGroupMembers(pgid);
  return members === undefined ? true : members.length > 0;
}

/** How often a group being killed is checked for having exited. */
const POLL_MS = 20;

/**
 * Kills a process group: SIGTERM so its processes may clean up, then, if any is still
 * running after `graceMs`, SIGKILL. Resolves once the group is gone or SIGKILL was sent
 * (a SIGKILLed process cannot refuse; it may take a moment to be torn down).
 */
export async function killProcessGroup(pgid: number, options: { graceMs: number }): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = performance.now() + options.graceMs;
  while (performance.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await delay(POLL_MS);
  }
  signalGroup(pgid, 'SIGKILL');
}
