import { setTimeout as sleep } from 'node:timers/promises';
import { decodeRecord, listSegments, scanSegment, toJournalEvent, type JournalEvent } from '../core/journal/index.ts';

const POLL_MS = 250;

/**
 * Prints events appended after `afterSeq` until `stop` is aborted (the caller's SIGINT or
 * SIGTERM). Polls the newest segment from the last offset read (fs.watch is unreliable
 * across runtimes and filesystems), moving on when the writer starts a new segment.
 */
export async function followJournal(segmentsDir: string, afterSeq: number, print: (e: JournalEvent) => void, stop: AbortSignal): Promise<void> {
  let lastSeq = afterSeq;
  let current: { path: string; offset: number | undefined } | null = null;
  while (!stop.aborted) {
    const segments = listSegments(segmentsDir);
    if (!current) {
      const seg = [...segments].reverse().find((s) => s.firstSeq <= lastSeq + 1) ?? segments[0];
      if (seg) current = { path: seg.path, offset: undefined };
    }
    if (current) {
      const seg = segments.find((s) => s.path === current?.path);
      if (seg) {
        for (const item of scanSegment(seg.path, { fromOffset: current.offset })) {
          if (item.type !== 'frame') break;
          current.offset = item.end;
          const record = decodeRecord(item.body, seg, item.offset);
          if (record.seq > lastSeq) {
            lastSeq = record.seq;
            print(toJournalEvent(record));
          }
        }
        const next = segments.find((s) => s.firstSeq > (seg.firstSeq ?? 0));
        if (next && next.firstSeq <= lastSeq + 1) current = { path: next.path, offset: undefined };
      }
    }
    await sleep(POLL_MS, undefined, { signal: stop }).catch(() => undefined);
  }
}
