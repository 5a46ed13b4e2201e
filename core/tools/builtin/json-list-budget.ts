/**
 * Keeps a tool's output within the registry's output cap when the output is one object
 * with a growing list (fs.list's entries, memory.search's hits), so the tool can stop
 * early and say `truncated` instead of the registry refusing the whole result.
 *
 * Why measure JSON: the registry measures the canonical JSON of the output, and escaping
 * can make a value six times its raw size (`\u0001`), so counting items or characters
 * cannot tell when the cap is near.
 */
import { Buffer } from 'node:buffer';
import { canonicalJson } from '../../base/index.ts';

/** A running byte count of an output as items are added to its list. */
export class JsonListBudget {
  readonly #maxBytes: number;
  #used: number;
  #count = 0;

  /**
   * @param maxBytes the tool's `limits.maxOutputBytes`.
   * @param emptyOutput the output with an empty list and its largest other fields (e.g.
   *   `truncated: true`), so whatever the tool returns in the end fits.
   */
  constructor(maxBytes: number, emptyOutput: unknown) {
    this.#maxBytes = maxBytes;
    this.#used = byteLength(emptyOutput);
  }

  /**
   * Counts `item` in and returns true when the output still fits with it; returns false
   * and counts nothing when it would not.
   */
  admit(item: unknown): boolean {
    // Invariant: an array of n items is its items' JSON plus n - 1 commas inside "[]".
    const cost = byteLength(item) + (this.#count > 0 ? 1 : 0);
    if (this.#used + cost > this.#maxBytes) return false;
    this.#used += cost;
    this.#count++;
    return true;
  }
}

function byteLength(value: unknown): number {
  return Buffer.byteLength(canonicalJson(value));
}
