/**
 * The tools' workspace (`tools.workspace`): checked before the daemon locks its state
 * directory (and by `config check`), created once it holds the lock. Checking cannot
 * create it: the default workspace is inside the state directory, which must not be
 * created before its own checks.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PalyraError } from '../base/index.ts';

/**
 * Whether the workspace at `path` (absolute) exists as a folder or could be created: the
 * nearest existing part of the path must be a folder this process may write into.
 * @throws PalyraError PALYRA_IO naming tools.workspace and the part that is in the way.
 */
export function checkWorkspace(path: string): void {
  let at = path;
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(at).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a part above is a file; walking up finds it.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(at) !== at) {
        at = dirname(at);
        continue;
      }
      throw refuse(path, `"${at}" cannot be read (${code ?? 'unreadable'})`, error);
    }
    if (!isDirectory) throw refuse(path, at === path ? 'it is not a folder' : `"${at}" is a file, not a folder`);
    if (at === path) return;
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
    } catch (error) {
      throw refuse(path, `cannot create folders in "${at}" (${(error as NodeJS.ErrnoException).code ?? 'denied'})`, error);
    }
    return;
  }
}

/**
 * Creates the workspace (mode 0700) when missing.
 * @throws PalyraError PALYRA_IO naming tools.workspace.
 */
export function createWorkspace(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw refuse(path, (error as NodeJS.ErrnoException).code ?? (error as Error).message, error);
  }
}

function refuse(path: string, why: string, cause?: unknown): PalyraError {
  return new PalyraError('PALYRA_IO', `Cannot use tools.workspace "${path}": ${why}`, { cause });
}
