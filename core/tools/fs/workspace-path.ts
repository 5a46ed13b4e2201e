/**
 * Path confinement: turns a path a model asked for into a real path inside the workspace,
 * or refuses it with PALYRA_TOOL_FORBIDDEN.
 *
 * Security: three ways out are closed. `..` segments are refused outright (even ones that
 * would stay inside: after a symlinked directory `..` means something else physically
 * than lexically). Absolute paths are accepted only inside the workspace. Symlinks are
 * resolved with realpath of the deepest existing ancestor, so a link anywhere in the path
 * (a parent directory or the final component) that leads outside is refused. What is
 * left is the race between this check and the open; callers close it by opening with
 * O_NOFOLLOW and checking the opened descriptor (see `assertOpenedInside`).
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { PalyraError, workspacePathForm } from '../../base/index.ts';

/** A requested path, resolved and confined. */
export interface WorkspacePath {
  /** The real workspace root. */
  root: string;
  /** The real absolute path (its missing tail appended to the real deepest ancestor). */
  real: string;
  /** The path relative to the root with `/` separators; `.` for the root itself. */
  relative: string;
  /** True when the path exists (as anything, a symlink included). */
  exists: boolean;
  /** True when the requested path itself (its last component) is a symbolic link. */
  isSymlink: boolean;
}

/**
 * Resolves `requested` (relative to the workspace, or absolute inside it) to a real path.
 * @throws PalyraError PALYRA_TOOL_FORBIDDEN naming the path and the reason.
 */
export async function resolveWorkspacePath(workspace: string, requested: string): Promise<WorkspacePath> {
  const refuse = (reason: string): PalyraError =>
    new PalyraError('PALYRA_TOOL_FORBIDDEN', `Path "${requested}" is refused: ${reason}`, { details: { path: requested } });
  if (requested.includes('\0')) throw refuse('it contains a NUL byte');
  if (requested.split(/[\\/]/).includes('..')) throw refuse('".." segments are not allowed');
  // Security: never trust that the caller passed a real path; the comparison below needs one.
  const root = await realpath(workspace);
  let rel: string;
  if (isAbsolute(requested)) {
    const abs = normalize(requested);
    const inside = [root, normalize(workspace)].find((base) => isInside(base, abs));
    if (inside === undefined) throw refuse('it is an absolute path outside the workspace');
    rel = relative(inside, abs);
  } else {
    rel = normalize(requested);
  }
  const target = join(root, rel);

  // Walk up to the deepest ancestor that exists; the rest is created later, if at all.
  let existing = target;
  const missing: string[] = [];
  let isSymlink = false;
  for (;;) {
    try {
      const stat = await lstat(existing);
      if (missing.length === 0) isSymlink = stat.isSymbolicLink();
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || existing === root) throw error;
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
  let realExisting: string;
  try {
    realExisting = await realpath(existing);
  } catch {
    // lstat found it but realpath cannot follow it: a dangling or looping symlink.
    const to = await readlink(existing).catch(() => '?');
    throw refuse(`"${relative(root, existing) || '.'}" is a symbolic link to "${to}", which does not resolve`);
  }
  if (!isInside(root, realExisting)) throw refuse('it leads outside the workspace through a symbolic link');
  const real = join(realExisting, ...missing);
  const actedOn = toPosix(relative(root, real)) || '.';
  // Security: policies judged the path in its plain spelling (workspacePathForm); a call
  // that would touch another file (through a symbolic link inside the workspace, or the
  // workspace named by its real path) asks for that file by name instead.
  if (actedOn !== workspacePathForm(requested, workspace)) {
    throw refuse(`it leads to "${actedOn}" (through a symbolic link or another spelling of the workspace); ask for "${actedOn}", the path policies judge`);
  }
  return { root, real, relative: actedOn, exists: missing.length === 0, isSymlink };
}

/** True when `path` is `base` or below it (both absolute and normalized). */
export function isInside(base: string, path: string): boolean {
  const rel = relative(base, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Checks where an opened descriptor really is, via /proc/self/fd on Linux.
 * Security: closes the race between resolving a path and opening it (a directory swapped
 * for a symlink in between). Elsewhere it checks nothing; O_NOFOLLOW still guards the
 * last component.
 */
export async function assertOpenedInside(root: string, fd: number, requested: string): Promise<void> {
  if (process.platform !== 'linux') return;
  let opened: string;
  try {
    opened = await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return; // No /proc mounted: nothing to compare with.
  }
  if (!isInside(root, opened)) {
    throw new PalyraError('PALYRA_TOOL_FORBIDDEN', `Path "${requested}" is refused: it moved outside the workspace while being opened`);
  }
}

/**
 * Security: a regular file with more than one name may be a hard link to a file outside
 * the workspace (linking a file one owns needs no permission on it, and the path checks
 * above see only the name inside). Which other names it has cannot be found cheaply, so a
 * read or an in-place write of such a file is refused; `overwrite` is safe (its rename
 * replaces the link, not the file behind it).
 */
export function assertSingleLink(stat: { isFile(): boolean; nlink: number | bigint }, requested: string): void {
  if (stat.isFile() && Number(stat.nlink) > 1) {
    throw new PalyraError(
      'PALYRA_TOOL_FORBIDDEN',
      `Path "${requested}" is refused: the file has ${stat.nlink} hard links, and another of its names may lie outside the workspace (a copy of it can be used)`,
    );
  }
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}
