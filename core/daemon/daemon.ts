import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorBody, PalyraError } from '../base/index.ts';
import { JournalStore } from '../journal/index.ts';
import { journalOptionsFor } from './journal-options.ts';
import { reapStalePids } from '../tools/index.ts';
import { acquireStateLock, type StateLock } from './state-lock.ts';
import { initStateDir, type StatePaths } from './state-dir.ts';

/** What `palyrad serve` needs to start. */
export interface DaemonOptions {
  stateDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  version: string;
  /** Human or JSON log lines go here. */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A running daemon. */
export interface RunningDaemon {
  port: number;
  paths: StatePaths;
  journal: JournalStore;
  /** Stops accepting, flushes the journal, writes a final checkpoint, releases the lock. */
  stop(reason: string): Promise<void>;
}

/**
 * Starts the daemon: takes the state lock (refused while another daemon or offline
 * writer holds it; a dead holder's lock is taken over), opens the journal, and serves
 * `GET /healthz` on loopback. Later issues add the gateway and its transports here.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const log = options.log ?? (() => undefined);
  const paths = initStateDir(options.stateDir);
  const lock = acquireStateLock(paths.lock, { mode: 'serve', command: 'palyrad serve' });
  if (lock.tookOverStaleFrom) log(`took over a stale lock from pid ${lock.tookOverStaleFrom.pid}`, { stalePid: lock.tookOverStaleFrom.pid });
  // Processes a crashed daemon started may still run: kill what is left of them before
  // anything new is spawned.
  for (const reaped of reapStalePids(paths.root)) {
    if (reaped.action === 'killed') log(`killed a process group left by a previous daemon: ${reaped.record?.argv.join(' ') ?? reaped.file}`, { reaped: reaped.record?.pid });
  }
  let journal: JournalStore | undefined;
  let server: Server | undefined;
  try {
    journal = await JournalStore.open({
      ...journalOptionsFor(paths, { version: options.version }),
      onWarning: (m) => log(`journal: ${m}`, { warning: m }),
    });
    if (journal.recovery) log(`journal recovered after a crash: cut ${journal.recovery.cutBytes} torn bytes (kept in ${journal.recovery.quarantinedTo})`);
    const store = journal;
    server = createServer((req, res) => handle(req, res, store, options.version));
    const port = await listen(server, options.port);
    lock.update({ port });
    await journal.append({ kind: 'daemon.started', actor: 'system', payload: { version: options.version, pid: process.pid, port } });
    return { port, paths, journal, stop: stopper(server, journal, lock, log) };
  } catch (error) {
    server?.close();
    await journal?.close().catch(() => undefined);
    lock.release();
    throw error;
  }
}

function stopper(server: Server, journal: JournalStore, lock: StateLock, log: NonNullable<DaemonOptions['log']>) {
  let stopping: Promise<void> | null = null;
  return (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log(`stopping: ${reason}`);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      try {
        await journal.append({ kind: 'daemon.stopped', actor: 'system', payload: { reason } });
      } finally {
        await journal.close();
        lock.release();
      }
      log('stopped cleanly');
    })();
    return stopping;
  };
}

function handle(req: IncomingMessage, res: ServerResponse, journal: JournalStore, version: string): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, errorBody(new PalyraError('PALYRA_USAGE', `Method ${req.method} is not allowed on /healthz`)));
    const head = journal.durable;
    return send(res, 200, { status: 'ok', version, journal: { seq: head.seq, hash: head.hash } });
  }
  send(res, 404, errorBody(new PalyraError('PALYRA_NOT_FOUND', `No route for ${req.method} ${url.pathname}`)));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new PalyraError('PALYRA_IO', `Cannot listen on 127.0.0.1:${port}: the port is in use (pick another with --port)`)
          : new PalyraError('PALYRA_IO', `Cannot listen on 127.0.0.1:${port}: ${error.code ?? error.message}`),
      );
    });
    // Security: loopback only until the daemon has authentication and TLS.
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}
