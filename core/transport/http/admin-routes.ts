/**
 * The operator's routes beside the session API: the tools in force, the journal (events
 * after a seq, verification) and replacing the policy set. They sit behind the same admin
 * token as every /api route (createApi checks it before any handler runs).
 */
import { PalyraError, type JsonValue } from '../../base/index.ts';
import { integerParam, readJson, sendJson, type Router } from './http-kit.ts';

/** What the admin routes serve from; the daemon wires each to its owner. */
export interface AdminRoutesDeps {
  /** The tools registered now, as plain data (ToolRegistry.list()). */
  tools: () => unknown[];
  /** Durable journal events after a seq, oldest first (JournalStore.eventsAfter). */
  journalEventsAfter: (afterSeq: number, limit: number) => unknown[];
  /** Verifies the whole journal (as `palyrad journal verify`); may take seconds on a big one. */
  verifyJournal: () => Promise<{ ok: boolean; head: { seq: number } | null }>;
  /** Replaces the operator's policy files; validates first, journals what it did. */
  replacePolicies: (files: Record<string, string>) => Promise<Record<string, unknown>>;
  bodyLimit?: number;
}

/** Most events one GET /api/v1/journal/events returns. */
const MAX_EVENTS_PAGE = 1000;

export function registerAdminRoutes(router: Router, deps: AdminRoutesDeps): void {
  const verifyOnce = singleFlight(deps.verifyJournal);
  router
    .add('GET', '/api/v1/tools', ({ res }) => sendJson(res, 200, { tools: deps.tools() }))
    .add('GET', '/api/v1/journal/events', ({ res, query }) => {
      const after = integerParam(query.get('after'), 'after', 0, Number.MAX_SAFE_INTEGER, 0);
      const limit = integerParam(query.get('limit'), 'limit', 1, MAX_EVENTS_PAGE, 100);
      const events = deps.journalEventsAfter(after, limit);
      const last = events.at(-1) as { seq?: number } | undefined;
      sendJson(res, 200, { events, next: last?.seq ?? after });
    })
    .add('GET', '/api/v1/journal/verify', async ({ res }) => {
      const report = await verifyOnce();
      sendJson(res, 200, { report });
    })
    .add('PUT', '/api/v1/policies', async ({ req, res }) => {
      const body = await readJson(req, deps.bodyLimit);
      const files = body.files;
      if (files === null || typeof files !== 'object' || Array.isArray(files)) {
        throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'Send {"files": {"name.cedar": "<Cedar text>", ...}}: the whole operator policy set, replacing the current one');
      }
      try {
        sendJson(res, 200, await deps.replacePolicies(files as Record<string, string>));
      } catch (error) {
        // A set that fails validation is the caller's to fix: 422 with every problem listed.
        if (error instanceof PalyraError && error.code === 'PALYRA_POLICY_INVALID') {
          const problems = (error.details as { problems?: JsonValue } | undefined)?.problems ?? [];
          return sendJson(res, 422, { error: { code: error.code, message: error.message, problems } });
        }
        throw error;
      }
    });
}

/** Concurrent callers share one run of `fn`: a burst of verify requests verifies once. */
function singleFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () => {
    running ??= fn().finally(() => {
      running = null;
    });
    return running;
  };
}
