import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument, PalyraError, sha256Hex, writeFileAtomic } from '../base/index.ts';
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
  #queue: Promise<unknown> = Promise.resolve();
  readonly #options: PolicyStoreOptions;

  private constructor(dir: string, set: CompiledPolicySet, options: PolicyStoreOptions) {
    this.dir = dir;
    this.#current = set;
    this.#options = options;
  }

  /**
   * Loads the set from `dir` (missing folder: built-in set only).
   * @throws PalyraError PALYRA_POLICY_INVALID with `details.problems` when the files do not validate:
   * at start there is no previous set to keep, and running on a set the operator did not write is worse than not starting.
   */
  static async open(dir: string, options: PolicyStoreOptions = {}): Promise<PolicyStore> {
    const compiled = await compilePolicySet(readPolicyDir(dir), options);
    if (compiled.type === 'invalid') throw policyInvalidError(compiled.problems);
    return new PolicyStore(dir, compiled.set, options);
  }

  /** The set in force now. Decisions made with it carry its hash. */
  get current(): CompiledPolicySet {
    return this.#current;
  }

  /** Reads the folder again and swaps the new set in, unless it fails to load. */
  reload(): Promise<PolicyReloadResult> {
    return this.#serial(async () => {
      let compiled;
      try {
        compiled = await compilePolicySet(readPolicyDir(this.dir), this.#options);
      } catch (error) {
        if (!(error instanceof PalyraError)) throw error;
        return { type: 'refused', error, problems: [], kept: this.#current };
      }
      if (compiled.type === 'invalid') {
        return { type: 'refused', error: policyInvalidError(compiled.problems), problems: compiled.problems, kept: this.#current };
      }
      const changed = compiled.set.hash !== this.#current.hash;
      this.#current = compiled.set;
      return { type: 'loaded', set: compiled.set, changed };
    });
  }

  /**
   * Adds a generated policy file: validates the folder's files plus this one as a set,
   * and only if that set is valid writes the file atomically and puts the set in force.
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
      const files = [...readPolicyDir(this.dir), added].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      const compiled = await compilePolicySet(files, this.#options);
      if (compiled.type === 'invalid') throw policyInvalidError(compiled.problems);
      writeFileAtomic(path, policy.text);
      this.#current = compiled.set;
      return { policyId: policy.policyId, path, sha256: sha256Hex(policy.text), text: policy.text, policySetHash: compiled.set.hash };
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
