import { createHash } from 'node:crypto';

/** The hash that starts every chain: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** Lowercase hex SHA-256 of a UTF-8 string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** True when `value` is a lowercase hex SHA-256 digest. */
export function isSha256Hex(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 64) return false;
  // A loop rather than a regex: this runs twice per record in `journal verify`.
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A SHA-256 fed piece by piece; `copy` forks its state, so a growing text is hashed once, not per prefix. */
export interface Sha256Stream {
  update(data: string): Sha256Stream;
  copy(): Sha256Stream;
  /** Lowercase hex digest; the stream is finished after it. */
  digestHex(): string;
}

/** Starts an incremental SHA-256 (equal to `sha256Hex` of the concatenated updates). */
export function sha256Stream(): Sha256Stream {
  return wrapHash(createHash('sha256'));
}

function wrapHash(hash: ReturnType<typeof createHash>): Sha256Stream {
  const stream: Sha256Stream = {
    update: (data) => (hash.update(data), stream),
    copy: () => wrapHash(hash.copy()),
    digestHex: () => hash.digest('hex'),
  };
  return stream;
}
