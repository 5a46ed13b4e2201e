import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ioError, PalyraError } from '../base/index.ts';
import type { PolicySourceFile } from './policy-source.ts';

/** The folder of operator policies inside a state directory. */
export const POLICIES_DIR_NAME = 'policies';

/** `<state>/policies`. */
export function policiesDir(stateRoot: string): string {
  return join(stateRoot, POLICIES_DIR_NAME);
}

/**
 * Reads the operator's policy files from a folder: every `*.cedar` file, in name order
 * (so ids generated as `<file>#<n>` and diagnostics are stable). Dot-files are skipped:
 * they are editors' swap files and the temporary files of an atomic write.
 * A missing folder holds no policies.
 */
export function readPolicyDir(dir: string): PolicySourceFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(`list policy folder "${dir}"`, error);
  }
  return names
    .filter((n) => n.endsWith('.cedar') && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n))
    .filter((path) => isFile(path))
    .map(readPolicyFile);
}

/**
 * Reads the files named on a command line: a file is read whatever its name, a folder
 * contributes its `*.cedar` files.
 * @throws PalyraError PALYRA_NOT_FOUND for a path that does not exist.
 */
export function readPolicyPaths(paths: readonly string[]): PolicySourceFile[] {
  const files: PolicySourceFile[] = [];
  for (const path of paths) {
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new PalyraError('PALYRA_NOT_FOUND', `Policy path "${path}" does not exist`);
      throw ioError(`read policy path "${path}"`, error);
    }
    files.push(...(stats.isDirectory() ? readPolicyDir(path) : [readPolicyFile(path)]));
  }
  return files;
}

/** Reads one policy file as a source. */
export function readPolicyFile(path: string): PolicySourceFile {
  try {
    return { file: path, text: readFileSync(path, 'utf8'), origin: { type: 'file', path: resolve(path) } };
  } catch (error) {
    throw ioError(`read policy file "${path}"`, error);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    // Vanished between listing and reading (an atomic rename in flight): not a policy file.
    return false;
  }
}
