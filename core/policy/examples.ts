/**
 * Example requests carried in policy files as structured comments, checked by
 * `palyrad policy check`. One example per line:
 *
 *   // @example <allow|deny|ask> tool=NAME [key=value ...] [owner|not-owner] [approved]
 *
 * Keys: tool, capabilities (comma-separated, may be empty), risk, principal (`Type::"id"`
 * or an agent id), session, args (JSON), workspace, channel, sender, approval (none |
 * approved), calls (tool calls left), policies (comma-separated ids the decision must
 * name, in any order). A value containing spaces is written in single quotes:
 * `args='{"path": "a b.md"}'`. docs/policy.md has the full description.
 */
import { PalyraError } from '../base/index.ts';
import type { PolicyDecision } from './decide.ts';
import { parsePrincipal, type ToolCallRequestInput } from './request.ts';

/** One parsed `@example` line. */
export interface PolicyExample {
  file: string;
  line: number;
  /** The example text after `@example`, for messages. */
  text: string;
  expected: PolicyDecision;
  request: ToolCallRequestInput;
  /** When set, the determining policy ids must be exactly these (sorted). */
  policies?: string[];
}

const EXAMPLE_LINE = /^[ \t]*\/\/[ \t]*@example\b(.*)$/;
const KEYS = new Set(['tool', 'capabilities', 'risk', 'principal', 'session', 'args', 'workspace', 'channel', 'sender', 'approval', 'calls', 'policies']);

/** Every `@example` line of a file, parsed; malformed lines come back as errors with their line. */
export function findExamples(file: string, text: string): { examples: PolicyExample[]; errors: { line: number; message: string }[] } {
  const examples: PolicyExample[] = [];
  const errors: { line: number; message: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = EXAMPLE_LINE.exec(raw.replace(/\r$/, ''));
    if (!m) return;
    try {
      examples.push(parseExample((m[1] as string).trim(), { file, line: i + 1 }));
    } catch (error) {
      errors.push({ line: i + 1, message: error instanceof Error ? error.message : String(error) });
    }
  });
  return { examples, errors };
}

/** Parses the text after `@example`, found at `file:line`. @throws PalyraError PALYRA_INVALID_ARGUMENT. */
export function parseExample(text: string, at: { file: string; line: number }): PolicyExample {
  const { file, line } = at;
  const [expected, ...rest] = tokenize(text);
  if (expected !== 'allow' && expected !== 'deny' && expected !== 'ask') {
    throw bad(`Example must start with allow, deny or ask, not "${expected ?? ''}"`);
  }
  const values = new Map<string, string>();
  let owner: boolean | undefined;
  let approved = false;
  for (const token of rest) {
    if (token === 'owner' || token === 'not-owner') owner = token === 'owner';
    else if (token === 'approved') approved = true;
    else {
      const eq = token.indexOf('=');
      const key = eq < 0 ? token : token.slice(0, eq);
      if (eq < 0 || !KEYS.has(key)) throw bad(`Unknown example field "${key}": expected key=value with key one of ${[...KEYS].join(', ')}, or owner, not-owner, approved`);
      if (values.has(key)) throw bad(`Example field "${key}" is given twice`);
      values.set(key, token.slice(eq + 1));
    }
  }
  const tool = values.get('tool');
  if (!tool) throw bad('Example needs tool=NAME');
  const example: PolicyExample = { file, line, text, expected, request: { tool: { name: tool, ...toolShape(values) } } };
  const r = example.request;
  r.principal = parsePrincipal(values.get('principal'), values.get('session'));
  if (values.has('args')) r.args = parseArgs(values.get('args') as string);
  for (const key of ['workspace', 'channel', 'sender'] as const) if (values.has(key)) r[key] = values.get(key);
  if (owner !== undefined) r.senderIsOwner = owner;
  r.approval = approved ? 'approved' : (values.get('approval') ?? 'none');
  if (values.has('calls')) r.toolCallsLeft = parseCalls(values.get('calls') as string);
  if (values.has('policies')) example.policies = list(values.get('policies') as string).sort();
  return example;
}

function toolShape(values: Map<string, string>): { capabilities?: string[]; risk?: string } {
  const out: { capabilities?: string[]; risk?: string } = {};
  if (values.has('capabilities')) out.capabilities = list(values.get('capabilities') as string);
  if (values.has('risk')) out.risk = values.get('risk');
  return out;
}

function parseArgs(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bad(`Example args are not valid JSON: ${(error as Error).message}`);
  }
}

function parseCalls(text: string): number {
  if (!/^-?\d+$/.test(text)) throw bad(`Example calls must be an integer, not "${text}"`);
  return Number(text);
}

function list(text: string): string[] {
  return text === '' ? [] : text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Splits on blanks; single quotes group a value with blanks in it and are dropped. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (const ch of text) {
    if (ch === "'") {
      quoted = !quoted;
      started = true;
    } else if (!quoted && (ch === ' ' || ch === '\t')) {
      if (started) tokens.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quoted) throw bad('Example has an unclosed single quote');
  if (started) tokens.push(current);
  return tokens;
}

function bad(message: string): PalyraError {
  return new PalyraError('PALYRA_INVALID_ARGUMENT', message);
}
