/**
 * The listener's certificate and key (`server.tls.cert`, `server.tls.key`): read and
 * checked by OpenSSL before the state directory is locked, by `serve` and by
 * `config check` alike, so a missing, swapped or mismatched file is a usage error naming
 * the key instead of an internal error after start-up has begun.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { PalyraError } from '../base/index.ts';

/** The PEM contents the HTTPS server is created with. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads and checks the TLS files; null when TLS is not configured (both null).
 * @throws PalyraError PALYRA_IO when a file cannot be read; PALYRA_INVALID_ARGUMENT when
 *   the certificate or the key does not parse, or the key does not belong to the
 *   certificate. Messages name the config key and the path, never the file's content.
 */
export function loadTlsFiles(tls: { cert: string | null; key: string | null }): TlsMaterial | null {
  if (tls.cert === null || tls.key === null) return null;
  const cert = readTlsFile('server.tls.cert', tls.cert);
  const key = readTlsFile('server.tls.key', tls.key);
  check(() => createSecureContext({ cert }), `Cannot use server.tls.cert "${tls.cert}": not a PEM certificate`);
  check(() => createSecureContext({ key }), `Cannot use server.tls.key "${tls.key}": not a PEM private key (without a passphrase)`);
  check(() => createSecureContext({ cert, key }), `Cannot use server.tls.key "${tls.key}" with server.tls.cert "${tls.cert}": the key does not belong to the certificate`);
  return { cert, key };
}

function readTlsFile(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'it is not readable' : code === 'EISDIR' ? 'not a file' : code;
    throw new PalyraError('PALYRA_IO', `Cannot use ${name} "${path}": ${why}`, { cause: error });
  }
}

function check(attempt: () => unknown, message: string): void {
  try {
    attempt();
  } catch (error) {
    // OpenSSL's reason ("PEM routines::no start line") without its numeric prefix.
    const reason = (error as Error).message.replace(/^error:[0-9A-F]+:/, '');
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${message} (${reason})`, { cause: error });
  }
}
