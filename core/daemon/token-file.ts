/**
 * Secret token files: created atomically with mode 0600 inside 0700 folders, read only
 * when nobody but the owner can read them, and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createFileExclusive, ioError, mkdirDurable, PalyraError } from '../base/index.ts';

/** A token as palyrad generates it: 32 random bytes, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether `presented` equals `expected`, in time that depends on neither value: both are
 * hashed first, so even their lengths do not leak. An empty or missing presentation never
 * matches.
 */
export function tokenMatches(expected: string, presented: string | null | undefined): boolean {
  if (typeof presented !== 'string' || presented === '' || expected === '') return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Creates `dir` (and parents) with mode 0700 when missing. */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirDurable(dir);
  } catch (error) {
    throw ioError(`create folder "${dir}"`, error);
  }
}

/**
 * Writes `token` to `path` (mode 0600) only if no file is there: written and fsync'd
 * under a temporary name, then hard-linked into place, which fails when the name exists,
 * so a reader never sees a partial file and two processes cannot both win.
 * Returns false when the file already existed (the caller then reads it).
 */
export function createTokenFileExclusive(path: string, token: string): boolean {
  try {
    return createFileExclusive(path, `${token}\n`);
  } catch (error) {
    throw ioError(`create token file "${path}"`, error);
  }
}

/**
 * Reads a token file, or returns null when it does not exist.
 * @throws PalyraError PALYRA_KEY_INVALID when group or others may read or write it (with
 *   the fix), or when it holds no usable token; PALYRA_IO when it cannot be read.
 */
export function readTokenFile(path: string): string | null {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(`read token file "${path}"`, error);
  }
  // Security: a token others can read is as good as published; refuse rather than use it.
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw new PalyraError(
      'PALYRA_KEY_INVALID',
      `Token file "${path}" is accessible to group or others (mode ${octal}): run "chmod 600 ${path}", and replace the token if others may have read it`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw ioError(`read token file "${path}"`, error);
  }
  const token = text.trim();
  // Security: the message never includes the file's content.
  if (!/^[A-Za-z0-9_-]{32,256}$/.test(token)) {
    throw new PalyraError('PALYRA_KEY_INVALID', `Token file "${path}" does not hold a token (32 to 256 base64url characters): delete it to generate a new one`);
  }
  return token;
}

