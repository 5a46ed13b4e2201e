import { rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { PalyraError } from '../../base/index.ts';
import { parseIp } from './ip-address.ts';
import type { PinnedTarget, TargetGuard } from './target-guard.ts';

/** Options of {@link createPinnedAgent}. */
export interface PinnedAgentOptions {
  guard: TargetGuard;
  /** Limit on TCP connect plus TLS handshake. */
  connectTimeoutMs: number;
  /** Limits between bytes of the response head and of the body (undici's own timers). */
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Extra trusted CA certificates (PEM), replacing nothing: Node's roots stay trusted. */
  ca?: string | readonly string[];
}

/**
 * An undici Agent for one request hop that can only ever dial the checked address.
 *
 * Security (DNS rebinding): the guard resolved and checked the host already; if the
 * socket resolved the name again, a hostile DNS server could answer a public address to
 * the check and 127.0.0.1 to the connect. So the connector never resolves: it dials the
 * pinned IP, keeps the original name for TLS SNI and certificate checks, refuses any
 * origin but the checked one, and checks the peer address of the socket it got.
 * Dialling an IP (rather than passing a custom `lookup` to `net.connect`) is also what
 * behaves the same on Node and on Deno's node:net.
 */
export function createPinnedAgent(target: PinnedTarget, options: PinnedAgentOptions): Agent {
  const base = buildConnector({
    timeout: options.connectTimeoutMs,
    ...(options.ca === undefined ? {} : { ca: withSystemRoots(options.ca) }),
  });
  const isName = parseIp(target.hostname) === null;
  const connect: buildConnector.connector = (opts, callback) => {
    const requested = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    if (requested.toLowerCase() !== target.hostname.toLowerCase()) {
      callback(new PalyraError('PALYRA_TOOL_FORBIDDEN', `Connection to unchecked host "${requested}" refused`), null);
      return;
    }
    const pinned: buildConnector.Options = { ...opts, hostname: target.address };
    // Node refuses an IP address as TLS server name; names keep SNI and hostname checks.
    if (isName) pinned.servername = target.hostname;
    base(pinned, (...args) => {
      const [err, socket] = args;
      if (err !== null) return callback(err, null);
      try {
        options.guard.checkConnected(target, socket.remoteAddress);
      } catch (refusal) {
        socket.destroy();
        return callback(refusal as Error, null);
      }
      callback(null, socket);
    });
  };
  return new Agent({
    connect,
    connections: 1,
    pipelining: 1,
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs,
  });
}

/** `ca` replaces Node's root store, so the system roots are appended to operator CAs. */
function withSystemRoots(ca: string | readonly string[]): string[] {
  return [...(typeof ca === 'string' ? [ca] : ca), ...rootCertificates];
}
