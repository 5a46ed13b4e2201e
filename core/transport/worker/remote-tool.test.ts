import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutPatterns } from './remote-tool.ts';

test('the daemon checks worker inputs without the worker\'s regular expressions (the worker checks them)', () => {
  const schema = {
    type: 'object',
    properties: {
      path: { type: 'string', maxLength: 10, pattern: '^(a+)+$' },
      env: { type: 'object', propertyNames: { pattern: '^(x+x+)+y$' }, additionalProperties: { type: 'string' } },
      tags: { type: 'object', patternProperties: { '^(a|a)*$': { type: 'string' } }, additionalProperties: false },
    },
    required: ['path'],
    additionalProperties: false,
  };
  assert.deepEqual(withoutPatterns(schema), {
    type: 'object',
    properties: {
      path: { type: 'string', maxLength: 10 },
      env: { type: 'object', propertyNames: {}, additionalProperties: { type: 'string' } },
      tags: { type: 'object' },
    },
    required: ['path'],
    additionalProperties: false,
  });
  assert.deepEqual(withoutPatterns({ enum: ['pattern'], const: { pattern: 1 } }), { enum: ['pattern'], const: { pattern: 1 } }, 'only string patterns are schema keywords');
  // Names the author chose are not keywords: properties called "patternProperties" or
  // "pattern" keep their schemas, and data under const/enum is copied as it is.
  const named = {
    type: 'object',
    properties: { patternProperties: { type: 'integer' }, pattern: { type: 'string', maxLength: 3 }, additionalProperties: { type: 'boolean' } },
    additionalProperties: false,
  };
  assert.deepEqual(withoutPatterns(named), named);
  assert.deepEqual(withoutPatterns({ const: { pattern: 'x' }, enum: [{ patternProperties: {} }] }), { const: { pattern: 'x' }, enum: [{ patternProperties: {} }] });
});
