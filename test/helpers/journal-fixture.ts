import { join } from 'node:path';
import { JournalStore, type JournalStoreOptions } from '../../core/journal/index.ts';
import { tempDir } from './temp-dir.ts';

/** Options for a journal in a fresh temporary state folder, with timers off. */
export function journalOptionsIn(root: string, extra: Partial<JournalStoreOptions> = {}): JournalStoreOptions {
  return {
    dir: join(root, 'journal'),
    keyPath: join(root, 'keys', 'checkpoint.key'),
    pubPath: join(root, 'keys', 'checkpoint.pub'),
    snapshotIntervalMs: 0,
    checkpointIntervalMs: 0,
    checkpointEveryEvents: 0,
    onWarning: (m) => {
      throw new Error(`unexpected journal warning: ${m}`);
    },
    ...extra,
  };
}

/** Opens a journal in a new temporary folder. */
export async function freshJournal(extra: Partial<JournalStoreOptions> = {}): Promise<{ store: JournalStore; root: string; options: JournalStoreOptions }> {
  const root = tempDir('palyra-journal-');
  const options = journalOptionsIn(root, extra);
  return { store: await JournalStore.open(options), root, options };
}
