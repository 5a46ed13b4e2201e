import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PalyraError } from '../base/index.ts';

/**
 * Refuses a tools workspace that overlaps the state directory.
 *
 * Security: the file tools may read and write anywhere in their workspace. A workspace
 * that is the state directory, or holds it (a home folder holding `~/.local/state/palyra`),
 * would let an agent read the tokens and rewrite the policies that judge it, or the
 * journal. Inside the state directory only `<state>/workspace` (the default) and what is
 * below it may be a workspace. Symbolic links are resolved where the paths exist.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT naming `what` and the overlap.
 */
export function assertWorkspaceApart(workspace: string, stateDir: string, what = 'tools.workspace'): void {
  const w = realOrResolved(workspace);
  const s = realOrResolved(stateDir);
  const refuse = (why: string): PalyraError => new PalyraError('PALYRA_INVALID_ARGUMENT', `Cannot use ${what} "${workspace}": ${why}`);
  if (w === s) throw refuse('it is the state directory');
  if (isWithin(w, s)) throw refuse(`it holds the state directory "${stateDir}", whose tokens, policies and journal the file tools could then read and change`);
  if (isWithin(s, w) && !isWithin(join(s, 'workspace'), w) && w !== join(s, 'workspace')) {
    throw refuse(`it lies inside the state directory "${stateDir}"; only its "workspace" folder may be a workspace`);
  }
}

/** True when `path` is strictly below `base`. */
function isWithin(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The real path of `path`, its missing tail kept: the deepest existing ancestor is resolved. */
function realOrResolved(path: string): string {
  const absolute = resolve(path);
  const missing: string[] = [];
  let at = absolute;
  for (;;) {
    try {
      return join(realpathSync(at), ...missing);
    } catch {
      const parent = dirname(at);
      if (parent === at) return absolute;
      missing.unshift(at.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      at = parent;
    }
  }
}
