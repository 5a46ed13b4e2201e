import { PalyraError } from '../base/index.ts';
import { DEFAULT_INDEX_RETENTION, DEFAULT_MAX_PAYLOAD_BYTES, Redactor, secretsFromEnvironment, type JournalStoreOptions } from '../journal/index.ts';
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
    maxPayloadBytes: positiveIntegerVar(env, 'PALYRA_JOURNAL_MAX_PAYLOAD_BYTES', DEFAULT_MAX_PAYLOAD_BYTES),
    indexRetention: positiveIntegerVar(env, 'PALYRA_JOURNAL_INDEX_RETENTION', DEFAULT_INDEX_RETENTION),
  };
}

/**
 * The journal options every writer of a state directory uses, the daemon and offline
 * writers alike: where the journal and its signing key live, the operator's limits, and
 * a redactor that knows every secret in this process's environment. One place, so no
 * writer can forget one.
 */
export function journalOptionsFor(paths: StatePaths, options: { version: string; env?: NodeJS.ProcessEnv }): JournalStoreOptions {
  const env = options.env ?? process.env;
  return {
    dir: paths.journal,
    keyPath: paths.checkpointKey,
    pubPath: paths.checkpointPub,
    redactor: new Redactor({ knownSecrets: secretsFromEnvironment(env) }),
    ...journalLimitsFromEnv(env),
    createdBy: `palyrad ${options.version}`,
  };
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
