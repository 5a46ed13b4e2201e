/**
 * The admin token: generated on first start, kept at `<state>/auth/admin.token` (folder
 * 0700, file 0600), and required as a bearer token on every API route and the WebSocket.
 */
import { join } from 'node:path';
import { createTokenFileExclusive, ensurePrivateDir, generateToken, readTokenFile } from './token-file.ts';

export { tokenMatches } from './token-file.ts';

/** Where the admin token of the state directory at `stateRoot` lives. */
export function adminTokenPath(stateRoot: string): string {
  return join(stateRoot, 'auth', 'admin.token');
}

/**
 * Returns the admin token, creating it (32 random bytes, base64url) when there is none.
 * Safe against a concurrent first start: exactly one token is ever written.
 * @throws PalyraError PALYRA_KEY_INVALID when the file is readable by group or others
 *   (the message says how to fix it) or holds no token; PALYRA_IO on I/O errors.
 */
export function loadOrCreateAdminToken(stateRoot: string): string {
  const path = adminTokenPath(stateRoot);
  const existing = readTokenFile(path);
  if (existing !== null) return existing;
  ensurePrivateDir(join(stateRoot, 'auth'));
  const token = generateToken();
  if (createTokenFileExclusive(path, token)) return token;
  // Another process created it between our read and our link: use theirs.
  const theirs = readTokenFile(path);
  if (theirs === null) return loadOrCreateAdminToken(stateRoot);
  return theirs;
}
