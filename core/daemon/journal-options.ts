import { PalyraError } from '../base/index.ts';
import { DEFAULT_INDEX_RETENTION, DEFAULT_MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES_LIMIT, MIN_PAYLOAD_BYTES_LIMIT, Redactor, secretsFromEnvironment, type JournalStoreOptions } from '../journal/index.ts';
import type { StatePaths } from './state-dir.ts';

/** Journal limits operators set through the environment. */
export interface JournalLimits {
  /** PALYRA_JOURNAL_MAX_PAYLOAD_BYTES: largest payload accepted (default 1 MiB). */
  maxPayloadBytes: number;
  /** PALYRA_JOURNAL_INDEX_RETENTION: events the in-memory index keeps (default 100,000). */
  indexRetention: number;
}

/** Reads the journal limits; a value that is not a positive integer is a usage error naming it. */
export function journalLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): JournalLimits {
  return {
    maxPayloadBytes: boundedPayloadLimit(positiveIntegerVar(env, 'PALYRA_JOURNAL_MAX_PAYLOAD_BYTES', DEFAULT_MAX_PAYLOAD_BYTES)),
    indexRetention: positiveIntegerVar(env, 'PALYRA_JOURNAL_INDEX_RETENTION', DEFAULT_INDEX_RETENTION),
  };
}

/**
 * The journal options every writer of a state directory uses, the daemon and offline
 * writers alike: where the journal and its signing key live, the operator's limits, and
 * a redactor that knows every secret in this process's environment (and `extraSecrets`,
 * e.g. provider keys from the configuration). One place, so no writer can forget one.
 * `limits` are the effective configuration's `[journal]` limits (file and environment);
 * without them only the environment's are read.
 */
export function journalOptionsFor(
  paths: StatePaths,
  options: { version: string; env?: NodeJS.ProcessEnv; writerThread?: boolean; extraSecrets?: readonly string[]; limits?: JournalLimits },
): JournalStoreOptions {
  const env = options.env ?? process.env;
  return {
    // PALYRA_JOURNAL_WRITER_THREAD overrides the caller's choice (the daemon's is on; a
    // one-shot command's is off, since starting the thread costs more than it saves).
    writerThread: switchVar(env, 'PALYRA_JOURNAL_WRITER_THREAD', options.writerThread ?? false),
    dir: paths.journal,
    keyPath: paths.checkpointKey,
    pubPath: paths.checkpointPub,
    redactor: new Redactor({ knownSecrets: [...secretsFromEnvironment(env), ...(options.extraSecrets ?? [])] }),
    ...(options.limits ? { maxPayloadBytes: options.limits.maxPayloadBytes, indexRetention: options.limits.indexRetention } : journalLimitsFromEnv(env)),
    createdBy: `palyrad ${options.version}`,
  };
}

function switchVar(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (['1', 'on', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'off', 'false', 'no'].includes(raw)) return false;
  throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${name} must be on or off, not "${env[name]}"`);
}

function boundedPayloadLimit(n: number): number {
  if (n < MIN_PAYLOAD_BYTES_LIMIT || n > MAX_PAYLOAD_BYTES_LIMIT) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `PALYRA_JOURNAL_MAX_PAYLOAD_BYTES must be from ${MIN_PAYLOAD_BYTES_LIMIT} to ${MAX_PAYLOAD_BYTES_LIMIT}, not ${n}`);
  }
  return n;
}

function positiveIntegerVar(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${name} must be a positive integer, not "${raw}"`);
  }
  return n;
}
