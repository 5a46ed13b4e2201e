import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, invalidArgument, ioError, newUlid, PalyraError, sha256Hex, writeFileAtomic } from '../base/index.ts';
import type { GeneratedPolicy } from './approval-policy.ts';
import { compilePolicySet, type CompiledPolicySet } from './compile.ts';
import { readPolicyDir } from './policy-files.ts';
import type { PolicySourceFile } from './policy-source.ts';
import { policyInvalidError, type PolicyProblem } from './problems.ts';

/** The record of a policy file written by palyrad (an `always` approval); the caller journals it. */
export interface PersistedPolicy {
  policyId: string;
  path: string;
  /** SHA-256 of the file's bytes as written. */
  sha256: string;
  text: string;
  /** Hash of the set now in force, which includes this policy. */
  policySetHash: string;
}

/** The outcome of a reload: a refused set leaves the previous one in force. */
export type PolicyReloadResult =
  | { type: 'loaded'; set: CompiledPolicySet; changed: boolean }
  | { type: 'refused'; error: PalyraError; problems: PolicyProblem[]; kept: CompiledPolicySet };

/** What replacing the operator's policies did; the caller journals it. */
export interface PolicyReplaceResult {
  set: CompiledPolicySet;
  previousHash: string;
  files: { name: string; sha256: string; text: string }[];
}

/** A file name the policy folder accepts: plain, ending in `.cedar`, no dot first. */
const POLICY_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.cedar$/;
/** Most files one replace may hold. */
const MAX_REPLACE_FILES = 256;

/** Options of a policy store. */
export interface PolicyStoreOptions {
  /** Check each request against the schema too (slower; for tools and tests). */
  validateRequests?: boolean;
}

/**
 * Holds the policy set in force: the built-in set plus the operator's `.cedar` files of one
 * folder. Loading is all or nothing: a set with any problem is refused whole and the
 * previous set stays in force. Reloads and writes run one at a time.
 */
export class PolicyStore {
  readonly dir: string;
  #current: CompiledPolicySet;
  /**
   * The operator files the set in force was compiled from. Invariant: the set changes only
   * with what it was compiled from, so adding a generated policy never takes in a file
   * edited on disk since the last reload (a draft would go live unjournaled).
   */
  #files: readonly PolicySourceFile[];
  #queue: Promise<unknown> = Promise.resolve();
  readonly #options: PolicyStoreOptions;

  private constructor(dir: string, set: CompiledPolicySet, files: readonly PolicySourceFile[], options: PolicyStoreOptions) {
    this.dir = dir;
    this.#current = set;
    this.#files = files;
    this.#options = options;
  }

  /**
   * Loads the set from `dir` (missing folder: built-in set only).
   * @throws PalyraError PALYRA_POLICY_INVALID with `details.problems` when the files do not validate:
   * at start there is no previous set to keep, and running on a set the operator did not write is worse than not starting.
   */
  static async open(dir: string, options: PolicyStoreOptions = {}): Promise<PolicyStore> {
    finishInterruptedReplace(dir);
    const files = readPolicyDir(dir);
    const compiled = await compilePolicySet(files, options);
    if (compiled.type === 'invalid') throw policyInvalidError(compiled.problems);
    return new PolicyStore(dir, compiled.set, files, options);
  }

  /** The set in force now. Decisions made with it carry its hash. */
  get current(): CompiledPolicySet {
    return this.#current;
  }

  /** Reads the folder again and swaps the new set in, unless it fails to load. */
  reload(): Promise<PolicyReloadResult> {
    return this.#serial(async () => {
      let compiled;
      let files: PolicySourceFile[];
      try {
        files = readPolicyDir(this.dir);
        compiled = await compilePolicySet(files, this.#options);
      } catch (error) {
        if (!(error instanceof PalyraError)) throw error;
        return { type: 'refused', error, problems: [], kept: this.#current };
      }
      if (compiled.type === 'invalid') {
        return { type: 'refused', error: policyInvalidError(compiled.problems), problems: compiled.problems, kept: this.#current };
      }
      const changed = compiled.set.hash !== this.#current.hash;
      this.#current = compiled.set;
      this.#files = files;
      return { type: 'loaded', set: compiled.set, changed };
    });
  }

  /**
   * Adds a generated policy file: validates the set in force plus this one, and only if
   * that set is valid writes the file atomically and puts the set in force. Files edited
   * in the folder since the last reload stay out until the next reload, which journals them.
   * @throws PalyraError PALYRA_POLICY_INVALID (nothing written), PALYRA_INVALID_ARGUMENT
   * when the file exists already, PALYRA_IO when writing fails.
   */
  persistPolicy(policy: GeneratedPolicy): Promise<PersistedPolicy> {
    return this.#serial(async () => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\.cedar$/.test(policy.fileName)) throw invalidArgument(`Policy file name "${policy.fileName}" is not allowed`);
      const path = join(this.dir, policy.fileName);
      // Invariant: generated files are never overwritten; an approval id is used once.
      if (existsSync(path)) throw invalidArgument(`Policy file "${path}" already exists`);
      const added: PolicySourceFile = { file: path, text: policy.text, origin: { type: 'file', path } };
      const files = [...this.#files, added].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      const compiled = await compilePolicySet(files, this.#options);
      if (compiled.type === 'invalid') throw policyInvalidError(compiled.problems);
      writeFileAtomic(path, policy.text);
      this.#current = compiled.set;
      this.#files = files;
      return { policyId: policy.policyId, path, sha256: sha256Hex(policy.text), text: policy.text, policySetHash: compiled.set.hash };
    });
  }

  /**
   * Replaces every operator policy file with `files` (name → Cedar text). The new set is
   * compiled first and refused whole when it has any problem (nothing is written); else
   * the files are written to a staging folder that is swapped in by rename, so a crash
   * leaves either the old folder or the new one, never a mix.
   * @throws PalyraError PALYRA_POLICY_INVALID (with problems), PALYRA_INVALID_ARGUMENT for
   *   bad names or too many files, PALYRA_IO when writing fails.
   */
  replace(files: Record<string, string>): Promise<PolicyReplaceResult> {
    return this.#serial(async () => {
      const names = Object.keys(files).sort();
      if (names.length > MAX_REPLACE_FILES) throw invalidArgument(`A policy set may hold at most ${MAX_REPLACE_FILES} files, not ${names.length}`);
      for (const name of names) {
        if (!POLICY_FILE_NAME.test(name)) throw invalidArgument(`Policy file name "${name}" is not allowed: use letters, digits, ".", "_" or "-", ending in ".cedar"`);
        if (typeof files[name] !== 'string') throw invalidArgument(`Policy file "${name}" must be Cedar text`);
      }
      const sources: PolicySourceFile[] = names.map((name) => {
        const path = join(this.dir, name);
        return { file: path, text: files[name] as string, origin: { type: 'file', path } };
      });
      const compiled = await compilePolicySet(sources, this.#options);
      if (compiled.type === 'invalid') throw policyInvalidError(compiled.problems);
      swapInFolder(this.dir, names.map((name) => [name, files[name] as string]));
      const previousHash = this.#current.hash;
      this.#current = compiled.set;
      this.#files = sources;
      return { set: compiled.set, previousHash, files: names.map((name) => ({ name, sha256: sha256Hex(files[name] as string), text: files[name] as string })) };
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

/** Where the folder being replaced waits until the new one is in place. */
function previousFolder(dir: string): string {
  return `${dir}.previous`;
}

/** Writes the files to a staging folder and renames it over `dir` (the old folder kept aside until then). */
function swapInFolder(dir: string, files: [string, string][]): void {
  const staging = `${dir}.staging-${newUlid()}`;
  const previous = previousFolder(dir);
  try {
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    for (const [name, text] of files) writeFileAtomic(join(staging, name), text);
    rmSync(previous, { recursive: true, force: true });
    if (existsSync(dir)) renameSync(dir, previous);
    renameSync(staging, dir);
    fsyncDir(dirname(dir));
    rmSync(previous, { recursive: true, force: true });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    // Put the old folder back if the swap stopped half way.
    if (!existsSync(dir) && existsSync(previous)) renameSync(previous, dir);
    throw ioError(`replace the policy folder "${dir}"`, error);
  }
}

/** After a crash between the two renames of a replace, the old folder is the one in force. */
function finishInterruptedReplace(dir: string): void {
  const previous = previousFolder(dir);
  if (!existsSync(previous)) return;
  if (existsSync(dir)) rmSync(previous, { recursive: true, force: true });
  else renameSync(previous, dir);
}
