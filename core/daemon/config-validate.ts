/**
 * Checks one layer of configuration against {@link CONFIG_SCHEMA} with Ajv and words the
 * first violation as `<key path> <problem>`, the path in the spelling of the file
 * (`providers[0].type`, `server.port`).
 *
 * Security: messages never quote a value from the config; a misplaced API key must not
 * end up in a terminal, a log or a CI transcript.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { invalidArgument } from '../base/index.ts';
import { Redactor } from '../journal/index.ts';
import { CONFIG_SCHEMA, PROVIDER_TYPES } from './config-schema.ts';

let compiled: ValidateFunction | null = null;
const SHAPES = new Redactor();

function validator(): ValidateFunction {
  compiled ??= new Ajv({ strict: true, strictTypes: false, allErrors: false, discriminator: true, logger: false }).compile(CONFIG_SCHEMA);
  return compiled;
}

/**
 * Throws a usage error `<label>: <path> <problem>` (or `<label> <problem>` when `label`
 * already names a single key) for the first violation in `layer`.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT.
 */
export function validateLayer(layer: unknown, label: (path: string) => string): void {
  const validate = validator();
  if (validate(layer)) return;
  const first = validate.errors?.[0];
  if (first === undefined) throw invalidArgument(`${label('')} does not match the config schema`);
  const { path, problem } = describe(first);
  // Security: a key name is the one piece of the file a message quotes; a secret pasted
  // where a key belongs (`"sk-..." = 1`) is removed by shape.
  const message = SHAPES.redact(`${label(path)} ${problem}`).value as string;
  throw invalidArgument(message);
}

/** `/providers/0/type` → `providers[0].type`. */
export function keyPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function join(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function describe(error: ErrorObject): { path: string; problem: string } {
  const at = keyPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  if (error.propertyName !== undefined) return { path: join(at, error.propertyName), problem: 'is not a valid name here' };
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: join(at, String(params['additionalProperty'])), problem: 'is not a known key' };
    case 'required':
      return { path: join(at, String(params['missingProperty'])), problem: 'is required' };
    case 'discriminator':
      return { path: join(at, String(params['tag'])), problem: `must be one of ${PROVIDER_TYPES.join(', ')}` };
    case 'enum':
      return { path: at, problem: `must be one of ${(params['allowedValues'] as unknown[]).map(String).join(', ')}` };
    case 'const':
      return { path: at, problem: `must be ${String(params['allowedValue'])}` };
    case 'type':
      return { path: at, problem: `must be ${typeWords(String(params['type']))}` };
    case 'minimum':
      return { path: at, problem: `must be at least ${String(params['limit'])}` };
    case 'maximum':
      return { path: at, problem: `must be at most ${String(params['limit'])}${/Ms$/.test(at) ? ' (about 24.8 days, the longest timer Node.js can set)' : ''}` };
    case 'minLength':
      return { path: at, problem: 'must not be empty' };
    case 'minItems':
      return { path: at, problem: `must have at least ${String(params['limit'])} entries` };
    case 'pattern':
      return { path: at, problem: patternWords(at) };
    default:
      return { path: at, problem: error.message ?? 'does not match the config schema' };
  }
}

function typeWords(type: string): string {
  const words: Record<string, string> = { integer: 'an integer', number: 'a number', string: 'a string', boolean: 'true or false', object: 'a table', array: 'an array' };
  return type.split(',').filter((t) => t !== 'null').map((t) => words[t] ?? t).join(' or ');
}

function patternWords(at: string): string {
  if (/baseUrl$/.test(at)) return 'must be an http:// or https:// URL';
  if (/apiKeyEnv$|allowedEnvKeys\[\d+\]$/.test(at)) return 'must be an environment variable name';
  if (/\.id$/.test(at)) return 'must be lowercase letters, digits, ".", "_" or "-" (at most 63)';
  return 'has an invalid form';
}
