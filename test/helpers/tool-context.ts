import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolContext } from '../../core/tools/index.ts';
import { tempDir } from './temp-dir.ts';

/** A fresh workspace and state directory side by side, and a ToolContext over them. */
export function toolContext(options: { signal?: AbortSignal } = {}): ToolContext & { outside: string } {
  const base = realpathSync(tempDir('palyra-tools-'));
  const workspace = join(base, 'workspace');
  const stateDir = join(base, 'state');
  const outside = join(base, 'outside');
  for (const dir of [workspace, stateDir, outside]) mkdirSync(dir);
  return { workspace, stateDir, outside, signal: options.signal ?? new AbortController().signal, sessionId: 'session-1' };
}
