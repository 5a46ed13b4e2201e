import { createHash } from 'node:crypto';

/** The hash that starts every chain: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** Lowercase hex SHA-256 of a UTF-8 string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** True when `value` is a lowercase hex SHA-256 digest. */
export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}
