import type { IncomingMessage, ServerResponse } from 'node:http';
import { PalyraError, sha256Hex, type InternalErrorReport } from '../../base/index.ts';
import type { Admission, GatewayRuntimeState, RunView } from '../../gateway/index.ts';
import { readJson, sendJson, type Router } from '../http/http-kit.ts';
import { chatCompletion } from './chat-completion.ts';
import { parseChatRequest, type ChatRequest } from './chat-request.ts';
import { streamRun } from './chat-stream.ts';
import { OpenAiHttpError, openAiErrorType, runEndedError, sendOpenAiError } from './openai-errors.ts';

/** What the OpenAI-compatible surface serves from. */
export interface OpenAiRoutesDeps {
  gateway: GatewayRuntimeState;
  /** The daemon's model name: the one model listed and named in every answer. */
  model: string;
  /** Request body cap (default: the router's, 1 MiB). */
  bodyLimit?: number;
  /** Longest a non-streaming request waits for its run (default 10 minutes); then 504. */
  maxWaitMs?: number;
  /** Unix ms the daemon started, shown as the model's `created` (default: now). */
  startedAt?: number;
  /** Told of errors that are bugs (not PalyraErrors); the client gets only a reference (see clientErrorBody). */
  onInternalError?: InternalErrorReport;
}

/** The channel of sessions this surface creates, so policies can tell them apart. */
export const OPENAI_CHANNEL = 'openai';

const DEFAULT_MAX_WAIT_MS = 10 * 60_000;

/**
 * Adds the OpenAI-compatible surface to a router: `POST /v1/chat/completions` (streaming
 * or not) and `GET /v1/models`. Pass it as `createApi({ extraRoutes })`, which checks the
 * admin bearer token (the client's API key) on every /v1/ route. Errors are OpenAI-shaped
 * (`{"error":{"message","type","code","param"}}`). See docs/openai-surface.md.
 */
export function registerOpenAiRoutes(router: Router, deps: OpenAiRoutesDeps): Router {
  const created = Math.floor((deps.startedAt ?? Date.now()) / 1000);
  return router
    .add('GET', '/v1/models', ({ res }) => sendJson(res, 200, { object: 'list', data: [{ id: deps.model, object: 'model', created, owned_by: 'palyrad' }] }))
    .add('GET', '/v1/models/:id', ({ res, params }) => {
      if (params.id !== deps.model) return sendOpenAiError(res, new PalyraError('PALYRA_NOT_FOUND', `No model "${params.id}": palyrad serves "${deps.model}"`));
      sendJson(res, 200, { id: deps.model, object: 'model', created, owned_by: 'palyrad' });
    })
    .add('POST', '/v1/chat/completions', async ({ req, res }) => {
      try {
        await chatCompletions(req, res, deps);
      } catch (error) {
        sendOpenAiError(res, error, deps.onInternalError);
      }
    });
}

async function chatCompletions(req: IncomingMessage, res: ServerResponse, deps: OpenAiRoutesDeps): Promise<void> {
  const { gateway } = deps;
  const request = parseChatRequest(await readJson(req, deps.bodyLimit));
  const idempotencyKey = headerValue(req, 'idempotency-key');
  // Checked here too, before a session is chosen: a refused request must create none.
  if (idempotencyKey !== null && (idempotencyKey === '' || idempotencyKey.length > 200)) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', 'idempotencyKey must be a string of 1–200 characters');
  }
  const sessionId = await chooseSession(gateway, { request, sessionRef: headerValue(req, 'x-palyra-session'), idempotencyKey });
  const admission = await gateway.admit(sessionId, { text: request.text, idempotencyKey: idempotencyKey ?? undefined });
  const run = knownRun(gateway, admission);
  const headers = { 'x-palyra-run-id': run.runId, 'x-palyra-session-id': run.sessionId };
  if (request.stream) return streamRun(res, { gateway, runId: run.runId, model: deps.model, includeUsage: request.includeUsage, headers });
  const ended = await waitAtMost(gateway.waitFor(run.runId), deps.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
  if (ended === null) {
    const message = `Run "${run.runId}" is still going (waiting for an approval?); its answer will be in the session history and on GET /api/v1/runs/${run.runId}`;
    throw new OpenAiHttpError(504, { error: { message, type: openAiErrorType(504), code: 'run_still_going', param: null, run_id: run.runId } }, false);
  }
  if (ended.state !== 'completed') throw runEndedError(ended);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  sendJson(res, 200, chatCompletion(ended, deps.model));
}

/**
 * The session a request talks to: `openai:<user>` when the body names a user; else the
 * session named by the `x-palyra-session` header (id, key or label); else a new one —
 * keyed by the idempotency key when there is one, so a retried request finds its first
 * admission instead of starting a second run.
 */
async function chooseSession(gateway: GatewayRuntimeState, from: { request: ChatRequest; sessionRef: string | null; idempotencyKey: string | null }): Promise<string> {
  if (from.request.user !== null) return (await gateway.sessions.create({ key: `openai:${from.request.user}`, channel: OPENAI_CHANNEL })).session.id;
  if (from.sessionRef !== null) return gateway.sessions.live(from.sessionRef).id;
  const key = from.idempotencyKey === null ? undefined : `openai-request:${sha256Hex(from.idempotencyKey).slice(0, 32)}`;
  return (await gateway.sessions.create({ key, channel: OPENAI_CHANNEL })).session.id;
}

/** The admitted run; a duplicate of a request admitted before a restart has no live run. */
function knownRun(gateway: GatewayRuntimeState, admission: Admission): RunView {
  try {
    return gateway.run(admission.runId);
  } catch (error) {
    if (!admission.duplicate) throw error;
    const message = `This Idempotency-Key was used for run "${admission.runId}" before the daemon restarted; its record is in the journal`;
    throw new OpenAiHttpError(409, { error: { message, type: openAiErrorType(409), code: 'duplicate_request', param: null, run_id: admission.runId } }, false);
  }
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first !== '' ? first : null;
}

/** The run when it ends within `ms`, else null. */
function waitAtMost(done: Promise<RunView>, ms: number): Promise<RunView | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    timer.unref();
    void done.then((view) => {
      clearTimeout(timer);
      resolve(view);
    });
  });
}
