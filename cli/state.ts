import type { Command } from 'commander';
import { PalyraError } from '../core/base/index.ts';
import { acquireStateLock } from '../core/daemon/state-lock.ts';
import { initStateDir, openStateDirForReading, resolveStateDir, type StatePaths } from '../core/daemon/state-dir.ts';
import { JournalStore } from '../core/journal/index.ts';
import { journalOptionsFor, type JournalLimits } from '../core/daemon/journal-options.ts';
import { journalProviderSecrets } from '../core/daemon/provider-secrets.ts';
import { stateTokens } from '../core/daemon/token-secrets.ts';
import { PALYRA_VERSION } from './version.ts';

/** The state directory chosen by `--state` / `PALYRA_STATE_DIR` / the XDG default. */
export function stateRoot(command: Command): string {
  return resolveStateDir(command.optsWithGlobals().state as string | undefined);
}

/** Opens the state directory for reading; null when it exists but is still empty. */
export function readableState(command: Command): StatePaths | null {
  return openStateDirForReading(stateRoot(command));
}

/**
 * The journal limits of the effective configuration: `[journal]` of the config file
 * (`--config` when the command has it, else `<state>/config.toml`) under the PALYRA_*
 * environment, as the daemon reads them, so an offline writer accepts what it would.
 */
export async function journalLimits(command: Command): Promise<JournalLimits> {
  return (await offlineJournalSettings(command)).limits;
}

/**
 * What an offline writer's journal needs from the effective configuration: its limits,
 * and the provider secrets the daemon's redactor would know besides the environment's
 * (keys and credential headers).
 */
async function offlineJournalSettings(command: Command): Promise<{ limits: JournalLimits; providerSecrets: string[] }> {
  const { loadConfig } = await import('../core/daemon/config.ts');
  const configPath = command.optsWithGlobals().config as string | undefined;
  const { config } = loadConfig({ stateDir: stateRoot(command), configPath, env: process.env });
  return {
    limits: { maxPayloadBytes: config.journal.maxPayloadBytes, indexRetention: config.journal.indexRetention },
    providerSecrets: journalProviderSecrets(config.providers, process.env),
  };
}

/**
 * Runs `fn` as an offline writer: takes the state lock (refused while a daemon or another
 * writer holds it), opens the journal with the configuration's limits, and always closes
 * and unlocks afterwards. Its redactor knows what the daemon's would: the provider
 * secrets and the admin and worker tokens, so an event appended offline is redacted as
 * one the daemon writes.
 */
export async function withOfflineWriter<T>(command: Command, name: string, fn: (store: JournalStore, paths: StatePaths) => Promise<T>): Promise<T> {
  const { limits, providerSecrets } = await offlineJournalSettings(command);
  const paths = initStateDir(stateRoot(command));
  const lock = acquireStateLock(paths.lock, { mode: 'writer', command: name });
  try {
    const warn = (message: string): void => void process.stderr.write(`palyrad: warning: ${message}\n`);
    const secrets = [...providerSecrets, ...stateTokens(paths.root, warn)];
    const store = await JournalStore.open({
      ...journalOptionsFor(paths, { version: PALYRA_VERSION, limits, extraSecrets: secrets }),
      snapshotIntervalMs: 0,
      checkpointIntervalMs: 0,
    });
    try {
      return await fn(store, paths);
    } finally {
      await store.close();
    }
  } finally {
    lock.release();
  }
}

/** Parses a positive integer flag or argument, or throws a usage error naming it. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${name} must be a positive integer, not "${value}"`);
  }
  return n;
}

/** Parses a non-negative integer no larger than `max`, or throws a usage error naming it. */
export function positiveIntOrZero(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > max) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${name} must be an integer from 0 to ${max}, not "${value}"`);
  }
  return n;
}
