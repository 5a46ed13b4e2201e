/**
 * The scalar settings that the environment (`PALYRA_*`) and command-line flags may set,
 * with how a text value is read. The file sets anything; these are the keys operators
 * change per process (ports, hosts, limits of a container).
 */
import { invalidArgument } from '../base/index.ts';

/** How a text value (environment or flag) becomes a config value. */
export type SettingKind = 'string' | 'path' | 'integer' | 'switch' | 'list';

/** One overridable setting: its dotted config path, its kind and its environment name. */
export interface Setting {
  path: string;
  kind: SettingKind;
  env: string;
}

/** Every setting the environment and flags may override, in documentation order. */
export const SETTINGS: readonly Setting[] = [
  { path: 'server.host', kind: 'string', env: 'PALYRA_HOST' },
  { path: 'server.port', kind: 'integer', env: 'PALYRA_PORT' },
  { path: 'server.logFormat', kind: 'string', env: 'PALYRA_LOG_FORMAT' },
  { path: 'server.tls.cert', kind: 'path', env: 'PALYRA_TLS_CERT' },
  { path: 'server.tls.key', kind: 'path', env: 'PALYRA_TLS_KEY' },
  { path: 'server.maxBodyBytes', kind: 'integer', env: 'PALYRA_MAX_BODY_BYTES' },
  { path: 'tools.workspace', kind: 'path', env: 'PALYRA_WORKSPACE' },
  { path: 'tools.process.allowedExecutables', kind: 'list', env: 'PALYRA_PROCESS_ALLOW' },
  { path: 'tools.http.allow', kind: 'list', env: 'PALYRA_HTTP_ALLOW' },
  { path: 'journal.indexRetention', kind: 'integer', env: 'PALYRA_JOURNAL_INDEX_RETENTION' },
  { path: 'journal.maxPayloadBytes', kind: 'integer', env: 'PALYRA_JOURNAL_MAX_PAYLOAD_BYTES' },
  { path: 'journal.writerThread', kind: 'switch', env: 'PALYRA_JOURNAL_WRITER_THREAD' },
  { path: 'gateway.maxConcurrentRuns', kind: 'integer', env: 'PALYRA_MAX_CONCURRENT_RUNS' },
];

/** The setting at a dotted path, or undefined. */
export function settingAt(path: string): Setting | undefined {
  return SETTINGS.find((s) => s.path === path);
}

/**
 * Reads a text value of a setting. Integers and switches are checked here (so the message
 * can quote the text); ranges and choices are left to the schema.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT naming `label`.
 */
export function readSetting(setting: Setting, raw: string, label: string): unknown {
  switch (setting.kind) {
    case 'string':
    case 'path':
      return raw;
    case 'integer': {
      const n = Number(raw.trim());
      if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw invalidArgument(`${label} must be a non-negative integer, not "${raw}"`);
      return n;
    }
    case 'switch': {
      const v = raw.trim().toLowerCase();
      if (['1', 'on', 'true', 'yes'].includes(v)) return true;
      if (['0', 'off', 'false', 'no'].includes(v)) return false;
      throw invalidArgument(`${label} must be on or off, not "${raw}"`);
    }
    case 'list':
      // Comma-separated; blanks around entries are dropped, so "a, b" is ["a", "b"].
      return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }
}

/** Sets `value` at a dotted `path` inside `target`, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null || typeof next !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}
