/**
 * The store behind the memory tools. The gateway backs it with the journal index; the
 * in-memory implementation serves tests and a daemon without a journal. Every
 * implementation runs the same conformance suite (memory-store-conformance.ts).
 */

/** One remembered note. */
export interface MemoryRecord {
  id: string;
  text: string;
  /** Lowercase labels, de-duplicated and sorted. */
  tags: string[];
  /** Unix milliseconds. */
  createdAt: number;
  /** The session that wrote it, when any. */
  sessionId: string | null;
}

/** A search result; `score` in (0, 1], higher is better. */
export interface MemoryHit {
  id: string;
  text: string;
  tags: string[];
  score: number;
}

/** What memory.put hands the store. */
export interface MemoryEntry {
  text: string;
  tags: readonly string[];
  sessionId: string | null;
}

/**
 * A place to keep and find notes.
 * Invariant: `search` returns at most `limit` hits, best first, ties broken by newer
 * first then by id, so the same store state always gives the same answer.
 */
export interface MemoryStore {
  put(entry: MemoryEntry): Promise<MemoryRecord>;
  search(query: string, options: { limit: number }): Promise<MemoryHit[]>;
  /** True when a record was removed, false when there was none with that id. */
  delete(id: string): Promise<boolean>;
}

/** Tags as stores keep them: trimmed, lowercase, de-duplicated, sorted, empty ones dropped. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter((t) => t !== ''))].sort();
}
