/**
 * A directory inside the workspace opened and held by its descriptor, so that names under
 * it resolve in that very directory whatever happens to its path meanwhile: `openat` by
 * way of Linux's /proc/self/fd (Node has no openat; the kernel resolves
 * `/proc/self/fd/N/name` through the descriptor, not through the path it was opened by).
 *
 * Security: resolving a path and then creating something at it leaves a window in which
 * a process in the workspace (a tool the model ran) swaps a directory on the way for a
 * symbolic link to somewhere else; the creation then lands there. Walking down from the
 * workspace root one component at a time, each opened with O_NOFOLLOW relative to the
 * one before, closes that window: no component is ever looked up by path again.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PalyraError } from '../../base/index.ts';

const { O_RDONLY, O_DIRECTORY = 0, O_NOFOLLOW = 0 } = constants;

/** Where a tool creates, opens and renames names of one directory. */
export interface DirAccess {
  /** The path by which `name` in this directory is reached. */
  entry(name: string): string;
  close(): Promise<void>;
}

let pinningWorks: boolean | undefined;

/**
 * True when descriptors can be reached as /proc/self/fd/N here (Linux with /proc mounted,
 * under Node or Deno). Probed once on `/`, which always exists: a probe on a workspace
 * that is missing or unreadable at that moment must not turn pinning off for good.
 */
async function canPin(): Promise<boolean> {
  if (pinningWorks !== undefined) return pinningWorks;
  if (process.platform !== 'linux' || O_DIRECTORY === 0 || O_NOFOLLOW === 0) return (pinningWorks = false);
  let handle: FileHandle | undefined;
  try {
    handle = await open('/', O_RDONLY | O_DIRECTORY);
    pinningWorks = (await readlink(`/proc/self/fd/${handle.fd}`)) === '/';
  } catch {
    pinningWorks = false;
  } finally {
    await handle?.close();
  }
  return pinningWorks;
}

/**
 * Opens the directory at `relativeDir` (`/`-separated, `.` for the root itself) under the
 * real workspace `root`, creating missing directories when `create`, each component
 * looked up in the one opened before it. A component that is (now) a symbolic link is
 * refused with PALYRA_TOOL_FORBIDDEN; one that is a file fails with ENOTDIR, as mkdir
 * would. Where descriptors cannot be pinned, falls back to plain paths (checked once
 * by the caller's path resolution only).
 */
export async function openWorkspaceDir(root: string, relativeDir: string, options: { create: boolean; requested: string }): Promise<DirAccess> {
  const parts = relativeDir === '.' || relativeDir === '' ? [] : relativeDir.split('/');
  if (!(await canPin())) {
    const dir = join(root, ...parts);
    if (options.create && parts.length > 0) await mkdirPlain(dir);
    return { entry: (name) => join(dir, name), close: async () => undefined };
  }
  let current = await open(root, O_RDONLY | O_DIRECTORY);
  try {
    for (const part of parts) {
      const next = await openComponent(current, part, options);
      await current.close();
      current = next;
    }
  } catch (error) {
    await current.close();
    throw error;
  }
  const held = current;
  return { entry: (name) => `/proc/self/fd/${held.fd}/${name}`, close: () => held.close() };
}

async function openComponent(parent: FileHandle, name: string, options: { create: boolean; requested: string }): Promise<FileHandle> {
  const at = `/proc/self/fd/${parent.fd}/${name}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await open(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && options.create && attempt === 0) {
        // Another writer may create it meanwhile; the open after is what counts.
        await mkdir(at).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        continue;
      }
      if (code === 'ENOTDIR' || code === 'ELOOP') {
        const stat = await lstat(at).catch(() => null);
        if (stat?.isSymbolicLink()) {
          throw new PalyraError('PALYRA_TOOL_FORBIDDEN', `Path "${options.requested}" is refused: "${name}" on its way became a symbolic link while it was being opened`, {
            details: { path: options.requested },
          });
        }
        throw Object.assign(new Error(`ENOTDIR: not a directory, open "${name}"`), { code: 'ENOTDIR', cause: error });
      }
      throw error;
    }
  }
}

/**
 * mkdir -p where descriptors cannot be pinned. mkdir says EEXIST when the parent itself
 * is an existing file (`f.txt/x`); that is reported as ENOTDIR, as for a file further up.
 */
async function mkdirPlain(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw Object.assign(new Error('ENOTDIR: not a directory, mkdir'), { code: 'ENOTDIR', cause: error });
  }
}
