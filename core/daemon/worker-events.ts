/**
 * What the daemon does when a remote worker comes, goes or is refused: one log line and
 * one journal event (`worker.connected`, `worker.disconnected`, `worker.refused`), so an
 * audit shows which tools were reachable when. The append is not awaited: the hub's
 * bookkeeping must not wait on the disk, and a failed append is logged.
 */
import type { JournalStore } from '../journal/index.ts';
import type { Sample, WorkerHub, WorkerHubEvent } from '../transport/index.ts';

/** Logs and journals one worker event. */
export function recordWorkerEvent(journal: JournalStore, log: (message: string, fields?: Record<string, unknown>) => void, event: WorkerHubEvent): void {
  switch (event.type) {
    case 'connected':
      log(`worker "${event.worker}" connected${event.replaced ? ' (replacing its previous connection)' : ''} with ${event.tools.length} tool(s)`, { worker: event.worker, tools: event.tools });
      break;
    case 'disconnected':
      log(`worker "${event.worker}" disconnected (${event.code}: ${loggable(event.reason)}); ${event.failedCalls} call(s) in flight failed`, { worker: event.worker, code: event.code, failedCalls: event.failedCalls });
      break;
    case 'refused':
      log(`worker "${event.worker}" refused: ${loggable(event.reason)}`, { worker: event.worker });
      break;
    default: {
      const unreachable: never = event;
      throw new Error(`Unknown worker event ${JSON.stringify(unreachable)}`);
    }
  }
  const { type, ...payload } = event;
  journal.append({ kind: `worker.${type}`, actor: 'system', principal: `worker:${event.worker}`, payload }).catch((error: unknown) => log(`journal: cannot record worker.${type}: ${(error as Error).message}`));
}

/** Longest reason a log line quotes, in UTF-16 code units; the journal keeps it whole. */
const MAX_LOGGED_REASON = 500;

/**
 * Peer-supplied text (a close frame's reason, a refusal naming what the hello sent) as
 * one quoted, escaped token of a log line.
 * Security: the worker chooses this text; raw, a line break in it would start a line of
 * its own that reads like the daemon's (`palyrad: policies replaced ...`), and terminal
 * escapes or bidirectional overrides could disguise the line. JSON.stringify escapes C0
 * controls, quotes and lone surrogates; DEL, C1 controls, the Unicode line and paragraph
 * separators and bidi controls are escaped here as well.
 */
function loggable(text: string): string {
  const cut = text.length > MAX_LOGGED_REASON ? `${text.slice(0, MAX_LOGGED_REASON)}... (${text.length - MAX_LOGGED_REASON} more characters)` : text;
  return JSON.stringify(cut).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The `palyra_workers_connected` gauge. */
export function workersGauge(hub: WorkerHub): Sample {
  return { name: 'palyra_workers_connected', help: 'Remote workers registered now.', type: 'gauge', value: hub.workers().length };
}
