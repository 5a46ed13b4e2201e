/**
 * Worker tokens: each remote worker authenticates with its own token, kept at
 * `<state>/auth/workers/<name>.token` (mode 0600), so one worker can be revoked without
 * touching the admin token or the others.
 */
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, invalidArgument, ioError, PalyraError } from '../base/index.ts';
import { createTokenFileExclusive, ensurePrivateDir, generateToken, readTokenFile, tokenMatches } from './token-file.ts';
import { initStateDir } from './state-dir.ts';

/**
 * Names of token files this module reads and revokes: lowercase letters, digits, "-" and
 * "_", at most 64, starting alphanumeric (tokens made before the stricter rule below).
 */
export const WORKER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/**
 * The longest name a new token gets. Invariant: `worker.<name>.<tool>` must fit the tool
 * registry's 64 characters for every tool a CLI worker offers: 64 - "worker.".length -
 * ".".length - "http.fetch".length = 46 (worker-tokens.test.ts checks this).
 */
export const WORKER_NAME_MAX_LENGTH = 46;
/** Names of new tokens: also a letter first, as each dotted segment of a tool name needs. */
const NEW_WORKER_NAME = /^[a-z][a-z0-9_-]*$/;
const SUFFIX = '.token';

/** A worker that holds a token; the token itself is never listed. */
export interface WorkerTokenInfo {
  name: string;
  /** When the token file was written, unix ms. */
  createdAt: number;
}

function workersDir(stateRoot: string): string {
  return join(stateRoot, 'auth', 'workers');
}

function tokenPath(stateRoot: string, name: string): string {
  if (!WORKER_NAME_PATTERN.test(name)) {
    throw invalidArgument(`Worker name "${name}" is invalid: use lowercase letters, digits, "-" and "_" (at most 64, starting with a letter or digit)`);
  }
  return join(workersDir(stateRoot), `${name}${SUFFIX}`);
}

/**
 * Creates a token for worker `name` and returns it (shown once; only the file keeps it).
 * @throws PalyraError PALYRA_INVALID_ARGUMENT for a name its tools could not be registered
 *   under, or a worker that already has a token (revoke it first).
 */
export function createWorkerToken(stateRoot: string, name: string): string {
  if (!NEW_WORKER_NAME.test(name)) {
    throw invalidArgument(`Worker name "${name}" is invalid: use lowercase letters, digits, "-" and "_", starting with a letter (its tools are named worker.<name>.<tool>)`);
  }
  if (name.length > WORKER_NAME_MAX_LENGTH) {
    throw invalidArgument(`Worker name "${name}" is too long (${name.length} characters): at most ${WORKER_NAME_MAX_LENGTH}, so that its tools' names worker.<name>.<tool> fit in 64`);
  }
  const path = tokenPath(stateRoot, name);
  // A writer of the state directory like any other: one is created where there is none,
  // and a folder that is not one (no STATE marker) is refused, never written into.
  initStateDir(stateRoot);
  ensurePrivateDir(workersDir(stateRoot));
  const token = generateToken();
  if (!createTokenFileExclusive(path, token)) throw invalidArgument(`Worker "${name}" already has a token: revoke it first to issue a new one`);
  return token;
}

/** The workers holding tokens, sorted by name. A file deleted while listing is left out. */
export function listWorkerTokens(stateRoot: string): WorkerTokenInfo[] {
  const out: WorkerTokenInfo[] = [];
  for (const name of tokenNames(stateRoot)) {
    try {
      out.push({ name, createdAt: Math.trunc(statSync(join(workersDir(stateRoot), `${name}${SUFFIX}`)).mtimeMs) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`read worker token "${name}"`, error);
    }
  }
  return out;
}

/** The names of the token files in the workers folder, sorted; none when it does not exist. */
function tokenNames(stateRoot: string): string[] {
  let files: string[];
  try {
    files = readdirSync(workersDir(stateRoot));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(`list worker tokens in "${workersDir(stateRoot)}"`, error);
  }
  return files
    .filter((file) => file.endsWith(SUFFIX) && WORKER_NAME_PATTERN.test(file.slice(0, -SUFFIX.length)))
    .map((file) => file.slice(0, -SUFFIX.length))
    .sort();
}

/**
 * Deletes worker `name`'s token; the worker's next connection is refused.
 * @throws PalyraError PALYRA_NOT_FOUND when the worker has no token.
 */
export function revokeWorkerToken(stateRoot: string, name: string): void {
  const path = tokenPath(stateRoot, name);
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new PalyraError('PALYRA_NOT_FOUND', `Worker "${name}" has no token`);
    throw ioError(`delete worker token "${path}"`, error);
  }
  // "Revoked" must survive a power loss: without this the token could come back.
  try {
    fsyncDir(dirname(path));
  } catch (error) {
    throw ioError(`make the removal of worker token "${path}" durable`, error);
  }
}

/** What findWorkerByToken reports besides its answer. */
export interface FindWorkerOptions {
  /**
   * Told once per problem of a token file (mode too open, not a token, unreadable) or of
   * the folder, with its path, and again only when the problem changes.
   */
  warn?: (message: string) => void;
}

/**
 * Problems already reported, by path. Invariant: an entry leaves when its file reads well
 * (or is found missing), so a problem that comes back after a fix is reported again.
 */
const reported = new Map<string, string>();

/**
 * Every worker's token, by name, for the journal's redactor. A token file that cannot be
 * used (readable by others, not a token) is passed to `onError` and skipped.
 */
export function readWorkerTokens(stateRoot: string, onError: (name: string, error: unknown) => void): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const name of tokenNames(stateRoot)) {
    try {
      const token = readTokenFile(tokenPath(stateRoot, name));
      if (token !== null) tokens.set(name, token);
    } catch (error) {
      onError(name, error);
    }
  }
  return tokens;
}

/** The folder worker tokens live in (created 0700 on first use). */
export function workerTokensDir(stateRoot: string): string {
  return workersDir(stateRoot);
}

/**
 * The worker whose token is `presented`, or null. Every token is compared (in constant
 * time each), so the time taken does not tell which worker, if any, matched.
 * A bad token file (readable by others, not holding a token, unreadable) is skipped and
 * reported through `warn`: one operator mistake must not lock every worker out. A file
 * deleted meanwhile (a revoke) is simply absent.
 * @throws PalyraError PALYRA_IO when the workers folder itself cannot be read.
 */
export function findWorkerByToken(stateRoot: string, presented: string | null | undefined, options: FindWorkerOptions = {}): string | null {
  let names: string[];
  try {
    names = tokenNames(stateRoot);
  } catch (error) {
    warnOnce(workersDir(stateRoot), (error as Error).message, options);
    throw error;
  }
  reported.delete(workersDir(stateRoot));
  let found: string | null = null;
  for (const name of names) {
    const path = tokenPath(stateRoot, name);
    let token: string | null;
    try {
      token = readTokenFile(path);
      reported.delete(path);
    } catch (error) {
      warnOnce(path, `Worker token file skipped: ${(error as Error).message}`, options);
      continue;
    }
    if (token !== null && tokenMatches(token, presented) && found === null) found = name;
  }
  return found;
}

function warnOnce(path: string, message: string, options: FindWorkerOptions): void {
  if (reported.get(path) !== message) options.warn?.(message);
  reported.set(path, message);
}
