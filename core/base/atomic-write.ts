import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ioError } from './errors.ts';
import { newUlid } from './ids.ts';

/**
 * Writes a file so that readers see either the old content or the whole new content,
 * and the new content survives a crash once this returns: write a temporary file in the
 * same folder, fsync it, rename it over the target, fsync the folder.
 * The temporary name starts with a dot, so a folder scan (policy loading) never picks it
 * up half-written. The file is created with mode 0600 unless `mode` says otherwise.
 */
export function writeFileAtomic(path: string, text: string, options: { mode?: number } = {}): void {
  let tmp: string | null = null;
  try {
    tmp = writeDurableTemp(path, text, options.mode);
    renameSync(tmp, path);
    tmp = null;
    fsyncDir(dirname(path));
  } catch (error) {
    if (tmp !== null) rmSync(tmp, { force: true });
    throw ioError(`write "${path}"`, error);
  }
}

/**
 * Creates `path` holding `text` (mode 0600) only if nothing is there yet, all at once: a
 * durable temporary file is linked into place, so a crash never leaves an empty or
 * half-written file, and link() never replaces one another process created first.
 * Returns false when `path` existed already (the caller then reads it). Where the
 * filesystem has no hard links, the file is written in place with O_EXCL (not atomic).
 * @throws the raw I/O error (callers name the file in their own words).
 */
export function createFileExclusive(path: string, text: string): boolean {
  const tmp = writeDurableTemp(path, text);
  try {
    try {
      linkSync(tmp, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (!NO_HARD_LINKS.has(code ?? '')) throw error;
      try {
        writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
      } catch (inPlace) {
        if ((inPlace as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw inPlace;
      }
    }
    fsyncDir(dirname(path));
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** link() errors of filesystems without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * A fsynced temporary file beside `path` holding `text` (mode 0600). Its name starts
 * with a dot, so a folder scan (policy loading) never picks it up half-written.
 */
function writeDurableTemp(path: string, text: string, mode = 0o600): string {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${newUlid()}.tmp`);
  mkdirDurable(dir);
  const fd = openSync(tmp, 'wx', mode);
  try {
    const bytes = Buffer.from(text, 'utf8');
    // writeSync may write less than asked; loop until every byte is down.
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  closeSync(fd);
  return tmp;
}

/**
 * Creates `dir` and any missing parents (mode `mode`), and makes their entries durable:
 * the parent of every directory it created is fsynced, so a power loss cannot drop a new
 * folder (`journal/`, `keys/`) whose files were fsynced and relied on. A no-op for a
 * folder that exists.
 */
export function mkdirDurable(dir: string, mode = 0o700): void {
  const first = mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return;
  // From `dir` up to the first one created, each new folder's entry is in its parent.
  for (let d = resolve(dir); ; d = dirname(d)) {
    fsyncDir(dirname(d));
    if (d === resolve(first) || dirname(d) === d) break;
  }
}

/** fsyncs a file's content (and the metadata needed to read it) by its path. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * fsyncs a directory so an entry created or renamed in it survives a crash. Some
 * filesystems refuse fsync on directories (EINVAL, EISDIR, EPERM); the data is still written.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
