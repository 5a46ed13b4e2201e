import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { InternalErrorReport } from '../../core/base/index.ts';
import { GatewayRuntimeState } from '../../core/gateway/index.ts';
import { ApprovalRegistry, builtinPolicySet } from '../../core/policy/index.ts';
import type { ModelProvider } from '../../core/providers/index.ts';
import { createEchoTool, createFsWriteTool, ToolRegistry } from '../../core/tools/index.ts';
import { createApi, registerConsoleRoutes, type ConsoleSessions, type Router } from '../../core/transport/index.ts';
import { freshJournal } from './journal-fixture.ts';

/** The admin token of a fixture gateway. */
export const FIXTURE_TOKEN = 'test-admin-token-0123456789';

/** A gateway served over HTTP on 127.0.0.1, with the echo and fs.write tools under the built-in policies. */
export interface GatewayFixture {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  gateway: GatewayRuntimeState;
  approvals: ApprovalRegistry;
  /** The workspace fs.write writes into. */
  workspace: string;
  close: () => Promise<void>;
}

/**
 * Starts a gateway on a fresh journal and serves the HTTP API on port 0. `extraRoutes`
 * adds routes the way the daemon does (e.g. the OpenAI surface).
 */
export async function startGatewayFixture(options: {
  provider: ModelProvider;
  model?: string;
  bodyLimit?: number;
  extraRoutes?: (router: Router, gateway: GatewayRuntimeState) => void;
  /** Serves the web console with these sessions (cookie + CSRF auth on /api/v1), as the daemon does. */
  consoleSessions?: ConsoleSessions;
  /** Attaches more to the server before it listens (e.g. the WebSocket endpoint); closed after the gateway stops. */
  attach?: (server: Server, gateway: GatewayRuntimeState) => { close(): Promise<void> };
  /** Told of errors that are bugs, as the daemon's log is. */
  onInternalError?: InternalErrorReport;
}): Promise<GatewayFixture> {
  const { store, root } = await freshJournal();
  const workspace = join(root, 'ws');
  mkdirSync(workspace);
  const tools = new ToolRegistry();
  tools.register(createEchoTool());
  tools.register(createFsWriteTool());
  const set = await builtinPolicySet();
  const approvals = new ApprovalRegistry({ clock: { now: () => Date.now() } });
  const gateway = GatewayRuntimeState.open({ journal: store, provider: options.provider, model: options.model ?? 'scripted', tools, stateDir: root, defaultWorkspace: workspace, policies: () => set, approvals });
  const handler = createApi({
    gateway,
    approvals,
    authenticate: (t) => t === FIXTURE_TOKEN,
    journalStatus: () => ({ head: store.durable }),
    ready: () => true,
    version: 'test',
    bodyLimit: options.bodyLimit,
    consoleSessions: options.consoleSessions,
    onInternalError: options.onInternalError,
    extraRoutes: (router) => {
      options.extraRoutes?.(router, gateway);
      if (options.consoleSessions) registerConsoleRoutes(router, { sessions: options.consoleSessions, authenticate: (t) => t === FIXTURE_TOKEN, secure: false });
    },
  });
  const server: Server = createServer(handler);
  const attached = options.attach?.(server, gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gateway,
    approvals,
    workspace,
    close: async () => {
      await gateway.stop();
      await attached?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      approvals.close();
      await store.close();
    },
  };
}
