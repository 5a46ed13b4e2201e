import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Test support for the adapter tests: a local HTTP server on 127.0.0.1, port 0, that
 * records each request and answers with a scripted response written chunk by chunk.
 * Not part of the provider runtime.
 */

/** One scripted answer. `hang` never answers; `stallAfter` stops writing after that many chunks. */
export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  chunks?: Uint8Array[];
  hang?: boolean;
  stallAfter?: number;
}

/** A request the server received. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A running fixture server. */
export interface FixtureServer {
  baseUrl: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a server answering every request with `respond(request)`. */
export async function startFixtureServer(respond: (request: ReceivedRequest) => ScriptedResponse): Promise<FixtureServer> {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts).toString('utf8') };
      requests.push(received);
      const scripted = respond(received);
      if (scripted.hang === true) return;
      // Why no Nagle: small writes must reach the client as separate TCP segments.
      res.socket?.setNoDelay(true);
      res.writeHead(scripted.status ?? 200, { 'content-type': 'text/event-stream', ...scripted.headers });
      void writeChunks(res, scripted.chunks ?? [], scripted.stallAfter);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function writeChunks(res: import('node:http').ServerResponse, chunks: Uint8Array[], stallAfter: number | undefined): Promise<void> {
  for (const [i, chunk] of chunks.entries()) {
    if (stallAfter !== undefined && i >= stallAfter) return;
    if (res.destroyed) return;
    res.write(chunk);
    // A macrotask between writes so chunk boundaries survive to the socket.
    await new Promise((r) => setImmediate(r));
  }
  res.end();
}

/** Cuts bytes at pseudo-random boundaries (deterministic per seed); size 1 gives 1-byte chunks. */
export function cutBytes(bytes: Uint8Array, seed: number, maxSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let state = seed >>> 0 || 1;
  for (let i = 0; i < bytes.length; ) {
    // xorshift32: a reproducible cut pattern, so a failing seed can be replayed.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const size = 1 + ((state >>> 0) % maxSize);
    out.push(bytes.slice(i, i + size));
    i += size;
  }
  return out;
}
