import type { IncomingMessage, ServerResponse } from 'node:http';
import { PalyraError, type InternalErrorReport } from '../../base/index.ts';
import type { GatewayRuntimeState, RunView } from '../../gateway/index.ts';
import type { ApprovalRegistry, ApprovalResolution } from '../../policy/index.ts';
import { authorizeConsoleRequest } from '../console/console-auth.ts';
import type { ConsoleSessions } from '../console/console-sessions.ts';
import { bearerToken, integerParam, readJson, requestUrl, Router, sendError, sendJson, writeStreamed, type RouteContext } from './http-kit.ts';
import { renderPrometheus, type Sample } from './metrics.ts';

/** What the API serves from. */
export interface ApiDeps {
  gateway: GatewayRuntimeState;
  approvals: ApprovalRegistry;
  /** True when the presented bearer token may use the API. */
  authenticate: (token: string | null) => boolean;
  /**
   * Web console sessions. When set, a request to /api/v1 without a valid bearer token is
   * accepted with a live console session cookie, and for writes its CSRF token
   * (core/transport/console/console-auth.ts). /v1 and /metrics stay bearer-only.
   */
  consoleSessions?: ConsoleSessions;
  /** Journal head and counters for /api/v1/journal (and /healthz). */
  journalStatus: () => Record<string, unknown>;
  /** Extra readiness check (e.g. the journal is open and not broken). */
  ready: () => boolean;
  /** Samples for GET /metrics (Prometheus text; needs the token like the API). */
  metrics?: () => Sample[];
  /** A run's tape from the journal (GET /api/v1/runs/{id}/tape). */
  runTape?: (runId: string) => { sessionId: string | null; events: unknown[] };
  /** The policy set in force (GET /api/v1/policies). */
  policies?: () => { hash: string; policies: { id: string; origin: unknown }[] };
  version: string;
  bodyLimit?: number;
  /**
   * More routes (the OpenAI-compatible surface, ...), added after the API's own. Every
   * route under /api/ or /v1/ needs the admin token, like the API's.
   */
  extraRoutes?: (router: Router) => void;
  /** Told of errors that are bugs (not PalyraErrors); the client gets only a reference (see clientErrorBody). */
  onInternalError?: InternalErrorReport;
}

/** Longest a `?wait=true` request waits for its run before answering with the run as it is. */
const MAX_WAIT_MS = 10 * 60_000;

/**
 * The HTTP API (JSON everywhere). Every route under /api/, /v1/ and /metrics needs the
 * admin bearer token; /api/v1/ also takes a web console session (see `consoleSessions`).
 * Errors are `{"error":{"code","message"}}` with a status derived from the code.
 */
export function createApi(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { gateway } = deps;
  const limit = deps.bodyLimit;
  const router = new Router()
    .add('GET', '/healthz', ({ res }) => sendJson(res, 200, { status: 'ok', version: deps.version, journal: deps.journalStatus().head ?? null }))
    .add('GET', '/readyz', ({ res }) => (deps.ready() ? sendJson(res, 200, { ready: true }) : sendJson(res, 503, { ready: false })))
    .add('GET', '/metrics', ({ res }) => {
      const text = renderPrometheus(deps.metrics?.() ?? []);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    })
    .add('POST', '/api/v1/sessions', async ({ req, res }) => {
      const body = await readJson(req, limit);
      const { session, created } = await gateway.sessions.create(body as never);
      sendJson(res, created ? 201 : 200, { id: session.id, session });
    })
    .add('GET', '/api/v1/sessions', ({ res, query }) => sendJson(res, 200, { sessions: gateway.sessions.list({ includeArchived: query.get('archived') === 'true' }) }))
    .add('GET', '/api/v1/sessions/:id', ({ res, params }) => sendJson(res, 200, { session: gateway.sessions.resolve(params.id as string) }))
    .add('POST', '/api/v1/sessions/:id/archive', async ({ res, params }) => sendJson(res, 200, { session: await gateway.archiveSession(params.id as string) }))
    .add('POST', '/api/v1/sessions/:id/messages', async ({ req, res, params, query }) => {
      const body = await readJson(req, limit);
      const admission = await gateway.admit(params.id as string, { text: body.text, idempotencyKey: body.idempotencyKey, mode: body.mode });
      if (query.get('wait') !== 'true') return sendJson(res, 202, admission);
      const run = await waitBounded(gateway.waitFor(admission.runId), () => gateway.run(admission.runId));
      sendJson(res, 200, { ...admission, run });
    })
    .add('GET', '/api/v1/runs', ({ res, query }) => sendJson(res, 200, { runs: gateway.listRuns({ sessionId: query.get('session') ?? undefined, limit: intParam(query, 'limit', 100) }) }))
    .add('GET', '/api/v1/runs/:id', ({ res, params }) => sendJson(res, 200, { run: gateway.run(params.id as string) }))
    .add('POST', '/api/v1/runs/:id/cancel', async ({ res, params }) => sendJson(res, 200, { run: await gateway.cancel(params.id as string) }))
    .add('POST', '/api/v1/runs/:id/resume', async ({ res, params }) => sendJson(res, 202, await gateway.resume(params.id as string)))
    .add('GET', '/api/v1/runs/:id/events', (ctx) => streamRunEvents(ctx, gateway))
    .add('GET', '/api/v1/runs/:id/tape', ({ res, params }) => {
      if (!deps.runTape) throw new PalyraError('PALYRA_NOT_FOUND', 'Tapes are not served here');
      const tape = deps.runTape(params.id as string);
      sendJson(res, 200, { runId: params.id, sessionId: tape.sessionId, events: tape.events });
    })
    .add('GET', '/api/v1/policies', ({ res }) => {
      if (!deps.policies) throw new PalyraError('PALYRA_NOT_FOUND', 'Policies are not served here');
      sendJson(res, 200, deps.policies());
    })
    .add('GET', '/api/v1/approvals', ({ res }) => sendJson(res, 200, { approvals: deps.approvals.pending() }))
    .add('POST', '/api/v1/approvals/:id', async ({ req, res, params }) => {
      const body = await readJson(req, limit);
      const outcome = await deps.approvals.resolve(params.id as string, resolution(body));
      sendJson(res, 200, { outcome: { type: outcome.type, approvalId: outcome.approval.id } });
    })
    .add('GET', '/api/v1/journal', ({ res }) => sendJson(res, 200, deps.journalStatus()));
  deps.extraRoutes?.(router);

  return (req, res) => {
    void (async () => {
      try {
        const url = requestUrl(req);
        // Authentication before routing: a caller without a token learns nothing about
        // which routes exist, and a malformed path is not parsed for it.
        if ((url.pathname.startsWith('/api/') || url.pathname.startsWith('/v1/') || url.pathname === '/metrics') && !deps.authenticate(bearerToken(req))) {
          // Bearer clients never reach this; a browser's console cookie is the only other way in.
          if (!deps.consoleSessions || !url.pathname.startsWith('/api/v1/')) {
            throw new PalyraError('PALYRA_UNAUTHORIZED', 'A valid bearer token is required (the admin token is in the state directory: auth/admin.token)');
          }
          authorizeConsoleRequest(req, deps.consoleSessions);
        }
        const { handler, params } = router.match(req.method ?? 'GET', url.pathname);
        await handler({ req, res, params, query: url.searchParams });
      } catch (error) {
        sendError(res, error, deps.onInternalError);
      }
    })();
  };
}

/** The finished run, or the run as it stands when the wait runs out (read then, not when the wait began). */
function waitBounded(done: Promise<RunView>, current: () => RunView): Promise<RunView> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(current()), MAX_WAIT_MS);
    timer.unref();
    void done.then((view) => {
      clearTimeout(timer);
      resolve(view);
    });
  });
}

function intParam(query: URLSearchParams, name: string, fallback: number): number {
  return integerParam(query.get(name), name, 1, 10_000, fallback);
}

function resolution(body: Record<string, unknown>): ApprovalResolution {
  const by = typeof body.by === 'string' && body.by !== '' ? body.by : 'operator';
  if (body.decision === 'deny') return { type: 'deny', by, reason: typeof body.reason === 'string' ? body.reason : undefined } as ApprovalResolution;
  if (body.decision === 'approve') {
    const scope = body.scope ?? 'once';
    if (scope !== 'once' && scope !== 'session' && scope !== 'always') throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'scope must be once, session or always');
    return { type: 'approve', scope, by, bindArgs: body.bindArgs !== false };
  }
  throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'decision must be "approve" or "deny"');
}

/**
 * Server-sent events of one run: every event with its per-run `id`, resuming after the
 * `Last-Event-ID` header (or `?after=`). The stream ends with an `end` event; asked after
 * the end of an ended run, the answer is 204, which tells an EventSource to stop reconnecting.
 */
function streamRunEvents({ req, res, params, query }: RouteContext, gateway: GatewayRuntimeState): void {
  const stream = gateway.events(params.id as string);
  const lastEventId = req.headers['last-event-id'];
  const after = integerParam(typeof lastEventId === 'string' ? lastEventId : query.get('after'), 'Last-Event-ID (or after)', 0, Number.MAX_SAFE_INTEGER, 0);
  if (stream.ended && after >= stream.lastSeq) {
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
    return;
  }
  if (req.method === 'HEAD') {
    // The headers of the stream, not a stream: a HEAD response has no body to wait on.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
  // Before the replay: once the replayed `end` closes the response, nothing may be written.
  if (stream.missedAfter(after)) res.write(`event: gap\ndata: ${JSON.stringify({ message: 'some events after Last-Event-ID are no longer buffered' })}\n\n`);
  // The replay of buffered events is written whole, in one go (they are held in memory
  // anyway, and even a reading client drains only afterwards); live events are capped.
  let replaying = true;
  const { unsubscribe } = stream.subscribe(after, (event) => {
    if (!writeStreamed(res, `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`, replaying ? Infinity : undefined)) return;
    if (event.type === 'end') res.end();
  });
  replaying = false;
  if (stream.ended && !res.writableEnded) res.end();
  req.on('close', unsubscribe);
  // A client gone mid-write must never take the daemon down.
  res.on('error', unsubscribe);
}
