/**
 * A MemoryStore held in a Map, scored by term overlap. Enough for tests, demos and small
 * deployments; the journal-backed store replaces it in the gateway.
 */
import { newUlid, systemClock, type Clock } from '../../base/index.ts';
import { normalizeTags, type MemoryEntry, type MemoryHit, type MemoryRecord, type MemoryStore } from './memory-store.ts';

/** Options of the in-memory store. */
export interface InMemoryMemoryStoreOptions {
  clock?: Clock;
  /** Id generator (default ULIDs from the clock). */
  newId?: () => string;
  /** Most records kept; the oldest go first beyond it (default 10,000). */
  maxRecords?: number;
}

/** The in-memory store, which can also say whether it holds a record. */
export type InMemoryMemoryStore = MemoryStore & {
  /** True while the store holds `id`: false once deleted or evicted beyond maxRecords. */
  has(id: string): boolean;
};

/** Lowercase words of letters and digits in any script, de-duplicated. */
export function terms(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/**
 * Creates an in-memory store. Score = the share of the query's terms found in a record's
 * text or tags, rounded to 4 places so scores compare (and hash) the same everywhere.
 */
export function createInMemoryMemoryStore(options: InMemoryMemoryStoreOptions = {}): InMemoryMemoryStore {
  const clock = options.clock ?? systemClock;
  const newId = options.newId ?? (() => newUlid(clock.now()));
  const maxRecords = options.maxRecords ?? 10_000;
  // Map keeps insertion order, so the first key is the oldest record.
  const records = new Map<string, MemoryRecord & { terms: Set<string> }>();

  return {
    put(entry: MemoryEntry) {
      const tags = normalizeTags(entry.tags);
      const record: MemoryRecord = { id: newId(), text: entry.text, tags, createdAt: clock.now(), sessionId: entry.sessionId };
      records.set(record.id, { ...record, terms: terms(`${entry.text} ${tags.join(' ')}`) });
      while (records.size > maxRecords) {
        const oldest = records.keys().next().value;
        if (oldest === undefined) break;
        records.delete(oldest);
      }
      return Promise.resolve({ ...record, tags: [...tags] });
    },
    search(query, { limit }) {
      const wanted = terms(query);
      if (wanted.size === 0 || limit <= 0) return Promise.resolve([]);
      const scored: (MemoryHit & { createdAt: number })[] = [];
      for (const r of records.values()) {
        let found = 0;
        for (const t of wanted) if (r.terms.has(t)) found++;
        if (found === 0) continue;
        const score = Math.round((found / wanted.size) * 10_000) / 10_000;
        scored.push({ id: r.id, text: r.text, tags: [...r.tags], score, createdAt: r.createdAt });
      }
      scored.sort((a, b) => b.score - a.score || b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return Promise.resolve(scored.slice(0, limit).map(({ createdAt: _, ...hit }) => hit));
    },
    delete(id) {
      return Promise.resolve(records.delete(id));
    },
    has(id) {
      return records.has(id);
    },
  };
}
