/**
 * The compile budget of a worker's `hello`. The hub compiles every tool's input schema
 * with Ajv synchronously, on the daemon's event loop; its cost grows with the schema's
 * size (faster than linearly within one schema), so a hello well under the frame cap
 * could stall the daemon for seconds. Its size is counted here, before anything compiles.
 */
import type { JsonValue } from '../../base/index.ts';
import { WORKER_LIMITS, type WorkerToolSpec } from './worker-protocol.ts';

/** The number of JSON values in `value`: itself, and every member and element, recursively. */
export function jsonNodeCount(value: JsonValue): number {
  if (value === null || typeof value !== 'object') return 1;
  let count = 1;
  for (const child of Array.isArray(value) ? value : Object.values(value)) count += jsonNodeCount(child);
  return count;
}

/**
 * Why compiling these tools' schemas would cost more than the protocol allows
 * (WORKER_LIMITS.maxSchemaNodes per tool, maxHelloSchemaNodes in all), or null.
 */
export function schemaBudgetProblem(tools: readonly WorkerToolSpec[]): string | null {
  let total = 0;
  for (const tool of tools) {
    const nodes = jsonNodeCount(tool.inputSchema);
    if (nodes > WORKER_LIMITS.maxSchemaNodes) return `The input schema of tool "${tool.name}" is too complex: ${nodes} JSON values; at most ${WORKER_LIMITS.maxSchemaNodes} are allowed`;
    total += nodes;
  }
  if (total > WORKER_LIMITS.maxHelloSchemaNodes) return `The tools' input schemas are too complex together: ${total} JSON values; at most ${WORKER_LIMITS.maxHelloSchemaNodes} are allowed in one hello`;
  return null;
}
