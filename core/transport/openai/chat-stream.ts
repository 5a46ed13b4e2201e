import type { ServerResponse } from 'node:http';
import type { GatewayRuntimeState, RunView } from '../../gateway/index.ts';
import { chatChunk, completionIdentity, usageOf, type ChunkBody } from './chat-completion.ts';
import { runEndedError } from './openai-errors.ts';
import { writeStreamed } from '../http/http-kit.ts';

/** A comment line this often keeps proxies from closing a stream that waits (e.g. for an approval). */
const HEARTBEAT_MS = 15_000;

/** What streaming one run needs. */
export interface StreamRunOptions {
  gateway: GatewayRuntimeState;
  runId: string;
  model: string;
  includeUsage: boolean;
  /** Extra response headers (run and session ids). */
  headers: Record<string, string>;
}

/**
 * Streams a run as OpenAI server-sent events: a role chunk, a content chunk per text
 * delta (text of successive model turns separated by a blank line), a finish chunk, a
 * usage chunk when asked for, then `data: [DONE]`. A run that fails or is cancelled ends
 * with `data: {"error":{…}}` before `[DONE]`, which OpenAI clients raise as an APIError.
 * Tool calls stay inside palyrad and are not streamed as `tool_calls`.
 *
 * Invariant: a client that disconnects only stops its own stream; the run goes on, its
 * answer joins the session history and its tape is journaled as usual.
 */
export function streamRun(res: ServerResponse, options: StreamRunOptions): void {
  const { gateway, runId, includeUsage } = options;
  const events = gateway.events(runId);
  const identity = completionIdentity(gateway.run(runId), options.model);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', ...options.headers });
  // What the run had already streamed is written whole when the client subscribes (a
  // reading client drains only afterwards); live chunks are capped (writeStreamed).
  let replaying = true;
  const send = (data: unknown): void => {
    writeStreamed(res, `data: ${JSON.stringify(data)}\n\n`, replaying ? Infinity : undefined);
  };
  const chunk = (body: ChunkBody): void => send(chatChunk(identity, body, includeUsage));
  const heartbeat = setInterval(() => writeStreamed(res, ': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  chunk({ type: 'role' });
  let lastTurn: number | null = null;
  const { unsubscribe } = events.subscribe(0, (event) => {
    if (res.writableEnded || res.destroyed) return;
    if (event.type === 'text_delta') {
      const { turn, text } = event.data as { turn: number; text: string };
      if (text === '') return;
      const separator = lastTurn !== null && turn !== lastTurn ? '\n\n' : '';
      lastTurn = turn;
      chunk({ type: 'content', text: separator + text });
    } else if (event.type === 'end') {
      const run = event.data as unknown as RunView;
      if (run.state === 'completed') {
        chunk({ type: 'finish' });
        if (includeUsage) chunk({ type: 'usage', usage: usageOf(run) });
      } else {
        send(runEndedError(run).body);
      }
      clearInterval(heartbeat);
      if (!res.destroyed) res.end('data: [DONE]\n\n');
    }
  });
  replaying = false;
  res.on('close', () => {
    clearInterval(heartbeat);
    unsubscribe();
  });
}
