/**
 * Where the daemon may listen. Loopback is always allowed; any other address exposes the
 * API to the network, so it needs TLS (readable cert and key files) and an admin token.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { PalyraError } from '../base/index.ts';

/** What the bind check needs to know about the configuration. */
export interface BindContext {
  /** `server.tls`: PEM file paths, null when not configured. */
  tls: { cert: string | null; key: string | null } | null | undefined;
  /** Whether an admin token exists (see loadOrCreateAdminToken). */
  tokenConfigured: boolean;
}

/** The outcome of an allowed bind: whether it is loopback only. */
export interface BindDecision {
  host: string;
  loopback: boolean;
}

/**
 * Whether `host` is a loopback address: `localhost`, 127.0.0.0/8, `::1`, or 127.0.0.0/8
 * mapped into IPv6 (`::ffff:127.0.0.1`). Brackets around IPv6 are accepted. Anything else,
 * `0.0.0.0` and `::` included, is not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  if (h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || h === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^(?:0{1,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h) ?? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && isIPv4(mapped[1] as string) && (mapped[1] as string).startsWith('127.');
}

/**
 * Allows or refuses listening on `host`.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT refusing a non-loopback address without TLS
 *   and a token, naming what is missing; PALYRA_IO when a TLS file cannot be read.
 */
export function checkBind(host: string, context: BindContext): BindDecision {
  if (isLoopbackHost(host)) return { host, loopback: true };
  const refuse = (missing: string) =>
    new PalyraError(
      'PALYRA_INVALID_ARGUMENT',
      `Refusing to listen on "${host}": a non-loopback address needs TLS and an admin token, and ${missing} (or listen on 127.0.0.1)`,
    );
  const cert = context.tls?.cert ?? null;
  const key = context.tls?.key ?? null;
  if (cert === null || key === null) throw refuse('server.tls.cert and server.tls.key are not both set');
  for (const [name, path] of [['server.tls.cert', cert], ['server.tls.key', key]] as const) {
    checkReadableFile(name, path);
  }
  if (!context.tokenConfigured) throw refuse('no admin token exists');
  return { host, loopback: false };
}

function checkReadableFile(name: string, path: string): void {
  try {
    if (!statSync(path).isFile()) throw new PalyraError('PALYRA_IO', `Cannot use ${name} "${path}": not a file`);
    accessSync(path, constants.R_OK);
  } catch (error) {
    if (error instanceof PalyraError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'it is not readable' : code;
    throw new PalyraError('PALYRA_IO', `Cannot use ${name} "${path}": ${why}`, { cause: error });
  }
}
