import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of millisecond time then 80 random bits, Crockford base32, 26 chars.
 * Sorts by creation time, which keeps ids readable in logs and indexes.
 */
export function newUlid(nowMs: number = Date.now()): string {
  let time = nowMs;
  const chars: string[] = new Array(26);
  for (let i = 9; i >= 0; i--) {
    chars[i] = CROCKFORD[time % 32] as string;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(16);
  for (let i = 10; i < 26; i++) chars[i] = CROCKFORD[(random[i - 10] as number) % 32] as string;
  return chars.join('');
}

/** True when `value` looks like a ULID. */
export function isUlid(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}
