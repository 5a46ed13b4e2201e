import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID: 48 bits of millisecond time then 80 random bits, Crockford base32, 26 chars.
 * Sorts by creation time, which keeps ids readable in logs and indexes.
 */
export function newUlid(nowMs: number = Date.now()): string {
  let time = nowMs;
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = (CROCKFORD[time % 32] as string) + head;
    time = Math.floor(time / 32);
  }
  const offset = takeRandom(16);
  let tail = '';
  for (let i = 0; i < 16; i++) tail += CROCKFORD[(pool[offset + i] as number) % 32] as string;
  return head + tail;
}

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
