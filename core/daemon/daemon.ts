import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { PalyraError, systemClock } from '../base/index.ts';
import { assertWorkspaceApart, createJournalMemoryStore, GatewayRuntimeState } from '../gateway/index.ts';
import { JournalStore, loadTrustedKey, verifyJournal } from '../journal/index.ts';
import { ApprovalRegistry, policiesDir, PolicyStore, type PolicyReloadResult } from '../policy/index.ts';
import { readRunTapeOf } from '../gateway/index.ts';
import { answerClientErrorsAsJson, attachWebSocket, ConsoleSessions, createApi, registerAdminRoutes, registerConsoleRoutes, registerOpenAiRoutes, type Sample } from '../transport/index.ts';
import { adminTokenPath, loadOrCreateAdminToken, tokenMatches } from './admin-token.ts';
import { persistAndJournal } from './approved-policy.ts';
import { checkBind } from './bind-policy.ts';
import { loadConfig } from './config.ts';
import type { PalyraConfig } from './config-schema.ts';
import { providerFromConfig } from './providers-from-config.ts';
import { journalProviderSecrets } from './provider-secrets.ts';
import { journalOptionsFor } from './journal-options.ts';
import { internalErrorLogger } from './internal-error-log.ts';
import { createBuiltinRegistry, reapStalePids } from '../tools/index.ts';
import { acquireStateLock, type StateLock } from './state-lock.ts';
import { checkStateDirPath, initStateDir, type StatePaths } from './state-dir.ts';
import { createWorkerHub } from '../transport/index.ts';
import { recordWorkerEvent, workersGauge } from './worker-events.ts';
import { findWorkerByToken } from './worker-tokens.ts';
import { TokenSecrets } from './token-secrets.ts';
import { loadTlsFiles } from './tls-files.ts';
import { checkWorkspace, createWorkspace } from './workspace-dir.ts';

/** What `palyrad serve` needs to start. */
export interface DaemonOptions {
  stateDir: string;
  /** The effective configuration (see config.ts); loaded from the state directory when absent. */
  config?: PalyraConfig;
  /** Where API keys named by `apiKeyEnv` are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  version: string;
  /** Human or JSON log lines go here. */
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A running daemon. */
export interface RunningDaemon {
  port: number;
  /** Where it listens, e.g. http://127.0.0.1:7142. */
  url: string;
  /** Reads the policy folder again (SIGHUP): a set that fails to load is refused whole and the previous one stays. */
  reloadPolicies(): Promise<PolicyReloadResult>;
  paths: StatePaths;
  journal: JournalStore;
  /** The admin token's file (the bearer token every /api route needs). */
  adminTokenPath: string;
  /** Stops accepting, flushes the journal, writes a final checkpoint, releases the lock. */
  stop(reason: string): Promise<void>;
  /**
   * Settles if the state lock is lost while running (another process may now write the
   * state directory, see StateLock.assertHeld): the journal already refuses appends; the
   * daemon should be stopped.
   */
  lockLost: Promise<PalyraError>;
}

/**
 * Starts the daemon: takes the state lock (refused while another daemon or offline
 * writer holds it; a dead holder's lock is taken over), loads the policies, opens the
 * journal, and serves the HTTP API on loopback with the admin token (created on first
 * start). Providers and tools come from the configuration in a later step; until then
 * the embedded scripted provider and the built-in tools (process.run allowing nothing).
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  checkStateDirPath(options.stateDir);
  const config = options.config ?? loadConfig({ stateDir: options.stateDir, env }).config;
  // Everything a configuration can get wrong is checked before the state directory is
  // created or locked: a refused start leaves nothing behind.
  // Security: refuse to listen beyond loopback without TLS and a token.
  // (The admin token is created below, before the listener opens, so one always exists.)
  checkBind(config.server.host, { tls: config.server.tls, tokenConfigured: true });
  const tls = loadTlsFiles(config.server.tls);
  const { provider, model } = await providerFromConfig(config.providers, env, systemClock);
  checkWorkspace(config.tools.workspace);
  assertWorkspaceApart(config.tools.workspace, options.stateDir);
  const paths = initStateDir(options.stateDir);
  let journal: JournalStore | undefined;
  let lockLostNow: (error: PalyraError) => void = () => undefined;
  const lockLost = new Promise<PalyraError>((resolve) => {
    lockLostNow = resolve;
  });
  const lock = acquireStateLock(paths.lock, {
    mode: 'serve',
    command: 'palyrad serve',
    onWarning: (m) => log(m, { warning: m }),
    onLost: (error) => {
      log(error.message, { error: { code: error.code, message: error.message } });
      journal?.abandon(error);
      lockLostNow(error);
    },
  });
  if (lock.tookOverStaleFrom) log(`took over a stale lock from pid ${lock.tookOverStaleFrom.pid}`, { stalePid: lock.tookOverStaleFrom.pid });
  // Processes a crashed daemon started may still run: kill what is left of them before
  // anything new is spawned.
  for (const reaped of reapStalePids(paths.root)) {
    if (reaped.action === 'killed') log(`killed a process group left by a previous daemon: ${reaped.record?.argv.join(' ') ?? reaped.file}`, { reaped: reaped.record?.pid });
  }
  let server: Server | undefined;
  let approvals: ApprovalRegistry | undefined;
  let tokenSecrets: TokenSecrets | undefined;
  const startedAt = Date.now();
  try {
    const adminToken = loadOrCreateAdminToken(paths.root);
    // Security: the daemon's own tokens are secrets the journal must never hold either.
    tokenSecrets = new TokenSecrets(paths.root, { adminToken, onWarning: (m) => log(m, { warning: m }) });
    const policies = await PolicyStore.open(policiesDir(paths.root));
    journal = await JournalStore.open({
      ...journalOptionsFor(paths, { version: options.version, env, writerThread: config.journal.writerThread, extraSecrets: [...journalProviderSecrets(config.providers, env), ...tokenSecrets.values] }),
      indexRetention: config.journal.indexRetention,
      maxPayloadBytes: config.journal.maxPayloadBytes,
      onWarning: (m) => log(`journal: ${m}`, { warning: m }),
      // Nothing is written to a state directory whose lock may be someone else's.
      writeGuard: () => lock.assertHeld(),
    });
    if (journal.recovery) log(`journal recovered after a crash: cut ${journal.recovery.cutBytes} torn bytes (kept in ${journal.recovery.quarantinedTo})`);
    const store = journal;
    const tokens = tokenSecrets;
    tokens.attach(store.redactor);
    // Policy files are state too: written only while the lock is ours (checked before, not
    // only by the journal append after the files were swapped).
    const persistAndJournalPolicy = persistAndJournal(policies, store);
    approvals = new ApprovalRegistry({
      clock: systemClock,
      persistAlways: async (policy, context) => {
        lock.assertHeld();
        return persistAndJournalPolicy(policy, context);
      },
    });
    const workspace = config.tools.workspace;
    createWorkspace(workspace);
    // The memory tools' notes live in the journal (durable, redacted) and come back on start,
    // read in the gateway's one pass over the log.
    const memory = createJournalMemoryStore(store);
    const tools = createBuiltinRegistry({
      stateDir: paths.root,
      memoryStore: memory,
      process: config.tools.process,
      http: config.tools.http,
      plugins: config.tools.plugins,
    });
    // Remote workers' tools join `tools` as worker.<name>.* with capability "remote", so
    // the gateway's policy gate decides on them like on every other tool (docs/workers.md).
    const workers = createWorkerHub({
      registry: tools,
      authenticateWorker: (token) => {
        tokens.refresh();
        return findWorkerByToken(paths.root, token, { warn: (m) => log(m) });
      },
      onEvent: (event) => recordWorkerEvent(store, log, event),
    });
    const gateway = GatewayRuntimeState.open({
      journal: store,
      provider,
      model,
      tools,
      stateDir: paths.root,
      defaultWorkspace: workspace,
      policies: () => policies.current,
      approvals,
      memory,
      journalReaders: [(record) => memory.replay(record)],
      warn: (m) => log(m, { warning: m }),
      budgets: config.budgets,
      maxConcurrentRuns: config.gateway.maxConcurrentRuns,
      coalesceDebounceMs: config.gateway.coalesceDebounceMs,
      maxPendingPerConversation: config.gateway.maxPendingPerConversation,
    });
    // Web console logins (cookie + CSRF token), in memory: a restart logs consoles out.
    const consoleSessions = new ConsoleSessions();
    const onInternalError = internalErrorLogger(log, store.redactor);
    const api = createApi({
      onInternalError,
      gateway,
      approvals,
      authenticate: (token) => tokenMatches(adminToken, token),
      consoleSessions,
      journalStatus: () => ({ head: store.durable, checkpoint: store.latestCheckpoint, stats: store.stats() }),
      ready: () => store.failure === null && !gateway.stats().stopping,
      metrics: () => [...daemonMetrics(store, gateway, approvals as ApprovalRegistry, startedAt), workersGauge(workers)],
      runTape: (runId) => readRunTapeOf(store, runId),
      policies: () => ({ hash: policies.current.hash, policies: policies.current.policies.map((p) => ({ id: p.id, origin: p.origin })) }),
      version: options.version,
      bodyLimit: config.server.maxBodyBytes,
      extraRoutes: (router) => {
        registerOpenAiRoutes(router, { gateway, model, bodyLimit: config.server.maxBodyBytes, startedAt, onInternalError });
        registerConsoleRoutes(router, { sessions: consoleSessions, authenticate: (token) => tokenMatches(adminToken, token), secure: tls !== null });
        registerAdminRoutes(router, {
          tools: () => tools.list(),
          journalEventsAfter: (after, limit) => store.eventsAfter(after, limit),
          verifyJournal: () => verifyJournal(paths.journal, { trustedKey: existsSync(paths.checkpointPub) ? loadTrustedKey(paths.checkpointPub) : null }),
          replacePolicies: async (files) => {
            lock.assertHeld();
            const replaced = await policies.replace(files);
            await store.append({
              kind: 'policy.replaced',
              actor: 'operator',
              payload: { policySetHash: replaced.set.hash, previousHash: replaced.previousHash, files: replaced.files },
            });
            log(`policies replaced over the API: set ${replaced.set.hash.slice(0, 12)} (${replaced.files.length} file(s))`, { policySetHash: replaced.set.hash });
            return { policySetHash: replaced.set.hash, previousHash: replaced.previousHash, files: replaced.files.map(({ name, sha256 }) => ({ name, sha256 })) };
          },
          bodyLimit: config.server.maxBodyBytes,
        });
      },
    });
    const timeouts = { requestTimeout: config.server.requestTimeoutMs, headersTimeout: config.server.headersTimeoutMs, keepAliveTimeout: config.server.keepAliveTimeoutMs };
    server = tls ? createHttpsServer({ ...timeouts, ...tls }, api) : createServer(timeouts, api);
    answerClientErrorsAsJson(server);
    capConnections(server, config.server.maxConnections, log);
    const websocket = attachWebSocket(server, {
      gateway,
      authenticate: (token) => tokenMatches(adminToken, token),
      otherUpgrade: (req, socket, head) => workers.handleUpgrade(req, socket, head),
      onInternalError,
    });
    const port = await listen(server, config.server.host, config.server.port);
    lock.update({ port, url: `${tls ? 'https' : 'http'}://${clientHost(config.server.host)}:${port}`, ...(tls ? { tlsCert: resolve(config.server.tls.cert as string) } : {}) });
    await journal.append({ kind: 'daemon.started', actor: 'system', payload: { version: options.version, pid: process.pid, port } });
    const recovered = await gateway.recover();
    if (recovered.interrupted.length + recovered.requeued.length > 0) {
      log(`after the last stop: ${recovered.interrupted.length} run(s) marked interrupted, ${recovered.requeued.length} admitted message(s) run now`, recovered);
    }
    const reloadPolicies = async (): Promise<PolicyReloadResult> => {
      const result = await policies.reload();
      if (result.type === 'loaded') {
        await store.append({ kind: 'policy.reloaded', actor: 'operator', payload: { policySetHash: result.set.hash, changed: result.changed } });
        log(result.changed ? `policies reloaded: set ${result.set.hash.slice(0, 12)}` : 'policies reloaded: unchanged', { policySetHash: result.set.hash });
      } else {
        await store.append({ kind: 'policy.reload_refused', actor: 'operator', payload: { error: result.error.message, kept: result.kept.hash } });
        log(`policy reload refused, the previous set stays in force: ${result.error.message}`);
      }
      return result;
    };
    return { port, reloadPolicies, lockLost, url: `${tls ? 'https' : 'http'}://${urlHost(config.server.host)}:${port}`, paths, journal, adminTokenPath: adminTokenPath(paths.root), stop: stopper(server, { close: async () => {
      tokens.close();
      await Promise.all([workers.close(), websocket.close()]);
    } }, journal, gateway, approvals, lock, log) };
  } catch (error) {
    server?.close();
    void approvals?.close();
    tokenSecrets?.close();
    await journal?.close().catch(() => undefined);
    lock.release();
    throw error;
  }
}

function stopper(
  server: Server,
  websocket: { close(): Promise<void> },
  journal: JournalStore,
  gateway: GatewayRuntimeState,
  approvals: ApprovalRegistry,
  lock: StateLock,
  log: NonNullable<DaemonOptions['log']>,
) {
  let stopping: Promise<void> | null = null;
  return (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log(`stopping: ${reason}`);
      // Stop admitting and end every run (cancelled, on its tape) before the journal closes.
      await gateway.stop();
      // WebSocket clients get their runs' `end` events, then close code 1001 (upgraded
      // sockets are not closed by server.closeAllConnections()).
      await websocket.close();
      // Before the journal closes: an `always` answer being written journals its policy.
      await approvals.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      try {
        // A journal that stopped writing (the lock was lost, the disk failed) records no stop.
        if (journal.failure === null) await journal.append({ kind: 'daemon.stopped', actor: 'system', payload: { reason } });
      } finally {
        await journal.close();
        lock.release();
      }
      log(journal.failure === null ? 'stopped cleanly' : `stopped; the journal had stopped writing: ${journal.failure.message}`);
    })();
    return stopping;
  };
}

/**
 * Security: past `max` open connections, node closes new ones at once ('drop'); idle
 * sockets held open by a client cannot then use up the process's file descriptors. Said
 * in the log at most once a minute, so a flood does not flood the log too.
 */
function capConnections(server: Server, max: number, log: (message: string, fields?: Record<string, unknown>) => void): void {
  server.maxConnections = max;
  let lastLogged = -Infinity;
  let droppedSinceLog = 0;
  server.on('drop', () => {
    droppedSinceLog++;
    const now = performance.now();
    if (now - lastLogged < 60_000) return;
    log(`connection limit reached: ${max} open, ${droppedSinceLog} new connection(s) refused (server.maxConnections)`, { maxConnections: max, refused: droppedSinceLog });
    lastLogged = now;
    droppedSinceLog = 0;
  });
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new PalyraError('PALYRA_IO', `Cannot listen on ${host}:${port}: the port is in use (pick another with --port)`)
          : new PalyraError('PALYRA_IO', `Cannot listen on ${host}:${port}: ${error.code ?? error.message}`),
      );
    });
    server.listen(port, bareHost(host), () => resolve((server.address() as AddressInfo).port));
  });
}

/** `[::1]` is how a URL writes an IPv6 address; sockets take it bare. */
function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The address a client on this machine dials: a wildcard bind is reached on loopback. */
function clientHost(host: string): string {
  const bare = bareHost(host);
  if (bare === '0.0.0.0' || bare === '') return '127.0.0.1';
  if (bare === '::') return '[::1]';
  return urlHost(bare);
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function daemonMetrics(journal: JournalStore, gateway: GatewayRuntimeState, approvals: ApprovalRegistry, startedAt: number): Sample[] {
  const j = journal.stats();
  const g = gateway.stats();
  const samples: Sample[] = [
    { name: 'palyra_up', help: '1 while the daemon serves and its journal accepts appends.', type: 'gauge', value: journal.failure === null ? 1 : 0 },
    { name: 'palyra_uptime_seconds', help: 'Seconds since the daemon started.', type: 'gauge', value: Math.round((Date.now() - startedAt) / 1000) },
    { name: 'palyra_journal_head_seq', help: 'Seq of the newest durable journal event.', type: 'gauge', value: journal.durable.seq },
    { name: 'palyra_journal_appends_total', help: 'Durable journal appends since start.', type: 'counter', value: j.appends },
    { name: 'palyra_journal_writes_total', help: 'Journal writes (fsyncs) since start; appends share them.', type: 'counter', value: j.batches },
    { name: 'palyra_journal_write_failures_total', help: 'Journal writes that failed since start (a full disk, a failing device); each refuses the appends it carried.', type: 'counter', value: j.writeFailures },
    { name: 'palyra_journal_write_seconds_total', help: 'Seconds journal writes spent waiting for the disk since start (divide by writes_total for its latency).', type: 'counter', value: j.writeSeconds },
    { name: 'palyra_sessions', help: 'Live (not archived) sessions.', type: 'gauge', value: g.sessions },
    { name: 'palyra_runs_active', help: 'Runs going now.', type: 'gauge', value: g.activeRuns },
    { name: 'palyra_approvals_pending', help: 'Tool calls waiting for a human.', type: 'gauge', value: approvals.pending().length },
    { name: 'process_resident_memory_bytes', help: 'Resident memory of the daemon.', type: 'gauge', value: process.memoryUsage.rss() },
  ];
  for (const [state, count] of Object.entries(g.runsByState)) {
    samples.push({ name: 'palyra_runs', help: 'Runs of this daemon\'s life by state.', type: 'gauge', value: count, labels: { state } });
  }
  return samples;
}
