import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of millisecond time then 80 random bits, Crockford base32, 26 chars.
 * Sorts by creation time, which keeps ids readable in logs and indexes.
 */
export function newUlid(nowMs: number = Date.now()): string {
  // Ids minted in the same millisecond share their time part (tens of them under load).
  if (nowMs !== lastTimeMs) {
    let time = nowMs;
    let head = '';
    for (let i = 0; i < 10; i++) {
      head = (CROCKFORD[time % 32] as string) + head;
      time = Math.floor(time / 32);
    }
    lastTimeMs = nowMs;
    lastTimeHead = head;
  }
  const offset = takeRandom(16);
  const p = pool;
  // One string built at once rather than sixteen concatenations.
  return (
    lastTimeHead +
    String.fromCharCode(
      CROCKFORD_CODES[(p[offset] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 1] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 2] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 3] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 4] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 5] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 6] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 7] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 8] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 9] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 10] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 11] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 12] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 13] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 14] as number) & 31] as number,
      CROCKFORD_CODES[(p[offset + 15] as number) & 31] as number,
    )
  );
}

let lastTimeMs = Number.NaN;
let lastTimeHead = '';
const CROCKFORD_CODES = Array.from(CROCKFORD, (c) => c.charCodeAt(0));

// One getrandom call per 256 ids instead of one per id: ids are minted on the journal's hot path.
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let poolUsed = 0;

function takeRandom(n: number): number {
  if (poolUsed + n > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolUsed = 0;
  }
  const at = poolUsed;
  poolUsed += n;
  return at;
}

/** True when `value` looks like a ULID. */
export function isUlid(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}
