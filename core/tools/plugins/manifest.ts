/**
 * The plugin manifest (`plugin.json`): what an operator grants a WebAssembly plugin.
 *
 * Validation is strict on purpose: an unknown field is refused rather than ignored, so a
 * typo such as `"hostFunction"` can never silently run a plugin with other grants than the
 * operator meant. Every error names the field.
 */
import { PalyraError, isSha256Hex, type JsonValue } from '../../base/index.ts';

/** The manifest format this code reads; persisted files carry it (`manifestVersion`). */
export const MANIFEST_VERSION = 1;

/**
 * The fixed set of host functions a plugin may import from module `"palyra"`.
 * Signatures (wasm): `log(ptr i32, len i32)`, `now_ms() -> f64`, `random_u32() -> i32`.
 */
export const HOST_FUNCTIONS = ['log', 'now_ms', 'random_u32'] as const;

/** One host function a manifest can grant. */
export type HostFunctionName = (typeof HOST_FUNCTIONS)[number];

/** Plugin and directory names: lowercase letters, digits, `-` and `_`; never a path. */
export const PLUGIN_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Wall-clock limit of a plugin call when its manifest sets none. */
export const DEFAULT_PLUGIN_TIMEOUT_MS = 5_000;

/** A validated `plugin.json`. */
export interface PluginManifest {
  manifestVersion: typeof MANIFEST_VERSION;
  name: string;
  version: string;
  description: string;
  /** File name of the .wasm module inside the plugin's directory. */
  module: string;
  /** Lowercase hex SHA-256 of the module file; checked before every load. */
  sha256: string;
  /** JSON Schema (draft 2020-12) the plugin's input must match, when set. */
  input: Record<string, JsonValue> | null;
  hostFunctions: HostFunctionName[];
  limits: { memoryPages: number; timeoutMs: number };
}

const FIELDS = ['manifestVersion', 'name', 'version', 'description', 'module', 'sha256', 'input', 'hostFunctions', 'limits'];
const LIMIT_FIELDS = ['memoryPages', 'timeoutMs'];
const SEMVER = /^\d{1,9}\.\d{1,9}\.\d{1,9}(?:[-+][0-9A-Za-z.+-]{1,64})?$/;
// Security: a bare file name (no separator), so the module always lies inside the plugin's directory.
const MODULE_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,122}\.wasm$/;

/**
 * Validates a parsed `plugin.json` found in directory `dirName`.
 * @throws PalyraError PALYRA_TOOL_FAILED naming the first bad field (`details.field`).
 */
export function parseManifest(value: unknown, dirName: string): PluginManifest {
  const bad = (field: string, why: string): PalyraError =>
    new PalyraError('PALYRA_TOOL_FAILED', `Plugin "${dirName}" manifest is invalid: field "${field}" ${why}`, {
      details: { plugin: dirName, field },
    });
  if (!isObject(value)) throw bad('(root)', 'must be a JSON object');
  for (const key of Object.keys(value)) if (!FIELDS.includes(key)) throw bad(key, 'is not a known field');

  if (value.manifestVersion !== MANIFEST_VERSION) throw bad('manifestVersion', `must be ${MANIFEST_VERSION}`);
  const name = value.name;
  if (typeof name !== 'string' || !PLUGIN_NAME_PATTERN.test(name)) throw bad('name', 'must match [a-z0-9][a-z0-9_-]{0,63}');
  if (name !== dirName) throw bad('name', `must equal the directory name "${dirName}"`);
  if (typeof value.version !== 'string' || !SEMVER.test(value.version)) throw bad('version', 'must be a semantic version such as "1.0.0"');
  if (typeof value.description !== 'string' || value.description.length > 1000) throw bad('description', 'must be a string of at most 1000 characters');
  if (typeof value.module !== 'string' || !MODULE_FILE.test(value.module)) throw bad('module', 'must be a file name ending in ".wasm", without path separators');
  if (!isSha256Hex(value.sha256)) throw bad('sha256', 'must be 64 lowercase hex digits');
  const input = value.input ?? null;
  if (input !== null && !isObject(input)) throw bad('input', 'must be a JSON Schema object');

  const hostFunctions = value.hostFunctions ?? [];
  if (!Array.isArray(hostFunctions)) throw bad('hostFunctions', 'must be an array');
  hostFunctions.forEach((fn: unknown, i) => {
    if (!HOST_FUNCTIONS.includes(fn as HostFunctionName)) throw bad(`hostFunctions[${i}]`, `must be one of ${HOST_FUNCTIONS.join(', ')}`);
    if (hostFunctions.indexOf(fn) !== i) throw bad(`hostFunctions[${i}]`, `repeats "${String(fn)}"`);
  });

  const limits = value.limits;
  if (!isObject(limits)) throw bad('limits', 'must be an object with memoryPages (and optionally timeoutMs)');
  for (const key of Object.keys(limits)) if (!LIMIT_FIELDS.includes(key)) throw bad(`limits.${key}`, 'is not a known field');
  const memoryPages = limits.memoryPages;
  if (!isIntIn(memoryPages, 1, 65_536)) throw bad('limits.memoryPages', 'must be an integer from 1 to 65536 (64 KiB pages)');
  const timeoutMs = limits.timeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
  if (!isIntIn(timeoutMs, 1, 600_000)) throw bad('limits.timeoutMs', 'must be an integer from 1 to 600000');

  return {
    manifestVersion: MANIFEST_VERSION,
    name,
    version: value.version,
    description: value.description,
    module: value.module,
    sha256: value.sha256,
    input: input as Record<string, JsonValue> | null,
    hostFunctions: hostFunctions as HostFunctionName[],
    limits: { memoryPages, timeoutMs },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
