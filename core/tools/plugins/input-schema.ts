/**
 * Checks plugin input against the JSON Schema its manifest declares (`input`), with the
 * same Ajv settings and wording as the tool registry. Validators are cached by the
 * schema's canonical text, so a plugin called in a loop compiles its schema once.
 */
import { canonicalJson, PalyraError, type JsonValue } from '../../base/index.ts';
import { createSchemaCompiler, type InputValidator } from '../input-validator.ts';

/** Checks one input; throws PALYRA_TOOL_INPUT_INVALID naming the field. */
export type InputCheck = (input: JsonValue) => void;

const MAX_CACHED = 64;
const cache = new Map<string, InputValidator>();
let compile: ReturnType<typeof createSchemaCompiler> | undefined;

/**
 * A checker of plugin input against `schema`.
 * @throws Error with Ajv's reason when the schema itself is invalid (unknown keyword,
 *   bad `$ref`); the caller reports it as a manifest error on field "input".
 */
export function compileInputCheck(plugin: string, schema: Record<string, JsonValue>): InputCheck {
  const key = canonicalJson(schema);
  let validate = cache.get(key);
  if (validate === undefined) {
    compile ??= createSchemaCompiler();
    validate = compile(schema);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(key, validate);
  }
  const check = validate;
  return (input) => {
    const violation = check(input);
    if (violation === null) return;
    throw new PalyraError('PALYRA_TOOL_INPUT_INVALID', `Input of plugin "${plugin}" is invalid: ${violation}`, { details: { plugin } });
  };
}
