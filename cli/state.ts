import type { Command } from 'commander';
import { PalyraError } from '../core/base/index.ts';
import { acquireStateLock } from '../core/daemon/state-lock.ts';
import { initStateDir, openStateDirForReading, resolveStateDir, type StatePaths } from '../core/daemon/state-dir.ts';
import { JournalStore } from '../core/journal/index.ts';
import { journalLimitsFromEnv, journalOptionsFor, type JournalLimits } from '../core/daemon/journal-options.ts';
import { journalProviderSecrets } from '../core/daemon/provider-secrets.ts';
import { stateTokens } from '../core/daemon/token-secrets.ts';
import { PALYRA_VERSION } from './version.ts';
import { printWarning } from './output.ts';

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

/** Settings read once per command (an append asks before and while it writes). */
const settingsOf = new WeakMap<Command, Promise<OfflineJournalSettings>>();

interface OfflineJournalSettings {
  limits: JournalLimits;
  providerSecrets: string[];
}

/**
 * What an offline writer's journal needs from the effective configuration: its limits,
 * and the provider secrets the daemon's redactor would know besides the environment's
 * (keys and credential headers). A configuration with errors elsewhere (say, in
 * `[server]`) must not lock an operator out of journal maintenance: it is reported as a
 * warning, and the environment's limits apply.
 */
function offlineJournalSettings(command: Command): Promise<OfflineJournalSettings> {
  let settings = settingsOf.get(command);
  if (!settings) {
    settings = readOfflineJournalSettings(command);
    settingsOf.set(command, settings);
  }
  return settings;
}

async function readOfflineJournalSettings(command: Command): Promise<OfflineJournalSettings> {
  const { loadConfig } = await import('../core/daemon/config.ts');
  const configPath = command.optsWithGlobals().config as string | undefined;
  try {
    const { config } = loadConfig({ stateDir: stateRoot(command), configPath, env: process.env });
    return {
      limits: { maxPayloadBytes: config.journal.maxPayloadBytes, indexRetention: config.journal.indexRetention },
      providerSecrets: journalProviderSecrets(config.providers, process.env),
    };
  } catch (error) {
    // A file named with --config is the operator's explicit choice: its errors stay errors.
    if (configPath !== undefined || !(error instanceof PalyraError) || error.code !== 'PALYRA_INVALID_ARGUMENT') throw error;
    // When the environment's journal limits are what is wrong, that is the one error to
    // report (a warning promising to fall back on them, then their error, contradicted itself).
    const limits = journalLimitsFromEnv(process.env);
    warn(`the configuration is not usable (${error.message}); the journal limits come from the environment, and no provider secrets are known`);
    return { limits, providerSecrets: [] };
  }
}

const warn = printWarning;

/**
 * Runs `fn` as an offline writer: takes the state lock (refused while a daemon or another
 * writer holds it), opens the journal with the configuration's limits, and always closes
 * and unlocks afterwards. Its redactor knows what the daemon's would: the provider
 * secrets and the admin and worker tokens, so an event appended offline is redacted as
 * one the daemon writes.
 */
export async function withOfflineWriter<T>(
  command: Command,
  name: string,
  fn: (store: JournalStore, paths: StatePaths) => Promise<T>,
  /** The lock's clock for how long it was quiet (tests jump it). */
  options: { lockClock?: () => number } = {},
): Promise<T> {
  const { limits, providerSecrets } = await offlineJournalSettings(command);
  const paths = initStateDir(stateRoot(command));
  let opened: JournalStore | undefined;
  // As the daemon: a writer stopped long enough to be judged dead writes nothing more (docs/decisions.md §25).
  const lock = acquireStateLock(paths.lock, { mode: 'writer', command: name, onLost: (error) => opened?.abandon(error), ...(options.lockClock ? { clock: options.lockClock } : {}) });
  try {
    const secrets = [...providerSecrets, ...stateTokens(paths.root, warn)];
    const store = await JournalStore.open({
      ...journalOptionsFor(paths, { version: PALYRA_VERSION, limits, extraSecrets: secrets }),
      onWarning: printWarning,
      snapshotIntervalMs: 0,
      checkpointIntervalMs: 0,
      writeGuard: () => lock.assertHeld(),
    });
    opened = store;
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
