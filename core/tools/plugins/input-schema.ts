/**
 * Compiles the JSON Schema a plugin manifest declares for its input (`input`), with Ajv
 * in strict mode, and caches the validator by the schema's canonical text so a plugin
 * called in a loop compiles its schema once.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { canonicalJson, PalyraError, type JsonValue } from '../../base/index.ts';

/** Checks one input; throws PALYRA_TOOL_INPUT_INVALID naming the field. */
export type InputCheck = (input: JsonValue) => void;

const MAX_CACHED = 64;
const cache = new Map<string, (input: unknown) => ErrorObject | null>();
let ajv: Ajv2020 | undefined;

/**
 * A checker of plugin input against `schema`.
 * @throws Error with Ajv's reason when the schema itself is invalid (unknown keyword,
 *   bad `$ref`); the caller reports it as a manifest error on field "input".
 */
export function compileInputCheck(plugin: string, schema: Record<string, JsonValue>): InputCheck {
  const key = canonicalJson(schema);
  let validate = cache.get(key);
  if (validate === undefined) {
    // The same options as the tool registry's validator: unknown keywords are errors (a
    // typo would validate nothing), formats are annotations, first error only (an
    // adversarial input cannot make Ajv collect millions). One instance: its meta-schema
    // costs ~50 ms to compile.
    ajv ??= new Ajv2020({ strict: true, strictTypes: false, strictTuples: false, allErrors: false, validateFormats: false, logger: false });
    let compiled;
    try {
      compiled = ajv.compile(schema);
    } finally {
      // Forgotten at once, so two plugins may declare the same `$id` without clashing.
      ajv.removeSchema(schema);
    }
    const run = compiled;
    validate = (input) => (run(input) ? null : (run.errors?.[0] ?? null));
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, validate);
  }
  const check = validate;
  return (input) => {
    const error = check(input);
    if (error === null) return;
    const field = error.instancePath === '' ? '(root)' : error.instancePath;
    throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', `Input of plugin "${plugin}" is invalid: field "${field}" ${error.message ?? 'does not match the schema'}`, {
      details: { plugin, field },
    });
  };
}
