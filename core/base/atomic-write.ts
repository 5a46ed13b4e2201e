import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ioError } from './errors.ts';
import { newUlid } from './ids.ts';

/**
 * Writes a file so that readers see either the old content or the whole new content,
 * and the new content survives a crash once this returns: write a temporary file in the
 * same folder, fsync it, rename it over the target, fsync the folder.
 * The temporary name starts with a dot, so a folder scan (policy loading) never picks it
 * up half-written. The file is created with mode 0600.
 */
export function writeFileAtomic(path: string, text: string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${newUlid()}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      const bytes = Buffer.from(text, 'utf8');
      // writeSync may write less than asked; loop until every byte is down.
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch (error) {
    rmSync(tmp, { force: true });
    throw ioError(`write "${path}"`, error);
  }
}
