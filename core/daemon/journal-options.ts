import { Redactor, secretsFromEnvironment, type JournalStoreOptions } from '../journal/index.ts';
import type { StatePaths } from './state-dir.ts';

/**
 * The journal options every writer of a state directory uses, the daemon and offline
 * writers alike: where the journal and its signing key live, and a redactor that knows
 * every secret in this process's environment. One place, so no writer can forget one.
 */
export function journalOptionsFor(paths: StatePaths, options: { version: string; maxPayloadBytes?: number }): JournalStoreOptions {
  return {
    dir: paths.journal,
    keyPath: paths.checkpointKey,
    pubPath: paths.checkpointPub,
    redactor: new Redactor({ knownSecrets: secretsFromEnvironment() }),
    maxPayloadBytes: options.maxPayloadBytes,
    createdBy: `palyrad ${options.version}`,
  };
}
