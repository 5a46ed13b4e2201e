import { join } from 'node:path';

/** Files of a journal folder (`<state>/journal`). */
export interface JournalPaths {
  dir: string;
  segments: string;
  checkpoints: string;
  index: string;
  quarantine: string;
}

/** The layout of a journal folder. */
export function journalPaths(dir: string): JournalPaths {
  return {
    dir,
    segments: join(dir, 'segments'),
    checkpoints: join(dir, 'checkpoints.jsonl'),
    index: join(dir, 'index.sqlite'),
    quarantine: join(dir, 'quarantine'),
  };
}
