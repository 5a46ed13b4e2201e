import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { createFileExclusive, ioError, mkdirDurable, PalyraError } from '../base/index.ts';

/** Version of the state directory layout, recorded in its marker file. */
export const STATE_FORMAT_VERSION = 1;
const MARKER = 'STATE';
/**
 * What an operator may put into a state directory before palyrad first writes to it (the
 * configuration and the policy folder, as README.md tells them to): such a directory is
 * still new. Anything else without the marker is refused.
 */
const SETUP_ENTRIES: ReadonlyMap<string, 'file' | 'directory'> = new Map([
  ['config.toml', 'file'],
  ['policies', 'directory'],
]);

/** Every path palyrad uses inside a state directory. */
export interface StatePaths {
  root: string;
  marker: string;
  lock: string;
  journal: string;
  keys: string;
  checkpointKey: string;
  checkpointPub: string;
}

/**
 * Resolves the state directory: the `--state` flag, then `PALYRA_STATE_DIR`, then
 * `$XDG_STATE_HOME/palyra`, then `~/.local/state/palyra`.
 */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) {
    // `--state "$UNSET"`: an empty path must not quietly mean the default directory.
    if (flag.trim() === '') throw new PalyraError('PALYRA_USAGE', '--state needs a directory, not an empty string');
    return resolve(flag);
  }
  if (env.PALYRA_STATE_DIR !== undefined) {
    // Set but empty (`PALYRA_STATE_DIR=$TYPO`): as with the flag, not quietly the default.
    if (env.PALYRA_STATE_DIR.trim() === '') throw new PalyraError('PALYRA_USAGE', 'PALYRA_STATE_DIR is set but empty: set it to a directory, or unset it for the default');
    return resolve(env.PALYRA_STATE_DIR);
  }
  // The XDG spec: a relative XDG_STATE_HOME is invalid and is ignored.
  if (env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME)) return join(env.XDG_STATE_HOME, 'palyra');
  return join(homeFolder(), '.local', 'state', 'palyra');
}

/**
 * The user's home folder, absolute. `HOME=` (empty) or a relative HOME would put the
 * default state directory under whatever folder a command runs in, a journal per folder:
 * the account's home from the password database is used instead, else nothing is guessed.
 */
function homeFolder(): string {
  const home = homedir();
  if (isAbsolute(home)) return home;
  try {
    const fromAccount = userInfo().homedir;
    if (isAbsolute(fromAccount)) return fromAccount;
  } catch {
    // No account entry (a container's arbitrary uid): refused below.
  }
  throw new PalyraError('PALYRA_USAGE', `No home folder for the default state directory (HOME is "${home}", not an absolute path): pass --state DIR or set PALYRA_STATE_DIR`);
}

/** The layout of a state directory rooted at `root`. */
export function statePaths(root: string): StatePaths {
  return {
    root,
    marker: join(root, MARKER),
    lock: join(root, 'palyrad.lock'),
    journal: join(root, 'journal'),
    keys: join(root, 'keys'),
    checkpointKey: join(root, 'keys', 'checkpoint.key'),
    checkpointPub: join(root, 'keys', 'checkpoint.pub'),
  };
}

/**
 * Opens a state directory for a writer, creating it (mode 0700) when missing, empty, or
 * holding only the operator's setup (`config.toml`, `policies/`); such an existing
 * directory is made 0700 too. Refuses a path that is a file, or any other directory
 * without palyrad's marker, so a mistyped `--state` never scribbles into someone's home
 * directory.
 */
export function initStateDir(root: string): StatePaths {
  const paths = statePaths(root);
  const kind = inspect(root);
  if (kind === 'missing' || kind === 'empty' || kind === 'setup') {
    try {
      mkdirDurable(root);
      // Security: mkdir leaves an existing directory's mode alone (0755 from a plain
      // `mkdir`); the journal, keys and tokens below it are for the owner only.
      chmodSync(root, 0o700);
      // All at once and durable: a process starting beside this one (serve and a reader, at
      // first use) must never read a half-written marker, nor a crash leave an empty one.
      // Created once: whoever comes second finds the marker there and checks it.
      if (createFileExclusive(paths.marker, `${JSON.stringify({ format: 'palyra-state', version: STATE_FORMAT_VERSION })}\n`)) return paths;
    } catch (error) {
      throw ioError(`create state directory "${root}"`, error);
    }
  }
  checkMarker(paths);
  return paths;
}

/**
 * Opens a state directory for a reader. Returns null when it exists but holds nothing
 * yet (a fresh install), and throws when it is missing or is not a state directory. A
 * directory holding only the operator's setup (`config.toml`, `policies/`) is returned
 * without a marker: its policies are there to be read.
 */
export function openStateDirForReading(root: string): StatePaths | null {
  const paths = statePaths(root);
  const kind = inspect(root);
  if (kind === 'missing') {
    throw new PalyraError('PALYRA_STATE_DIR_INVALID', `State directory "${root}" does not exist`);
  }
  if (kind === 'empty') return null;
  if (kind === 'setup') return paths;
  checkMarker(paths);
  return paths;
}

/**
 * Refuses a state path that exists but is no directory, before anything else reads paths
 * under it (the configuration, the workspace), so the error names the real mistake.
 */
export function checkStateDirPath(root: string): void {
  inspectKind(root);
}

/** Whether `root` is missing or a directory; throws for anything else. */
function inspectKind(root: string): 'missing' | 'directory' {
  let stats;
  try {
    stats = statSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw ioError(`read state directory "${root}"`, error);
  }
  if (!stats.isDirectory()) {
    throw new PalyraError('PALYRA_STATE_DIR_INVALID', `State directory "${root}" is not a directory`);
  }
  return 'directory';
}

function inspect(root: string): 'missing' | 'empty' | 'setup' | 'populated' {
  if (inspectKind(root) === 'missing') return 'missing';
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch (error) {
    throw ioError(`list state directory "${root}"`, error);
  }
  if (entries.length === 0) return 'empty';
  return entries.every((name) => isSetupEntry(root, name)) ? 'setup' : 'populated';
}

function isSetupEntry(root: string, name: string): boolean {
  // The marker another process is creating this moment (its temporary file, linked into place next).
  if (name.startsWith(`.${MARKER}.`) && name.endsWith('.tmp')) return true;
  const kind = SETUP_ENTRIES.get(name);
  if (kind === undefined) return false;
  try {
    const stats = statSync(join(root, name));
    return kind === 'file' ? stats.isFile() : stats.isDirectory();
  } catch {
    return false;
  }
}

function checkMarker(paths: StatePaths): void {
  let text: string;
  try {
    text = readFileSync(paths.marker, 'utf8');
  } catch {
    throw new PalyraError(
      'PALYRA_STATE_DIR_INVALID',
      `Directory "${paths.root}" is not a palyrad state directory: it has files but no ${MARKER} marker`,
    );
  }
  let marker: { format?: unknown; version?: unknown };
  try {
    marker = JSON.parse(text) as typeof marker;
  } catch {
    throw new PalyraError('PALYRA_STATE_DIR_INVALID', `State marker "${paths.marker}" is not valid JSON`);
  }
  if (marker.format !== 'palyra-state') {
    throw new PalyraError('PALYRA_STATE_DIR_INVALID', `State marker "${paths.marker}" is not a palyrad marker`);
  }
  if (typeof marker.version !== 'number' || marker.version > STATE_FORMAT_VERSION) {
    throw new PalyraError(
      'PALYRA_STATE_DIR_INVALID',
      `State directory "${paths.root}" has layout version ${String(marker.version)}, newer than this palyrad understands (${STATE_FORMAT_VERSION})`,
    );
  }
}
