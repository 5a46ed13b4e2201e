/**
 * Validation of tool input against its JSON Schema (draft 2020-12) with Ajv, and the
 * wording of violations. A message names the field by JSON pointer so a model (or a
 * person) can fix the call: `/path must be string`, `/mode is required`.
 */
import { Ajv2020, type AnySchema, type ErrorObject, type Options } from 'ajv/dist/2020.js';
import type { JsonValue } from '../base/index.ts';

/** Returns null when the input is valid, else one sentence naming the first violation. */
export type InputValidator = (input: unknown) => string | null;

/** Compiles a tool's input schema; throws Ajv's reason when the schema is invalid. */
export type CompileSchema = (schema: Record<string, JsonValue>) => InputValidator;

/** A compiler of tool input schemas: one Ajv instance, and scoped ones that borrow from it. */
export interface SchemaCompiler extends CompileSchema {
  /**
   * A compiler with an Ajv instance of its own, for schemas that come and go (a remote
   * worker's): Ajv keeps every schema an instance compiled for the instance's lifetime
   * (`removeSchema` does not release it), so what a scoped compiler compiled is freed
   * only once it and every validator it made are unreachable. It validates exactly as
   * this one does, and borrows this one's compiled meta-schema rather than paying ~20-50 ms
   * to compile its own.
   */
  scoped(): CompileSchema;
}

/**
 * One Ajv instance per registry: compiling the draft 2020-12 meta-schema costs ~50 ms,
 * so it is paid once, and each tool's schema then compiles in about a millisecond.
 */
export function createSchemaCompiler(): SchemaCompiler {
  const ajv = new Ajv2020(AJV_OPTIONS);
  return Object.assign(compilerOn(ajv), { scoped: () => compilerOn(new BorrowedMetaAjv(ajv)) });
}

/** The Ajv settings of every compiler; a scoped compiler differs in nothing that validates. */
const AJV_OPTIONS: Options = {
  // Strict: an unknown keyword (a typo such as "propertys") would silently validate
  // nothing, so it fails registration instead.
  strict: true,
  strictTypes: false,
  strictTuples: false,
  // First error only: the message names one field, and an adversarial input cannot
  // make validation collect millions of errors.
  allErrors: false,
  // Formats are annotations here; tools parse what they rely on (URLs, paths) themselves.
  validateFormats: false,
  logger: false,
  // A referenced schema compiles once, as its own function. Inlined (Ajv's default), it
  // compiles again at every $ref: a schema of a few hundred values naming one large
  // definition 50 times took seconds, on the event loop (remote workers send schemas).
  inlineRefs: false,
  // Ajv's optimizer re-counts the names of every nested block, a cost quadratic in the
  // schema's size; without it a large schema compiles 2-3 times faster, and the code it
  // makes validates the same inputs.
  code: { optimize: false },
};

/**
 * An Ajv instance that checks schemas against another instance's compiled meta-schema.
 * Invariant: both instances have the same options and meta-schemas, and Ajv calls
 * `validateSchema` at the same point of `compile` either way, so errors (and their order)
 * are the same as the other instance's.
 */
class BorrowedMetaAjv extends Ajv2020 {
  readonly #meta: Ajv2020;

  constructor(meta: Ajv2020) {
    super(AJV_OPTIONS);
    this.#meta = meta;
  }

  override validateSchema(schema: AnySchema, throwOrLogError?: boolean): boolean | Promise<unknown> {
    // Security: only a meta-schema the other instance holds by that exact key is borrowed;
    // looking it up keeps nothing there. Any other `$schema` (a pointer into a meta-schema,
    // which Ajv resolves and caches under the peer's own spelling) resolves here, and is
    // freed with this instance.
    const $schema = typeof schema === 'object' ? (schema as { $schema?: unknown }).$schema : undefined;
    const borrowed = $schema === undefined || (typeof $schema === 'string' && Object.hasOwn(this.#meta.schemas, $schema));
    return borrowed ? this.#meta.validateSchema(schema, throwOrLogError) : super.validateSchema(schema, throwOrLogError);
  }
}

function compilerOn(ajv: Ajv2020): CompileSchema {
  return (schema) => {
    const validate = ajv.compile(schema);
    // The compiled function stands alone; forgetting the schema lets two tools (or two
    // plugin manifests) declare the same `$id` without clashing. (Its memory stays with
    // the instance all the same: see SchemaCompiler.scoped.)
    ajv.removeSchema(schema);
    return (input) => {
      if (validate(input)) return null;
      const first = validate.errors?.[0];
      return first === undefined ? 'does not match the schema' : describeViolation(first);
    };
  };
}

/** Words one Ajv error as `<field> <problem>`, the field a JSON pointer ("input" for the root). */
export function describeViolation(error: ErrorObject): string {
  const at = error.instancePath;
  const params = error.params as Record<string, unknown>;
  // A violation by an object key (propertyNames) is reported at the object; name the key.
  if (error.propertyName !== undefined) return `${at || 'input'} key ${JSON.stringify(error.propertyName)} ${error.message ?? 'is not allowed'}`;
  switch (error.keyword) {
    case 'required':
      return `${at}/${String(params['missingProperty'])} is required`;
    case 'additionalProperties':
      return `${at}/${String(params['additionalProperty'])} is not allowed`;
    case 'enum': {
      const allowed = Array.isArray(params['allowedValues']) ? params['allowedValues'] : [];
      return `${at || 'input'} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    default:
      return `${at || 'input'} ${error.message ?? 'does not match the schema'}`;
  }
}
