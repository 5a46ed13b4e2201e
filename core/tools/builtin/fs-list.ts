/**
 * `fs.list`: lists a directory inside the workspace, optionally recursively, without
 * following symbolic links.
 */
import { constants, existsSync, type Dirent } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonValue } from '../../base/index.ts';
import { fsFailure, fsRefusal } from '../fs/fs-failure.ts';
import { assertOpenedInside, resolveWorkspacePath } from '../fs/workspace-path.ts';
import { DEFAULT_LIMITS, type ToolDefinition } from '../tool.ts';
import { PATH_SCHEMA } from './fs-read.ts';
import { JsonListBudget } from './json-list-budget.ts';

/** Options of `fs.list`. */
export interface FsListOptions {
  /** Most entries one call returns; also the largest `maxEntries` a call may ask for (default 1000). */
  maxEntries?: number;
}

/** Input of `fs.list`. */
export interface FsListInput {
  path: string;
  recursive?: boolean;
  maxEntries?: number;
}

/** One listed entry; `path` is relative to the workspace root. */
export interface FsListEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Bytes, for files only. */
  size?: number;
}

// Reading a directory through its open descriptor pins the directory that was checked.
const viaProc = process.platform === 'linux' && existsSync('/proc/self/fd');

/** Creates `fs.list`. */
export function createFsListTool(options: FsListOptions = {}): ToolDefinition<FsListInput> {
  const maxEntries = options.maxEntries ?? 1000;
  const limits = { ...DEFAULT_LIMITS };
  return {
    name: 'fs.list',
    description:
      'List a directory in the workspace, sorted by name; with recursive, breadth-first through subdirectories ' +
      `(symbolic links are listed, never followed). At most maxEntries (≤ ${maxEntries}) and 1 MiB of output; "truncated" says when there were more.`,
    inputSchema: {
      type: 'object',
      properties: {
        path: { ...PATH_SCHEMA, description: 'Directory relative to the workspace; "." for its root.' },
        recursive: { type: 'boolean' },
        maxEntries: { type: 'integer', minimum: 1, maximum: maxEntries },
      },
      required: ['path'],
      additionalProperties: false,
    },
    capabilities: ['fs_read'],
    risk: 'low',
    parallelSafe: true,
    limits,
    async run(input, context) {
      const target = await resolveWorkspacePath(context.workspace, input.path);
      if (!target.exists) throw fsRefusal('list', input.path, 'it does not exist');
      const limit = input.maxEntries ?? maxEntries;
      const entries: FsListEntry[] = [];
      // Long or heavily escaped names can pass the output cap well before `limit` entries.
      const budget = new JsonListBudget(limits.maxOutputBytes, { path: target.relative, entries: [], truncated: true });
      // Breadth-first, so a truncated listing still shows the top of the tree.
      const queue: { real: string; rel: string }[] = [{ real: target.real, rel: target.relative }];
      let truncated = false;
      try {
        for (let dir = queue.shift(); dir !== undefined && !truncated; dir = queue.shift()) {
          const names = await readDirectory(target.root, dir.real, input.path);
          for (const dirent of names) {
            const rel = dir.rel === '.' ? dirent.name : `${dir.rel}/${dirent.name}`;
            const real = join(dir.real, dirent.name);
            const entry = entries.length < limit ? await describe(dirent, rel, real) : null;
            if (entry === null || !budget.admit(entry)) {
              truncated = true;
              break;
            }
            entries.push(entry);
            if (input.recursive === true && entry.type === 'dir') queue.push({ real, rel });
          }
        }
      } catch (error) {
        throw fsFailure('list', input.path, error);
      }
      const output: Record<string, JsonValue> = { path: target.relative, entries: entries as unknown as JsonValue[], truncated };
      return output;
    },
  };
}

/** The entries of one directory, sorted by name, read through a checked descriptor. */
async function readDirectory(root: string, real: string, requested: string): Promise<Dirent[]> {
  let handle;
  try {
    // Security: O_NOFOLLOW | O_DIRECTORY: a directory swapped for a symlink since it was
    // listed by its parent fails here instead of being followed.
    handle = await open(real, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw fsRefusal('list', requested, 'it is not a directory');
    throw error;
  }
  try {
    await assertOpenedInside(root, handle.fd, requested);
    const dirents = await readdir(viaProc ? `/proc/self/fd/${handle.fd}` : real, { withFileTypes: true });
    return dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } finally {
    await handle.close();
  }
}

async function describe(dirent: Dirent, rel: string, real: string): Promise<FsListEntry> {
  if (dirent.isSymbolicLink()) return { path: rel, type: 'symlink' };
  if (dirent.isDirectory()) return { path: rel, type: 'dir' };
  if (!dirent.isFile()) return { path: rel, type: 'other' };
  const stat = await lstat(real).catch(() => null); // Removed meanwhile: listed without a size.
  return stat === null ? { path: rel, type: 'file' } : { path: rel, type: 'file', size: stat.size };
}
