import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { JsonValue } from '../base/index.ts';
import { createSchemaCompiler, type CompileSchema } from './input-validator.ts';

/** Whether `ref`'s target survives full garbage collections (forced, with or without --expose-gc). */
async function survivesGc(ref: WeakRef<object>): Promise<boolean> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    // A WeakRef keeps its target until the job that last read it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  return ref.deref() !== undefined;
}

/** What compiling `schema` and validating `inputs` gives: Ajv's refusal, or each input's violation. */
function outcome(compile: CompileSchema, schema: Record<string, JsonValue>, inputs: unknown[]): string | (string | null)[] {
  try {
    const validate = compile(schema);
    return inputs.map(validate);
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

test('a scoped compiler validates, and refuses schemas, exactly as its parent does', () => {
  const cases: [Record<string, JsonValue>, unknown[]][] = [
    [{ type: 'object', properties: { path: { type: 'string', maxLength: 3 }, mode: { enum: ['a', 'b'] } }, required: ['path'], additionalProperties: false }, [{ path: 'x' }, {}, { path: 'long' }, { path: 'x', mode: 'c' }, { path: 'x', extra: 1 }]],
    [{ $defs: { n: { type: 'integer', minimum: 1 } }, type: 'array', items: { $ref: '#/$defs/n' }, uniqueItems: true }, [[1, 2], [0], [1, 1], 'x']],
    [{ type: 'object', propertyNames: { maxLength: 2 } }, [{ ab: 1 }, { abc: 1 }]],
    [{ type: 'object', propertys: {} }, []],
    [{ type: 'strin' }, []],
    [{ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'strin' }, []],
    [{ $schema: 'https://json-schema.org/draft/2020-12/schema#/allOf/0', type: 'strin' }, []],
    [{ $schema: 'urn:example:unknown', type: 'string' }, []],
    [{ type: 'object', properties: { a: { $ref: '#/$defs/missing' } } }, []],
  ];
  const parent = createSchemaCompiler();
  const scoped = parent.scoped();
  const expected = cases.map(([schema, inputs]) => outcome(parent, schema, inputs));
  assert.deepEqual(
    cases.map(([schema, inputs]) => outcome(scoped, schema, inputs)),
    expected,
  );
  // The cases cover what they mean to: valid inputs, each kind of violation, and each kind of refusal.
  assert.deepEqual(expected.slice(0, 3), [
    [null, '/path is required', '/path must NOT have more than 3 characters', '/mode must be one of "a", "b"', '/extra is not allowed'],
    [null, '/0 must be >= 1', 'input must NOT have duplicate items (items ## 0 and 1 are identical)', 'input must be array'],
    [null, 'input key "abc" must NOT have more than 2 characters'],
  ]);
  assert.deepEqual(expected.slice(3), [
    'refused: strict mode: unknown keyword: "propertys"',
    'refused: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf',
    'refused: schema is invalid: data/type must be equal to one of the allowed values, data/type must be array, data/type must match a schema in anyOf',
    'refused: type must be JSONType or JSONType[]: strin',
    'refused: no schema with key or ref "urn:example:unknown"',
    'refused: can\'t resolve reference #/$defs/missing from id #',
  ]);
});

test('what a scoped compiler compiled is freed with it, where the parent keeps every schema it compiled', async () => {
  const parent = createSchemaCompiler();
  const compiledBy = (compile: CompileSchema): WeakRef<object> => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, description: 'x'.repeat(1_000) };
    compile(schema)({ a: 'y' });
    return new WeakRef(schema);
  };
  const byScoped = compiledBy(parent.scoped());
  const byParent = compiledBy(parent);
  assert.deepEqual([await survivesGc(byScoped), await survivesGc(byParent)], [false, true]);
});
