import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JournalStore } from '../journal/index.ts';
import type { WorkerHubEvent } from '../transport/index.ts';
import { recordWorkerEvent } from './worker-events.ts';

/** The text log lines and journal appends `events` produce, as `palyrad serve` writes them. */
function record(events: WorkerHubEvent[]): { lines: string[]; appended: unknown[] } {
  let text = '';
  const appended: unknown[] = [];
  const journal = { append: async (event: unknown) => appended.push(event) } as unknown as JournalStore;
  for (const event of events) recordWorkerEvent(journal, (message) => (text += `palyrad: ${message}\n`), event);
  return { lines: text.split('\n').slice(0, -1), appended };
}

test('a worker\'s close reason and refusal reasons are quoted and escaped: one event, one log line', () => {
  const forged = 'bye\npalyrad: policies replaced over the API: set 0000000000ab (1 file(s))';
  const { lines, appended } = record([
    { type: 'disconnected', worker: 'w1', code: 4000, reason: forged, failedCalls: 0 },
    { type: 'refused', worker: 'w1', reason: 'Cannot register tool "worker.w1.x\r\npalyrad: fake": bad' },
    { type: 'refused', worker: 'w1', reason: 'esc \u001b[2K del \u007f nel \u0085 ls \u2028 rlo \u202e "quoted" \\' },
    { type: 'disconnected', worker: 'w1', code: 1000, reason: 'a newer connection of this worker took over', failedCalls: 2 },
  ]);
  assert.deepEqual(lines, [
    'palyrad: worker "w1" disconnected (4000: "bye\\npalyrad: policies replaced over the API: set 0000000000ab (1 file(s))"); 0 call(s) in flight failed',
    'palyrad: worker "w1" refused: "Cannot register tool \\"worker.w1.x\\r\\npalyrad: fake\\": bad"',
    'palyrad: worker "w1" refused: "esc \\u001b[2K del \\u007f nel \\u0085 ls \\u2028 rlo \\u202e \\"quoted\\" \\\\"',
    'palyrad: worker "w1" disconnected (1000: "a newer connection of this worker took over"); 2 call(s) in flight failed',
  ]);
  // The journal keeps the reason as the peer sent it: structured data needs no escaping.
  assert.deepEqual(appended[0], { kind: 'worker.disconnected', actor: 'system', principal: 'worker:w1', payload: { worker: 'w1', code: 4000, reason: forged, failedCalls: 0 } });
});

test('a long peer-supplied reason is cut short in the log line, and kept whole in the journal', () => {
  const reason = `strict mode: unknown keyword: "${'k'.repeat(10_000)}"`;
  const { lines, appended } = record([{ type: 'refused', worker: 'w1', reason }]);
  assert.deepEqual(lines, [`palyrad: worker "w1" refused: ${JSON.stringify(`${reason.slice(0, 500)}... (${reason.length - 500} more characters)`)}`]);
  assert.deepEqual(appended, [{ kind: 'worker.refused', actor: 'system', principal: 'worker:w1', payload: { worker: 'w1', reason } }]);
});
