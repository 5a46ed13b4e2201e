/**
 * The memory tools' store, made durable by the journal: every put and delete is a journal
 * event (durable before it is acknowledged, redacted like every event), and the store is
 * rebuilt from those events on start. Searching runs over the in-memory copy.
 */
import { newUlid, systemClock, type Clock } from '../base/index.ts';
import { readRecords, type JournalStore, type StoredRecord } from '../journal/index.ts';
import { createInMemoryMemoryStore, normalizeTags, type MemoryEntry, type MemoryRecord, type MemoryStore } from '../tools/index.ts';

export const MEMORY_STORED = 'memory.stored';
export const MEMORY_DELETED = 'memory.deleted';

/** Options of the journal-backed store. */
export interface JournalMemoryStoreOptions {
  clock?: Clock;
  newId?: () => string;
  /** Most records kept searchable; the oldest go first beyond it (default 10,000). */
  maxRecords?: number;
  /** Told of each memory event that could not be read back (it is skipped). */
  warn?: (message: string) => void;
}

/**
 * The payload of a `memory.stored` event. The note's session is the event's own
 * `sessionId`: the redactor takes a payload key named `sessionId` out (events written
 * before this carry it there as a marker, which replay ignores).
 */
// A type, not an interface, so it is assignable to JsonValue.
type StoredNote = {
  id: string;
  text: string;
  tags: string[];
  createdAt: number;
};

/** A `memory.stored` payload as replay needs it; throws for any other shape (an event written by something else). */
function storedNote(value: unknown): StoredNote {
  const note = value as Partial<StoredNote> | null;
  if (
    note === null || typeof note !== 'object' || typeof note.id !== 'string' || typeof note.text !== 'string' ||
    !Array.isArray(note.tags) || !note.tags.every((t) => typeof t === 'string') || typeof note.createdAt !== 'number'
  ) {
    throw new Error('a memory.stored event does not hold a note (id, text, tags, createdAt)');
  }
  return note as StoredNote;
}

/** The store, and how it takes in the journal's records on start. */
export type JournalMemoryStore = MemoryStore & {
  /** Applies one record of the journal (its memory events; others are ignored), in log order. */
  replay(record: StoredRecord): void;
};

/**
 * Opens the store over `journal`, replaying its memory events. What the redactor took out
 * of a note before it was journaled is gone from it at once and after a restart alike:
 * secrets are never remembered.
 */
export function openJournalMemoryStore(journal: JournalStore, options: JournalMemoryStoreOptions = {}): JournalMemoryStore {
  const store = createJournalMemoryStore(journal, options);
  for (const { record } of readRecords(journal.paths.segments)) {
    try {
      store.replay(record);
    } catch (error) {
      // As the gateway does on start: an event of another shape is skipped, never fatal.
      options.warn?.(`journal event ${record.seq} (${record.kind}) could not be read back and was skipped: ${(error as Error).message}`);
    }
  }
  return store;
}

/**
 * The store without reading the journal: the caller feeds it the records (the daemon
 * reads the log once on start for the gateway and this store together).
 */
export function createJournalMemoryStore(journal: JournalStore, options: JournalMemoryStoreOptions = {}): JournalMemoryStore {
  const clock = options.clock ?? systemClock;
  const newId = options.newId ?? (() => `mem_${newUlid(clock.now())}`);
  // The in-memory store takes its id and time from here: fresh ones live, recorded ones on replay.
  let next: { id: string; at: number } | null = null;
  const memory = createInMemoryMemoryStore({
    clock: { now: () => next?.at ?? clock.now() },
    newId: () => next?.id ?? newId(),
    maxRecords: options.maxRecords,
  });
  const apply = async (record: StoredNote, sessionId: string | null): Promise<MemoryRecord> => {
    next = { id: record.id, at: record.createdAt };
    try {
      return await memory.put({ text: record.text, tags: record.tags, sessionId });
    } finally {
      next = null;
    }
  };
  return {
    replay(record: StoredRecord) {
      if (record.kind === MEMORY_STORED) {
        const note = storedNote(JSON.parse(record.payloadJson));
        // Checked above: what the store could refuse is refused here, synchronously, by the caller's catch.
        apply(note, record.sessionId).catch(() => undefined);
      } else if (record.kind === MEMORY_DELETED) {
        const deleted = JSON.parse(record.payloadJson) as { id?: unknown } | null;
        if (typeof deleted?.id !== 'string') throw new Error('a memory.deleted event names no note id');
        void memory.delete(deleted.id);
      }
    },
    async put(entry: MemoryEntry) {
      const payload: StoredNote = { id: newId(), text: entry.text, tags: normalizeTags(entry.tags), createdAt: clock.now() };
      const { payloadJson } = await journal.append({ kind: MEMORY_STORED, actor: 'memory', sessionId: entry.sessionId, payload });
      // Security: apply what was journaled (redacted), as replay does, never `payload`:
      // otherwise the live store hands a secret back to models until the next restart.
      return apply(JSON.parse(payloadJson) as StoredNote, entry.sessionId);
    },
    search: (query, searchOptions) => memory.search(query, searchOptions),
    async delete(id) {
      // Invariant: the in-memory store is the one record of which notes exist, evictions
      // included, so a note it no longer holds is not journaled as deleted.
      if (!memory.has(id)) return false;
      await journal.append({ kind: MEMORY_DELETED, actor: 'memory', payload: { id } });
      return memory.delete(id);
    },
  };
}
