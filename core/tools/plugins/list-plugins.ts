/**
 * What an operator sees of the installed plugins: each one, and whether it would load.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ioError, PalyraError } from '../../base/index.ts';
import { loadPlugin } from './plugin-loader.ts';

/** One installed plugin as `listPlugins` reports it. */
export interface PluginInfo {
  name: string;
  /** From the manifest; null when the manifest cannot be read. */
  version: string | null;
  description: string | null;
  hostFunctions: string[];
  /** True when the plugin passed every check `plugin.run` makes before running it. */
  verified: boolean;
  /** Why it is not verified (stable code and message); null when verified. */
  problem: { code: string; message: string } | null;
}

/**
 * Lists the plugins in `pluginsDir` (one per sub-directory, sorted by name) and verifies
 * each exactly as `plugin.run` would (manifest, sha256, imports, memory), without running
 * any. A missing directory lists as empty.
 * @throws PalyraError PALYRA_IO when the directory exists but cannot be read.
 */
export async function listPlugins(pluginsDir: string, options: { maxMemoryPages?: number } = {}): Promise<PluginInfo[]> {
  let entries;
  try {
    entries = await readdir(pluginsDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(`list plugins in ${pluginsDir}`, error);
  }
  const names = entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name).sort();
  const infos: PluginInfo[] = [];
  for (const name of names) {
    try {
      const { manifest } = await loadPlugin(pluginsDir, name, options);
      infos.push({ ...describe(manifest), name, verified: true, problem: null });
    } catch (error) {
      const problem = error instanceof PalyraError ? { code: error.code, message: error.message } : { code: 'PALYRA_INTERNAL', message: String(error) };
      infos.push({ ...(await describeLoosely(pluginsDir, name)), name, verified: false, problem });
    }
  }
  return infos;
}

type Described = Pick<PluginInfo, 'version' | 'description' | 'hostFunctions'>;

function describe(manifest: { version: string; description: string; hostFunctions: string[] }): Described {
  return { version: manifest.version, description: manifest.description, hostFunctions: [...manifest.hostFunctions] };
}

/** Best-effort fields of a manifest that failed verification, so the listing still says what it is. */
async function describeLoosely(pluginsDir: string, name: string): Promise<Described> {
  try {
    const path = join(pluginsDir, name, 'plugin.json');
    if ((await stat(path)).size > 64 * 1024) throw new Error('too large to describe');
    const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const text = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, 1000) : null);
    const fns = Array.isArray(raw.hostFunctions) ? raw.hostFunctions.filter((f): f is string => typeof f === 'string') : [];
    return { version: text(raw.version), description: text(raw.description), hostFunctions: fns };
  } catch {
    return { version: null, description: null, hostFunctions: [] };
  }
}
