import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalJson, createFileExclusive, fsyncDir, fsyncFile, GENESIS_HASH, ioError, mkdirDurable, PalyraError, sha256Hex, writeFileAtomic } from '../base/index.ts';
import { readRegularFile } from './regular-file.ts';

/**
 * A signed statement that the journal named `origin` had `size` events and that the
 * event at seq `size` had hash `headHash`. Checkpoints form their own chain (`n`, `prev`)
 * so a replayed old checkpoint is detected. `sig` is Ed25519 over the canonical JSON of
 * every other field.
 */
export interface CheckpointRecord {
  v: 1;
  n: number;
  origin: string;
  size: number;
  headHash: string;
  ts: number;
  keyId: string;
  prev: string;
  sig: string;
}

/** A checkpoint signing key pair, with the id recorded in checkpoints it signs. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  publicPem: string;
}

/** A public key trusted to have signed checkpoints. */
export interface TrustedKey {
  publicKey: KeyObject;
  keyId: string;
  publicPem: string;
}

/** Key id: the first 16 hex digits of SHA-256 over the raw 32-byte Ed25519 public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { x?: string };
  if (!jwk.x) throw new PalyraError('PALYRA_KEY_INVALID', 'Checkpoint key is not an Ed25519 key');
  return sha256Hex(Buffer.from(jwk.x, 'base64url')).slice(0, 16);
}

/**
 * Loads the signing key, creating it on first use (private key mode 0600 in a 0700
 * folder; the public key beside it).
 * Security: refuses a private key file that other users can read.
 */
export function loadOrCreateSigningKey(
  keyPath: string,
  pubPath: string,
  /**
   * The key that signed the journal's newest checkpoint, when it has one: no other key
   * is created or used, and the public key file is left as it is (signing on with another
   * key would leave every earlier checkpoint unverifiable by the key `verify` trusts).
   */
  signedBy?: { keyId: string; checkpoint: number },
): SigningKey {
  let pem: string;
  try {
    pem = readFileSync(keyPath, 'utf8');
    checkPrivateMode(keyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw asKeyError(keyPath, error);
    if (signedBy) {
      throw new PalyraError(
        'PALYRA_KEY_INVALID',
        `Checkpoint key "${keyPath}" is missing, but the journal's checkpoints were signed with key ${signedBy.keyId} (checkpoint ${signedBy.checkpoint}): restore that key file; ` +
          `a new key would sign checkpoints that do not chain to what 'palyrad journal verify' trusts (to start a new checkpoint chain anyway, move checkpoints.jsonl aside)`,
      );
    }
    pem = createKeyFile(keyPath);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new PalyraError('PALYRA_KEY_INVALID', `Checkpoint key "${keyPath}" is not a PEM private key`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new PalyraError('PALYRA_KEY_INVALID', `Checkpoint key "${keyPath}" is not an Ed25519 key`);
  }
  const publicKey = createPublicKey(privateKey);
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const keyId = keyIdOf(publicKey);
  if (signedBy && signedBy.keyId !== keyId) {
    throw new PalyraError(
      'PALYRA_KEY_INVALID',
      `Checkpoint key "${keyPath}" is key ${keyId}, but the journal's checkpoints were signed with key ${signedBy.keyId} (checkpoint ${signedBy.checkpoint}): restore that key file ` +
        `(to start a new checkpoint chain with this key anyway, move checkpoints.jsonl aside)`,
    );
  }
  writePublicIfChanged(pubPath, publicPem);
  return { privateKey, publicKey, keyId, publicPem };
}

/** A PEM public key is a few hundred bytes; anything far larger is not one. */
const MAX_PUBLIC_KEY_BYTES = 64 * 1024;

/** Loads a public key (PEM SPKI) that verification trusts. */
export function loadTrustedKey(path: string): TrustedKey {
  let read: ReturnType<typeof readRegularFile>;
  try {
    read = readRegularFile(path, MAX_PUBLIC_KEY_BYTES);
  } catch (error) {
    throw ioError(`read public key "${path}"`, error);
  }
  // Security: the default key sits in a state directory under audit, where a FIFO would
  // hang the read and a device never end; --key may name either by mistake.
  if (read.type === 'missing') throw ioError(`read public key "${path}"`, Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' }));
  if (read.type !== 'file') {
    throw new PalyraError('PALYRA_KEY_INVALID', `Public key "${path}" is not an Ed25519 PEM public key: ${read.type === 'not-file' ? 'it is not a regular file' : `it is ${read.size} bytes`}`);
  }
  const pem = read.bytes.toString('utf8');
  try {
    const publicKey = createPublicKey(pem);
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return { publicKey, keyId: keyIdOf(publicKey), publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
  } catch (error) {
    throw new PalyraError('PALYRA_KEY_INVALID', `Public key "${path}" is not an Ed25519 PEM public key`, { cause: error });
  }
}

/** Signs a new checkpoint that follows `previous` (or starts the checkpoint chain). */
export function signCheckpoint(
  fields: { origin: string; size: number; headHash: string; ts: number },
  previous: CheckpointRecord | null,
  key: SigningKey,
): CheckpointRecord {
  const unsigned = {
    v: 1 as const,
    n: previous ? previous.n + 1 : 1,
    origin: fields.origin,
    size: fields.size,
    headHash: fields.headHash,
    ts: fields.ts,
    keyId: key.keyId,
    prev: previous ? checkpointHash(previous) : GENESIS_HASH,
  };
  const sig = sign(null, Buffer.from(canonicalJson(unsigned)), key.privateKey).toString('base64');
  return { ...unsigned, sig };
}

/** True when `cp.sig` is a valid signature by `key` over the checkpoint's other fields. */
export function checkpointSignatureValid(cp: CheckpointRecord, key: TrustedKey): boolean {
  const { sig, ...unsigned } = cp;
  try {
    return verify(null, Buffer.from(canonicalJson(unsigned)), key.publicKey, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}

/** The hash a following checkpoint records as `prev`: SHA-256 of the whole record's canonical JSON. */
export function checkpointHash(cp: CheckpointRecord): string {
  return createHash('sha256').update(canonicalJson(cp)).digest('hex');
}

export { readCheckpointFile, readCheckpoints, type CheckpointLine } from './checkpoint-file.ts';

/** Appends a checkpoint line and fsyncs it; resolves once it is durable. */
export function appendCheckpoint(path: string, cp: CheckpointRecord): void {
  try {
    cutTornLine(path);
    const created = !existsSync(path);
    appendFileSync(path, `${JSON.stringify(cp)}\n`, { mode: 0o600 });
    fsyncFile(path);
    // The first line also needs the file's entry in its folder to survive a power loss.
    if (created) fsyncDir(dirname(path));
  } catch (error) {
    throw ioError(`write checkpoint to "${path}"`, error);
  }
}

/**
 * Cuts a last line without its newline: a checkpoint a crash tore while it was written,
 * never acknowledged. Readers skip it, but a checkpoint appended after it would be glued
 * onto it and lost, and verify would then fail on every later run.
 */
function cutTornLine(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    // Lines are a few hundred bytes: the last newline is in the tail unless the tail is garbage.
    const tail = Math.min(size, 64 * 1024);
    let buffer = Buffer.alloc(tail);
    readSync(fd, buffer, 0, tail, size - tail);
    if (buffer[tail - 1] === 0x0a) return;
    let start = size - tail;
    if (buffer.lastIndexOf(0x0a) < 0 && start > 0) {
      buffer = readFileSync(path);
      start = 0;
    }
    ftruncateSync(fd, start + buffer.lastIndexOf(0x0a) + 1);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function createKeyFile(keyPath: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  try {
    mkdirDurable(dirname(keyPath));
    // All at once (a crash never leaves an empty key), and never over one another
    // process created first: then that one is used, so there is only ever one key.
    return createFileExclusive(keyPath, pem) ? pem : readFileSync(keyPath, 'utf8');
  } catch (error) {
    throw ioError(`create checkpoint key "${keyPath}"`, error);
  }
}

function checkPrivateMode(keyPath: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(keyPath).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new PalyraError(
      'PALYRA_KEY_INVALID',
      `Checkpoint key "${keyPath}" is readable by other users (mode ${mode.toString(8).padStart(4, '0')}): run chmod 600 on it`,
    );
  }
}

function writePublicIfChanged(pubPath: string, pem: string): void {
  try {
    if (readFileSync(pubPath, 'utf8') === pem) return;
  } catch {
    // missing: write it below
  }
  // Atomic and durable: written in place, a power loss could leave it empty beside a
  // durable key and signed checkpoints, and `journal verify` refuses an empty key file.
  writeFileAtomic(pubPath, pem, { mode: 0o644 });
}

function asKeyError(keyPath: string, error: unknown): PalyraError {
  return error instanceof PalyraError ? error : ioError(`read checkpoint key "${keyPath}"`, error);
}
