/**
 * What a worker says before it connects and as it connects: the hub's URL from what an
 * operator typed, and the `hello` frame describing a local registry's tools.
 */
import { PalyraError } from '../../base/index.ts';
import type { ToolRegistry } from '../../tools/index.ts';
import { WORKER_LIMITS, WORKER_PATH, WORKER_PROTOCOL_VERSION, type WorkerFrame, type WorkerToolSpec } from './worker-protocol.ts';

/**
 * The WebSocket URL of a daemon's hub. Accepts ws(s) or http(s) URLs (http becomes ws);
 * a URL without a path gets `/api/v1/workers`.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT for anything else, or credentials in the URL.
 */
export function workerUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `--connect "${input}" is not a URL: use e.g. ws://127.0.0.1:7142`);
  }
  const scheme = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' }[url.protocol];
  if (scheme === undefined) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `--connect "${input}" must be a ws://, wss://, http:// or https:// URL`);
  // Security: credentials in URLs end up in logs and process lists; the token goes in a header.
  if (url.username !== '' || url.password !== '' || url.search !== '') throw new PalyraError('PALYRA_INVALID_ARGUMENT', '--connect must not carry credentials or a query: pass the token with --token-file or PALYRA_WORKER_TOKEN');
  url.protocol = scheme;
  if (url.pathname === '' || url.pathname === '/') url.pathname = WORKER_PATH;
  return url.toString();
}

/**
 * The `hello` for a registry's tools. Declared limits are clamped to what the protocol
 * allows; the local registry still enforces the tool's own (the result frame is checked
 * against the frame cap before sending).
 */
export function helloFor(registry: ToolRegistry, worker: string | null): Extract<WorkerFrame, { type: 'hello' }> {
  const tools: WorkerToolSpec[] = registry.list().map((t) => ({
    name: t.name,
    description: t.description.slice(0, WORKER_LIMITS.maxDescriptionLength),
    inputSchema: t.inputSchema,
    capabilities: t.capabilities,
    risk: t.risk,
    parallelSafe: t.parallelSafe,
    limits: {
      timeoutMs: Math.min(t.limits.timeoutMs, WORKER_LIMITS.maxTimeoutMs),
      maxOutputBytes: Math.min(t.limits.maxOutputBytes, WORKER_LIMITS.maxOutputBytes),
      maxInputBytes: Math.min(t.limits.maxInputBytes, WORKER_LIMITS.maxInputBytes),
    },
  }));
  return { type: 'hello', protocol: WORKER_PROTOCOL_VERSION, worker, tools };
}
