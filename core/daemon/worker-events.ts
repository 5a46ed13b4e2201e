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
      log(`worker "${event.worker}" disconnected (${event.code}: ${event.reason}); ${event.failedCalls} call(s) in flight failed`, { worker: event.worker, code: event.code, failedCalls: event.failedCalls });
      break;
    case 'refused':
      log(`worker "${event.worker}" refused: ${event.reason}`, { worker: event.worker });
      break;
    default: {
      const unreachable: never = event;
      throw new Error(`Unknown worker event ${JSON.stringify(unreachable)}`);
    }
  }
  const { type, ...payload } = event;
  journal.append({ kind: `worker.${type}`, actor: 'system', principal: `worker:${event.worker}`, payload }).catch((error: unknown) => log(`journal: cannot record worker.${type}: ${(error as Error).message}`));
}

/** The `palyra_workers_connected` gauge. */
export function workersGauge(hub: WorkerHub): Sample {
  return { name: 'palyra_workers_connected', help: 'Remote workers registered now.', type: 'gauge', value: hub.workers().length };
}
