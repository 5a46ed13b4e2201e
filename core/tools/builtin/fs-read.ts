/**
 * `fs.read`: reads a file inside the workspace, up to a byte cap.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { PalyraError, type JsonValue } from '../../base/index.ts';
import { fsFailure, fsRefusal } from '../fs/fs-failure.ts';
import { openWorkspaceDir } from '../fs/pinned-dir.ts';
import { assertOpenedInside, assertSingleLink, resolveWorkspacePath } from '../fs/workspace-path.ts';
import { DEFAULT_LIMITS, type ToolDefinition } from '../tool.ts';
import { decodeForModel, jsonBudget } from './capped-text.ts';

/** Options of `fs.read`. */
export interface FsReadOptions {
  /** Most bytes one call returns; also the largest `maxBytes` a call may ask for (default 1 MiB). */
  maxReadBytes?: number;
}

/** Input of `fs.read`. */
export interface FsReadInput {
  path: string;
  maxBytes?: number;
}

/** Largest path accepted by every fs tool, in characters (PATH_MAX on Linux is 4096 bytes). */
export const MAX_PATH_LENGTH = 4096;

/** JSON Schema of a workspace path: non-empty, bounded, no NUL. */
export const PATH_SCHEMA = { type: 'string', minLength: 1, maxLength: MAX_PATH_LENGTH, pattern: '^[^\\u0000]*$' } as const;

/** Creates `fs.read`. */
export function createFsReadTool(options: FsReadOptions = {}): ToolDefinition<FsReadInput> {
  const maxReadBytes = options.maxReadBytes ?? 1024 * 1024;
  return {
    name: 'fs.read',
    description:
      'Read a file in the workspace. Returns its content as UTF-8 text, or base64 when it is not valid UTF-8, ' +
      `up to maxBytes (at most ${maxReadBytes}); "truncated" says when the file is longer.`,
    inputSchema: {
      type: 'object',
      properties: {
        path: { ...PATH_SCHEMA, description: 'Path relative to the workspace (or absolute inside it).' },
        maxBytes: { type: 'integer', minimum: 1, maximum: maxReadBytes, description: 'Read at most this many bytes.' },
      },
      required: ['path'],
      additionalProperties: false,
    },
    capabilities: ['fs_read'],
    risk: 'low',
    parallelSafe: true,
    limits: { ...DEFAULT_LIMITS, maxOutputBytes: jsonBudget(maxReadBytes) },
    async run(input, context) {
      const target = await resolveWorkspacePath(context.workspace, input.path);
      if (!target.exists) throw fsRefusal('read', input.path, 'it does not exist');
      const limit = input.maxBytes ?? maxReadBytes;
      let handle;
      try {
        // Security: opened in its pinned parent directory, so a directory on the way
        // swapped for a symlink after the check cannot make this open a file (a device)
        // elsewhere; O_NOFOLLOW refuses a symlink swapped in for the file itself;
        // O_NONBLOCK keeps a FIFO planted in the workspace from hanging the open.
        const dir = await openWorkspaceDir(target.root, posix.dirname(target.relative), { create: false, requested: input.path });
        try {
          handle = await open(dir.entry(posix.basename(target.relative)), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
        } finally {
          await dir.close();
        }
      } catch (error) {
        if (error instanceof PalyraError) throw error;
        throw fsFailure('read', input.path, error);
      }
      try {
        const stat = await handle.stat();
        if (stat.isDirectory()) throw fsRefusal('read', input.path, 'it is a directory; use fs.list');
        if (!stat.isFile()) throw fsRefusal('read', input.path, 'it is not a regular file', 'PALYRA_TOOL_FORBIDDEN');
        assertSingleLink(stat, input.path);
        await assertOpenedInside(target.root, handle.fd, input.path);
        const buffer = new Uint8Array(Math.min(stat.size, limit));
        let filled = 0;
        while (filled < buffer.length) {
          const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        const truncated = stat.size > limit;
        const { text, encoding } = decodeForModel(buffer.subarray(0, filled), truncated);
        const output: Record<string, JsonValue> = { path: target.relative, content: text, encoding, bytes: filled, size: stat.size, truncated };
        return output;
      } catch (error) {
        throw fsFailure('read', input.path, error);
      } finally {
        await handle.close();
      }
    },
  };
}
