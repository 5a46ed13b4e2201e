// How client commands reach the daemon serving a state directory: its address from the
// lock file, the admin token from `<state>/auth/admin.token`.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { Command } from 'commander';
import { Agent, fetch as undiciFetch } from 'undici';
import { ioError, PalyraError } from '../core/base/index.ts';
import { adminTokenPath } from '../core/daemon/admin-token.ts';
import { statePaths } from '../core/daemon/state-dir.ts';
import { readStateLock } from '../core/daemon/state-lock.ts';
import { readTokenFile } from '../core/daemon/token-file.ts';
import { stateRoot } from './state.ts';

/** A call of the daemon's API: JSON in, JSON out; a refusal throws its error code and sentence. */
export type Api = ((method: string, path: string, body?: unknown) => Promise<unknown>) & { port: number; url: string };

/**
 * A TLS connection to the daemon of this state directory: it must present the very
 * certificate the lock file names (self-signed ones included), whatever name the
 * certificate carries, since the client dials loopback. Any other certificate is refused,
 * even one that chains to a trusted authority: this is a pin, not a trust list.
 */
function pinnedTlsAgent(certPath: string | undefined): Agent {
  if (certPath === undefined) throw new PalyraError('PALYRA_UNAVAILABLE', 'The daemon serves HTTPS but its lock file names no certificate; restart it with this palyrad');
  let pem: string;
  try {
    pem = readFileSync(certPath, 'utf8');
  } catch (error) {
    throw ioError(`read the daemon's certificate "${certPath}"`, error);
  }
  const pinned = new X509Certificate(pem).raw;
  return new Agent({
    connect: {
      ca: [pem, ...rootCertificates],
      checkServerIdentity: (_host, cert) => (cert.raw.equals(pinned) ? undefined : new Error(`the daemon presented a certificate other than ${certPath}`)),
    },
  });
}

/** A caller of the daemon's API for this state directory, or a usage error saying why there is none. */
export function daemonClient(cmd: Command): Api {
  const root = stateRoot(cmd);
  const lock = readStateLock(statePaths(root).lock);
  if (!lock || !lock.alive || lock.owner.mode !== 'serve' || typeof lock.owner.port !== 'number') {
    throw new PalyraError('PALYRA_UNAVAILABLE', `No daemon is serving "${root}": start one with 'palyrad serve'`);
  }
  const token = readTokenFile(adminTokenPath(root));
  if (token === null) throw new PalyraError('PALYRA_UNAVAILABLE', `No admin token in "${adminTokenPath(root)}": has the daemon started once?`);
  const port = lock.owner.port;
  // Older daemons recorded only the port (plain HTTP on loopback).
  const base = lock.owner.url ?? `http://127.0.0.1:${port}`;
  const dispatcher = base.startsWith('https:') ? pinnedTlsAgent(lock.owner.tlsCert) : undefined;
  const api = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let res: Awaited<ReturnType<typeof undiciFetch>>;
    try {
      res = await undiciFetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        ...(dispatcher ? { dispatcher } : {}),
      });
    } catch (error) {
      const cause = (error as { cause?: Error }).cause;
      throw new PalyraError('PALYRA_UNAVAILABLE', `The daemon at ${base} does not answer: ${(error as Error).message}${cause ? ` (${cause.message})` : ''}`);
    }
    const value = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    if (!res.ok) {
      const code = value?.error?.code ?? 'PALYRA_INTERNAL';
      throw new PalyraError(code as 'PALYRA_INTERNAL', value?.error?.message ?? `The daemon answered ${res.status}`);
    }
    return value;
  };
  return Object.assign(api, { port, url: base });
}
