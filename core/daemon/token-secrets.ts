/**
 * The daemon's own tokens as journal secrets. The admin token and every worker token are
 * registered with the journal's redactor, so a message, a tool's output or an error that
 * quotes one is journaled as a marker, never in plain text.
 *
 * Worker tokens are created by an offline command (`palyrad worker token create`) that
 * works while the daemon runs, so the daemon learns of new ones by watching
 * `<state>/auth/workers`, and reads them all again whenever a worker authenticates.
 *
 * Security: palyrad keeps its tokens in plain text (mode 0600 files), which is what lets
 * the redactor know them by value. A token kept only as a hash cannot be redacted by value
 * (the plain token is not known); it would be caught only by its shape (a `Bearer …`
 * header, a `token=…` assignment). Do not hand palyrad hashed tokens expecting redaction.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import type { Redactor } from '../journal/index.ts';
import { adminTokenPath } from './admin-token.ts';
import { ensurePrivateDir, readTokenFile } from './token-file.ts';
import { readWorkerTokens, workerTokensDir } from './worker-tokens.ts';

/** Tracks the admin and worker tokens of one state directory for a redactor. */
export class TokenSecrets {
  readonly #root: string;
  readonly #onWarning: (message: string) => void;
  readonly #known = new Set<string>();
  readonly #warned = new Set<string>();
  #redactor: Redactor | null = null;
  #watcher: FSWatcher | null = null;

  /** Reads the worker tokens present now; `adminToken` is known from the start. */
  constructor(stateRoot: string, options: { adminToken: string; onWarning: (message: string) => void }) {
    this.#root = stateRoot;
    this.#onWarning = options.onWarning;
    this.#known.add(options.adminToken);
    this.refresh();
  }

  /** Every token known so far (for the journal's `extraSecrets` when it opens). */
  get values(): string[] {
    return [...this.#known];
  }

  /**
   * From now on, registers every newly seen token with `redactor` at once, and watches the
   * worker tokens' folder for new files.
   */
  attach(redactor: Redactor): void {
    this.#redactor = redactor;
    for (const token of this.#known) redactor.addSecret(token);
    this.#watch();
  }

  /**
   * Watches the worker tokens' folder, creating it (0700, as `worker token create` would)
   * so that it can be watched. A watch on a folder that is removed goes dead without an
   * error, so an event that finds the folder gone re-creates it and watches anew.
   */
  #watch(): void {
    const dir = workerTokensDir(this.#root);
    const cannot = (error: Error): void => this.#warn(`cannot watch "${dir}" for new worker tokens (they are learned when a worker connects): ${error.message}`);
    try {
      ensurePrivateDir(dir);
      const watcher = watch(dir, { persistent: false }, () => {
        if (existsSync(dir)) return this.refresh();
        watcher.close();
        if (this.#watcher === watcher) this.#watch();
        this.refresh();
      });
      watcher.on('error', (error) => {
        cannot(error);
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = null;
      });
      this.#watcher = watcher;
    } catch (error) {
      this.#watcher = null;
      cannot(error as Error);
    }
  }

  /** Reads the worker tokens again and registers the new ones. */
  refresh(): void {
    // A folder listed while a token is revoked, or unreadable: the next refresh tries again.
    for (const token of workerTokenValues(this.#root, (m) => this.#warn(m))) {
      if (this.#known.has(token)) continue;
      this.#known.add(token);
      this.#redactor?.addSecret(token);
    }
  }

  #warn(message: string): void {
    if (!this.#warned.has(message)) this.#onWarning(message);
    this.#warned.add(message);
  }

  /** Stops watching. */
  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }
}

/**
 * The admin token (when the state has one) and every usable worker token, read once: what
 * an offline journal writer (`journal append`) must redact, as the daemon does. A token
 * file that cannot be used is reported through `onWarning` and left out.
 */
export function stateTokens(stateRoot: string, onWarning: (message: string) => void): string[] {
  const out: string[] = [];
  try {
    const admin = readTokenFile(adminTokenPath(stateRoot));
    if (admin !== null) out.push(admin);
  } catch (error) {
    onWarning(`the admin token is not usable: ${(error as Error).message}`);
  }
  out.push(...workerTokenValues(stateRoot, onWarning));
  return out;
}

/** Every usable worker token; a bad file, or an unreadable folder, is reported and skipped. */
function workerTokenValues(stateRoot: string, onWarning: (message: string) => void): string[] {
  try {
    return [...readWorkerTokens(stateRoot, (name, error) => onWarning(`worker token of "${name}" is not usable: ${(error as Error).message}`)).values()];
  } catch (error) {
    onWarning(`cannot read the worker tokens: ${(error as Error).message}`);
    return [];
  }
}
