/**
 * Which executables `process.run` may start, and where they are. An operator lists bare
 * names (found on the configured search path) and absolute paths; anything else is
 * refused before a process exists.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { PalyraError } from '../../base/index.ts';
import { isInside } from '../fs/workspace-path.ts';

/** An allowlist as configured, checked and split once. */
export interface ExecutableAllowlist {
  names: ReadonlySet<string>;
  paths: ReadonlySet<string>;
  /** Absolute directories searched for bare names, in order. */
  searchDirs: readonly string[];
}

/**
 * Checks an operator's allowlist and search path.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT for a relative path with a slash, or a
 *   relative search directory (which would resolve against the cwd: the workspace, where
 *   the agent can write).
 */
export function compileAllowlist(entries: readonly string[], searchPath: string): ExecutableAllowlist {
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const entry of entries) {
    if (isAbsolute(entry)) paths.add(normalize(entry));
    else if (entry !== '' && !entry.includes('/')) names.add(entry);
    else throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Executable "${entry}" cannot be allowed: list a bare name or an absolute path`);
  }
  const searchDirs = searchPath.split(':').filter((d) => d !== '');
  for (const dir of searchDirs) {
    if (!isAbsolute(dir)) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Search path entry "${dir}" must be absolute`);
  }
  return { names, paths, searchDirs };
}

/**
 * The absolute path to start for `argv0`.
 * @throws PalyraError PALYRA_TOOL_FORBIDDEN when it is not allowed, cannot be found, or
 *   lies inside the workspace.
 */
export async function resolveExecutable(argv0: string, allowlist: ExecutableAllowlist, workspace: string): Promise<string> {
  const refuse = (reason: string): PalyraError =>
    new PalyraError('PALYRA_TOOL_FORBIDDEN', `Executable "${argv0}" is refused: ${reason}`, { details: { executable: argv0 } });
  let resolved: string | undefined;
  if (isAbsolute(argv0)) {
    if (!allowlist.paths.has(normalize(argv0))) throw refuse('it is not on the allowlist');
    if (!(await isExecutableFile(argv0))) throw refuse('it is not an executable file');
    resolved = normalize(argv0);
  } else if (argv0.includes('/')) {
    throw refuse('give a bare name or an absolute path');
  } else {
    if (!allowlist.names.has(argv0) && allowlist.paths.size === 0) throw refuse('it is not on the allowlist');
    for (const dir of allowlist.searchDirs) {
      const candidate = join(dir, argv0);
      if (await isExecutableFile(candidate)) {
        resolved = candidate;
        break;
      }
    }
    if (resolved === undefined) {
      throw refuse(allowlist.names.has(argv0) ? 'it is not found on the search path' : 'it is not on the allowlist');
    }
    // An allowed name, or a name that resolves to an allowed absolute path.
    if (!allowlist.names.has(argv0) && !allowlist.paths.has(resolved)) throw refuse('it is not on the allowlist');
  }
  // Security: a binary the agent planted in its own workspace must never run, whatever
  // the search path says.
  const [real, root] = await Promise.all([realpath(resolved), realpath(workspace)]);
  if (isInside(root, real)) throw refuse('it lies inside the workspace');
  return resolved;
}

async function isExecutableFile(path: string): Promise<boolean> {
  const [executable, info] = await Promise.all([access(path, constants.X_OK).then(() => true, () => false), stat(path).catch(() => null)]);
  return executable && info !== null && info.isFile();
}
