/**
 * Loads palyrad's configuration: defaults < TOML file < `PALYRA_*` environment < flags.
 *
 * The file is `<state>/config.toml` (optional) or the one `--config` names (required).
 * Each layer is validated on its own, so a message names where the bad value came from:
 * `/etc/palyra/config.toml: providers[0].type must be one of openai, anthropic, scripted`,
 * `PALYRA_PORT (server.port) must be at most 65535`. The result is plain data; the
 * composition root builds providers, tools and listeners from it.
 *
 * Wiring `serve` (left for later): call `loadConfig({ stateDir, configPath: opts.config,
 * env: process.env, flags })` where `flags` holds only what the user actually typed, e.g.
 * `{ 'server.port': opts.port }` when `cmd.getOptionValueSource('port') === 'cli'` (the
 * current `--port` default reads PALYRA_PORT itself, which would make every env value
 * look like a flag). Then `checkBind(config.server.host, ...)` from bind-policy.ts, and
 * pass `config.journal` over `journalOptionsFor(...)`'s limits (same env names, same order).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { invalidArgument, ioError, PalyraError } from '../base/index.ts';
import { defaultConfig, providerDefaults } from './config-defaults.ts';
import { flattenConfig, type ConfigSource } from './config-listing.ts';
import type { PalyraConfig, ProviderConfig } from './config-schema.ts';
import { readSetting, setPath, settingAt, SETTINGS } from './config-settings.ts';
import { validateLayer } from './config-validate.ts';

/** The config file's name inside a state directory. */
export const CONFIG_FILE_NAME = 'config.toml';

/** Values set by command-line flags, by dotted path (`server.port`); text is read like the environment's. */
export type ConfigFlags = Record<string, string | number | boolean | string[] | undefined>;

/** Where to look and what overrides the file. */
export interface LoadConfigOptions {
  stateDir: string;
  /** `--config FILE`: must exist. Without it `<stateDir>/config.toml` is read when present. */
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
  /** Relative paths from the environment, flags and `configPath` resolve here (default process.cwd()). */
  cwd?: string;
}

/** The effective config, where each leaf came from, and the file read (null: none). */
export interface LoadedConfig {
  config: PalyraConfig;
  sources: Record<string, ConfigSource>;
  file: string | null;
}

type Layer = Record<string, unknown>;
const PATH_KEYS = ['server.tls.cert', 'server.tls.key', 'tools.workspace'];

/**
 * Loads and validates the effective config.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT for a missing `--config` file, TOML syntax
 *   (naming line and column), unknown keys, wrong types or inconsistent settings;
 *   PALYRA_IO when the file cannot be read.
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const { file, layer: fileLayer } = readFileLayer(options, cwd);
  const envLayer = envToLayer(env, cwd);
  const flagLayer = flagsToLayer(options.flags ?? {}, cwd);
  const defaults = defaultConfig(options.stateDir);
  const merged = merge(merge(merge(defaults, fileLayer), envLayer), flagLayer) as unknown as PalyraConfig;
  if (fileLayer['providers'] !== undefined) {
    merged.providers = (fileLayer['providers'] as Array<Layer & { type: ProviderConfig['type'] }>).map(providerDefaults);
  }
  checkConsistency(merged, file ?? 'Config');
  validateLayer(merged, (path) => `Effective config: ${path}`);
  return { config: merged, sources: sourcesOf(merged, [['flag', flagLayer], ['env', envLayer], ['file', fileLayer]]), file };
}

function readFileLayer(options: LoadConfigOptions, cwd: string): { file: string | null; layer: Layer } {
  const explicit = options.configPath !== undefined && options.configPath !== '';
  const file = explicit ? resolve(cwd, options.configPath as string) : join(options.stateDir, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && explicit) throw invalidArgument(`Config file "${file}" does not exist`);
    // ENOTDIR: the state directory is a file; whoever opens it next says so.
    if (code === 'ENOENT' || (code === 'ENOTDIR' && !explicit)) return { file: null, layer: {} };
    throw ioError(`read config file "${file}"`, error);
  }
  let layer: Layer;
  try {
    layer = parse(text) as Layer;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // Security: only the first paragraph; smol-toml appends the offending line, which may hold a key.
    const reason = error.message.split('\n\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'syntax error';
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${file}:${error.line}:${error.column}: invalid TOML: ${reason}`);
  }
  validateLayer(layer, (path) => `${file}:${path === '' ? '' : ` ${path}`}`);
  for (const key of PATH_KEYS) resolvePathAt(layer, key, dirname(file));
  for (const provider of (layer['providers'] as Layer[] | undefined) ?? []) {
    if (typeof provider['script'] === 'string') provider['script'] = resolve(dirname(file), provider['script']);
  }
  return { file, layer };
}

function envToLayer(env: NodeJS.ProcessEnv, cwd: string): Layer {
  const layer: Layer = {};
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') continue;
    setPath(layer, setting.path, readSetting(setting, raw, setting.env));
  }
  validateLayer(layer, (path) => {
    const setting = SETTINGS.find((s) => path === s.path || path.startsWith(`${s.path}[`));
    return setting ? `${setting.env} (${path})` : path;
  });
  for (const key of PATH_KEYS) resolvePathAt(layer, key, cwd);
  return layer;
}

function flagsToLayer(flags: ConfigFlags, cwd: string): Layer {
  const layer: Layer = {};
  for (const [path, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const setting = settingAt(path);
    if (setting === undefined) throw invalidArgument(`Setting "${path}" cannot be given as a flag`);
    setPath(layer, path, typeof value === 'string' ? readSetting(setting, value, `Flag for ${path}`) : value);
  }
  validateLayer(layer, (path) => `Flag for ${path}`);
  for (const key of PATH_KEYS) resolvePathAt(layer, key, cwd);
  return layer;
}

function resolvePathAt(layer: Layer, dotted: string, base: string): void {
  const parts = dotted.split('.');
  let node: unknown = layer;
  for (const part of parts.slice(0, -1)) node = (node as Layer | undefined)?.[part];
  const last = parts[parts.length - 1] as string;
  const value = (node as Layer | undefined)?.[last];
  if (typeof value === 'string') (node as Layer)[last] = resolve(base, value);
}

/** Tables merge key by key; arrays and scalars replace. */
function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isTable(base) || !isTable(over)) return over;
  const out: Layer = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = merge(base[key], value);
  return out;
}

function isTable(value: unknown): value is Layer {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Why a value cannot be sent as an HTTP header; the words after its name in a message. */
export const CONTROL_PROBLEM = 'contains a control character (a trailing newline?); HTTP headers cannot carry it';

/**
 * True when `value` holds a C0 control character or DEL. An API key pasted or read with
 * its line break would otherwise be refused by undici on every request, long after start.
 */
export function hasControlCharacter(value: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(value);
}

/** Rules across keys that a schema cannot say well. */
function checkConsistency(config: PalyraConfig, where: string): void {
  const seen = new Map<string, number>();
  config.providers.forEach((provider, i) => {
    const at = `${where}: providers[${i}]`;
    const before = seen.get(provider.id);
    if (before !== undefined) throw invalidArgument(`${at}.id repeats the id of providers[${before}]; ids must be unique`);
    seen.set(provider.id, i);
    if (provider.type === 'scripted') return;
    if (provider.apiKey !== null && provider.apiKeyEnv !== null) throw invalidArgument(`${at} sets both apiKey and apiKeyEnv; keep one (apiKeyEnv is preferred)`);
    if (provider.type === 'anthropic' && provider.apiKey === null && provider.apiKeyEnv === null) {
      throw invalidArgument(`${at} (anthropic) needs apiKeyEnv, the name of the variable holding the key`);
    }
    // Security: the message names the key, never the value.
    if (provider.apiKey !== null && hasControlCharacter(provider.apiKey)) throw invalidArgument(`${at}.apiKey ${CONTROL_PROBLEM}`);
    for (const [name, value] of Object.entries(provider.headers)) {
      if (hasControlCharacter(value)) throw invalidArgument(`${at}.headers.${name} ${CONTROL_PROBLEM}`);
    }
  });
  const { cert, key } = config.server.tls;
  if ((cert === null) !== (key === null)) throw invalidArgument(`${where}: server.tls needs both cert and key, or neither`);
  // node:http refuses a headers timeout longer than the whole-request timeout (it would
  // never fire); say so here rather than crash `serve` after it has locked the state.
  const server = config.server;
  if (server.headersTimeoutMs > server.requestTimeoutMs) {
    throw invalidArgument(`${where}: server.headersTimeoutMs must not exceed server.requestTimeoutMs`);
  }
  const p = config.tools.process;
  if (p.defaultTimeoutMs > p.maxTimeoutMs) throw invalidArgument(`${where}: tools.process.defaultTimeoutMs must not exceed tools.process.maxTimeoutMs`);
}

function sourcesOf(config: PalyraConfig, layers: Array<[ConfigSource, Layer]>): Record<string, ConfigSource> {
  const sets = layers.map(([source, layer]) => [source, new Set(flattenConfig(layer).map(([path]) => path))] as const);
  const sources: Record<string, ConfigSource> = {};
  for (const [path] of flattenConfig(config)) {
    sources[path] = sets.find(([, set]) => set.has(path))?.[0] ?? 'default';
  }
  return sources;
}
