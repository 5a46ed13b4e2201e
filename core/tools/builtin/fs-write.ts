/**
 * `fs.write`: creates, replaces or appends to a file inside the workspace.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, posix } from 'node:path';
import { PalyraError, type JsonValue } from '../../base/index.ts';
import { fsFailure, fsRefusal } from '../fs/fs-failure.ts';
import { openWorkspaceDir, type DirAccess } from '../fs/pinned-dir.ts';
import { assertOpenedInside, assertSingleLink, resolveWorkspacePath, type WorkspacePath } from '../fs/workspace-path.ts';
import { DEFAULT_LIMITS, type ToolDefinition } from '../tool.ts';
import { jsonBudget } from './capped-text.ts';
import { PATH_SCHEMA } from './fs-read.ts';

/** Options of `fs.write`. */
export interface FsWriteOptions {
  /** Most UTF-8 bytes of content one call may write (default 1 MiB). */
  maxWriteBytes?: number;
}

/** How `fs.write` treats an existing file. */
export type FsWriteMode = 'create' | 'overwrite' | 'append';

/** Input of `fs.write`. */
export interface FsWriteInput {
  path: string;
  content: string;
  mode: FsWriteMode;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Creates `fs.write`. */
export function createFsWriteTool(options: FsWriteOptions = {}): ToolDefinition<FsWriteInput> {
  const maxWriteBytes = options.maxWriteBytes ?? 1024 * 1024;
  return {
    name: 'fs.write',
    description:
      'Write UTF-8 text to a file in the workspace. mode "create" fails if the file exists, "overwrite" replaces it ' +
      `atomically, "append" adds to its end; missing parent directories are created. At most ${maxWriteBytes} bytes.`,
    inputSchema: {
      type: 'object',
      properties: {
        path: { ...PATH_SCHEMA, description: 'Path relative to the workspace (or absolute inside it).' },
        // Characters never outnumber UTF-8 bytes, so this bound is necessary; run() checks bytes.
        content: { type: 'string', maxLength: maxWriteBytes },
        mode: { enum: ['create', 'overwrite', 'append'] },
      },
      required: ['path', 'content', 'mode'],
      additionalProperties: false,
    },
    capabilities: ['fs_write'],
    risk: 'medium',
    parallelSafe: false,
    limits: { ...DEFAULT_LIMITS, maxInputBytes: jsonBudget(maxWriteBytes) },
    async run(input, context) {
      const data = Buffer.from(input.content, 'utf8');
      if (data.length > maxWriteBytes) {
        throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', `Invalid input for "fs.write": /content is ${data.length} bytes; the limit is ${maxWriteBytes} bytes`);
      }
      const target = await resolveWorkspacePath(context.workspace, input.path);
      if (target.relative === '.') throw fsRefusal('write', input.path, 'it is the workspace itself', 'PALYRA_TOOL_FORBIDDEN');
      // Security: a link inside the workspace may point anywhere later; never write through one.
      if (target.isSymlink) throw fsRefusal('write', input.path, 'it is a symbolic link, and fs.write never writes through one', 'PALYRA_TOOL_FORBIDDEN');
      try {
        // Everything is created through the pinned parent directory: a directory on the
        // way swapped for a symlink after the path was resolved cannot redirect it.
        const dir = await openWorkspaceDir(target.root, posix.dirname(target.relative), { create: !target.exists, requested: input.path });
        try {
          const created = input.mode === 'overwrite' ? await replaceAtomically(dir, target, data, input.path) : await writeInPlace(dir, target, data, input);
          const output: Record<string, JsonValue> = { path: target.relative, mode: input.mode, bytes: data.length, created };
          return output;
        } finally {
          await dir.close();
        }
      } catch (error) {
        if (error instanceof PalyraError) throw error;
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw fsRefusal('write', input.path, 'it exists already; use mode "overwrite" or "append"');
        }
        if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw fsRefusal('write', input.path, 'it is a directory');
        throw fsFailure('write', input.path, error);
      }
    },
  };
}

/** `create` (O_EXCL) and `append`; returns whether the file was created. */
async function writeInPlace(dir: DirAccess, target: WorkspacePath, data: Buffer, input: FsWriteInput): Promise<boolean> {
  const flags = input.mode === 'create' ? O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW : O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK;
  const handle = await open(dir.entry(basename(target.real)), flags, 0o644);
  try {
    await checkRegularInside(handle, target, input.path);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
  return !target.exists;
}

/**
 * `overwrite`: writes a temporary file beside the target, fsyncs it and renames it over
 * the target, so a reader (or a crash) sees the old content or the new, never half.
 * rename replaces a symlink rather than following it, so this path cannot write through one.
 */
async function replaceAtomically(dir: DirAccess, target: WorkspacePath, data: Buffer, requested: string): Promise<boolean> {
  const name = basename(target.real);
  const tmp = dir.entry(`.${name}.${randomBytes(6).toString('hex')}.tmp`);
  let mode = 0o644;
  if (target.exists) {
    const existing = await open(dir.entry(name), constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const stat = await existing.stat();
      if (stat.isDirectory()) throw fsRefusal('write', requested, 'it is a directory');
      if (!stat.isFile()) throw fsRefusal('write', requested, 'it is not a regular file', 'PALYRA_TOOL_FORBIDDEN');
      mode = stat.mode & 0o777; // Replacing content should not change who may read it.
    } finally {
      await existing.close();
    }
  }
  const handle = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      await assertOpenedInside(target.root, handle.fd, requested);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, dir.entry(name));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return !target.exists;
}

async function checkRegularInside(handle: FileHandle, target: WorkspacePath, requested: string): Promise<void> {
  const stat = await handle.stat();
  if (!stat.isFile()) throw fsRefusal('write', requested, 'it is not a regular file', 'PALYRA_TOOL_FORBIDDEN');
  assertSingleLink(stat, requested);
  await assertOpenedInside(target.root, handle.fd, requested);
}
