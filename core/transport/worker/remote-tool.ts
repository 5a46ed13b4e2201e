/**
 * A worker's tool as the daemon's registry holds it: the worker's own description and
 * schema under a namespaced name, with "remote" always among its capabilities so the
 * policy gate treats it as remote (the default policies ask a human), and a `run` that
 * sends the call over the worker's connection.
 */
import type { JsonValue } from '../../base/index.ts';
import type { Capability, ToolDefinition } from '../../tools/index.ts';
import type { WorkerConnection } from './worker-connection.ts';
import { namespacedToolName, type WorkerToolSpec } from './worker-protocol.ts';

/**
 * The registry definition of `spec` on `connection`. The daemon-side time limit is the
 * worker's own plus `networkGraceMs`, so the worker's timeout (which names the tool and
 * cleans up there) normally reports first; the daemon's limit still bounds a worker
 * that never answers.
 */
export function remoteToolDefinition(connection: WorkerConnection, spec: WorkerToolSpec, options: { networkGraceMs: number }): ToolDefinition<JsonValue> {
  const capabilities: Capability[] = [...new Set<Capability>([...spec.capabilities, 'remote'])];
  return {
    name: namespacedToolName(connection.worker, spec.name),
    description: `${spec.description} (runs on remote worker "${connection.worker}")`,
    inputSchema: withoutCostlyKeywords(spec.inputSchema) as Record<string, JsonValue>,
    capabilities,
    risk: spec.risk,
    parallelSafe: spec.parallelSafe,
    limits: { ...spec.limits, timeoutMs: spec.limits.timeoutMs + options.networkGraceMs },
    run: (input, context) => connection.call(spec.name, input, { timeoutMs: spec.limits.timeoutMs, signal: context.signal }),
  };
}

/**
 * The schema the daemon checks inputs with: the worker's, without regular expressions,
 * without `uniqueItems` and without `unevaluatedProperties`/`unevaluatedItems`.
 * Security: a `pattern` comes from the worker, and the daemon would run it on every call
 * (a pathological one could stall the daemon's event loop); `uniqueItems` makes Ajv
 * compare the items of model-made input pairwise by deep equality, a cost quadratic in
 * the array's length (60,000 numbers, under 1 MiB of input, held the event loop for
 * 1.8 s); the unevaluated keywords make Ajv's compile superlinear (a 1,800-property
 * object with `unevaluatedProperties: false` took seconds, well inside the node budget). The worker checks the full schema itself
 * before its tool runs, so dropping them here loses no check where the tool runs.
 * Everything else (types, lengths, required fields) is still checked here.
 */
export function withoutCostlyKeywords(schema: JsonValue): JsonValue {
  if (Array.isArray(schema)) return schema.map(withoutCostlyKeywords);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'pattern' && typeof value === 'string') continue;
    // Its keys are regular expressions too: without them, other properties are let through here.
    if (key === 'patternProperties') continue;
    if (key === 'uniqueItems' && typeof value === 'boolean') continue;
    if (UNEVALUATED_KEYWORDS.has(key)) continue;
    if (DATA_KEYWORDS.has(key)) out[key] = value as JsonValue;
    else if (SCHEMA_MAPS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      // Names chosen by the schema's author (a property may be called "pattern"): only the values are schemas.
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, withoutCostlyKeywords(sub as JsonValue)]));
    } else out[key] = withoutCostlyKeywords(value as JsonValue);
  }
  if ('patternProperties' in schema) delete out['additionalProperties'];
  return out;
}

/** Keywords whose values are maps from names to schemas. */
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords Ajv tracks evaluated members for, at a compile cost that grows faster than the schema. */
const UNEVALUATED_KEYWORDS = new Set(['unevaluatedProperties', 'unevaluatedItems']);
/** Keywords whose values are data, never schemas: copied as they are. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples']);
