/**
 * The tools a `palyrad worker` offers: the built-in set, restricted to an allowlist.
 * Only tools that work without daemon configuration are offerable; process.run (which
 * needs an executable allowlist), plugin.run (a plugins folder) and the memory tools (the
 * daemon's memory store) stay on the daemon.
 */
import { PalyraError } from '../../base/index.ts';
import { createBuiltinRegistry, createInMemoryMemoryStore, ToolRegistry, type ToolDefinition } from '../../tools/index.ts';

/** Tools a worker may offer. */
export const WORKER_OFFERABLE_TOOLS: readonly string[] = ['echo', 'sleep', 'fs.read', 'fs.list', 'fs.write', 'http.fetch'];
/** Offered when no allowlist is given: nothing that writes or reaches the network. */
export const DEFAULT_WORKER_TOOLS: readonly string[] = ['echo', 'fs.read', 'fs.list'];

/**
 * A registry of the allowlisted built-in tools.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT naming a tool that is not offerable.
 */
export function workerToolRegistry(names: readonly string[], options: { stateDir: string }): ToolRegistry {
  const unknown = names.filter((n) => !WORKER_OFFERABLE_TOOLS.includes(n));
  if (unknown.length > 0) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `--tools lists "${unknown.join('", "')}", which a worker cannot offer: choose from ${WORKER_OFFERABLE_TOOLS.join(', ')}`);
  if (names.length === 0) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `--tools is empty: name at least one of ${WORKER_OFFERABLE_TOOLS.join(', ')}`);
  const builtins = createBuiltinRegistry({ stateDir: options.stateDir, memoryStore: createInMemoryMemoryStore(), process: { allowedExecutables: [] } });
  const registry = new ToolRegistry();
  for (const name of new Set(names)) registry.register(builtins.get(name) as ToolDefinition<never>);
  return registry;
}
