/**
 * A local HTTP server for the `http.fetch` tests (127.0.0.1, port 0; never the internet),
 * and the tool context they run with. Test support only: nothing in the daemon imports it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ToolContext } from '../tool.ts';

/** A running test server: its base URL, the requests it saw, and how to stop it. */
export interface TestServer {
  port: number;
  base: string;
  /** Every request received: method, path, lowercased headers, body. */
  seen: { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }[];
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string, url: URL) => void;

const send = (res: ServerResponse, status: number, type: string | null, body: string | Uint8Array): void => {
  res.sendDate = false;
  if (type !== null) res.setHeader('content-type', type);
  res.setHeader('set-cookie', 'session=secret');
  res.setHeader('x-internal-trace', 'abc');
  res.statusCode = status;
  res.end(body);
};

const ROUTES: Record<string, Route> = {
  '/text': (_q, res) => send(res, 200, 'text/plain; charset=utf-8', 'hello'),
  '/json': (_q, res) => send(res, 200, 'application/problem+json', '{"ok":true}'),
  '/echo': (req, res, body) => send(res, 200, 'application/json', JSON.stringify({ method: req.method, headers: req.headers, body })),
  '/big': (_q, res) => send(res, 200, 'text/plain', 'a'.repeat(10_000)),
  // Bytes JSON escapes the most: a quote doubles, a control byte grows sixfold.
  '/escapes': (_q, res) => send(res, 200, 'text/plain', Buffer.alloc(100_000, '"\u0001')),
  '/utf8': (_q, res) => send(res, 200, 'text/plain; charset=utf-8', 'ab€cd'),
  '/latin1': (_q, res) => send(res, 200, 'text/plain; charset=iso-8859-1', Uint8Array.from([0x63, 0x61, 0x66, 0xe9])),
  '/pdf': (_q, res) => send(res, 200, 'application/pdf', '%PDF-1.4'),
  '/png': (_q, res) => send(res, 200, 'image/png', Uint8Array.from([0x89, 0x50, 0x4e, 0x47])),
  '/untyped': (_q, res) => send(res, 200, null, 'what am I'),
  '/gzip': (_q, res) => {
    res.setHeader('content-encoding', 'gzip');
    send(res, 200, 'text/plain', Uint8Array.from([0x1f, 0x8b]));
  },
  '/empty': (_q, res) => send(res, 204, null, ''),
  '/status': (_q, res, _b, url) => send(res, Number(url.searchParams.get('code')), 'text/html', '<h1>nope</h1>'),
  '/endless': (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('x'.repeat(1024)), 1);
    res.on('close', () => clearInterval(timer));
  },
  '/hang': () => undefined,
  '/slow-body': (_q, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
  },
  '/redirect': (_q, res, _b, url) => {
    res.setHeader('location', url.searchParams.get('to') ?? '/text');
    send(res, Number(url.searchParams.get('status') ?? '302'), 'text/plain', 'moved');
  },
  '/chain': (_q, res, _b, url) => {
    const n = Number(url.searchParams.get('n'));
    if (n === 0) return send(res, 200, 'text/plain', 'end of chain');
    res.setHeader('location', `/chain?n=${n - 1}`);
    send(res, 302, 'text/plain', '');
  },
};

/** Starts the test server on 127.0.0.1, port 0. */
export async function startTestServer(): Promise<TestServer> {
  const seen: TestServer['seen'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://test');
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const route = ROUTES[url.pathname];
      if (route) route(req, res, body, url);
      else send(res, 404, 'text/plain', 'not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A tool context for tests; pass a signal to test cancellation. */
export function testContext(signal: AbortSignal = new AbortController().signal): ToolContext {
  return { workspace: '/nonexistent', stateDir: '/nonexistent', signal, sessionId: null };
}
