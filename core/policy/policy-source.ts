import { basename } from 'node:path';
import type { CedarModule } from './cedar-runtime.ts';
import { lineColumnOf, lineColumnOfByte } from './cedar-text.ts';
import { findExamples, type PolicyExample } from './examples.ts';
import { cedarMessage, type PolicyProblem } from './problems.ts';
import { samePolicies, splitPolicies, type PolicyPiece } from './split-policies.ts';

/** Where a policy came from. */
export type PolicyOrigin = { type: 'builtin' } | { type: 'file'; path: string };

/** A file of Cedar policies to load: the built-in set or an operator's `.cedar` file. */
export interface PolicySourceFile {
  /** Path (or `builtin:default.cedar`), used in diagnostics. */
  file: string;
  text: string;
  origin: PolicyOrigin;
}

/** One policy of a loaded set, with where it came from. */
export interface PolicyEntry {
  id: string;
  effect: 'permit' | 'forbid';
  /** The policy exactly as written in its file (annotations included, leading comments not). */
  text: string;
  /** Cedar's normalized text of the policy, which the set hash covers (comments and layout do not count). */
  canonicalText: string;
  /** The `@reason` annotation, shown in decisions; absent when the policy has none. */
  reason?: string;
  origin: PolicyOrigin;
  file: string;
  line: number;
  /** Set when the scope pins one tool (`resource == Tool::"x"`): such a policy cannot apply to any other tool. */
  scopedTool?: string;
  /** UTF-16 index of the policy in its file, to locate validation errors. */
  offset: number;
}

/** The policies, examples and problems of one file. */
export interface ParsedSource {
  policies: PolicyEntry[];
  examples: PolicyExample[];
  problems: PolicyProblem[];
}

/**
 * Splits a file into its policies (checked against Cedar's own parse), reads `@id` (or
 * names the policy `<file name>#<n>`, 1-based in file order) and `@reason`, and locates
 * each to its line.
 * Parse errors are reported with file, line and column, and then the file yields no policies.
 */
export function parsePolicySource(cedar: CedarModule, source: PolicySourceFile): ParsedSource {
  const { file, text } = source;
  const found = findExamples(file, text);
  const problems: PolicyProblem[] = found.errors.map((e) => ({ kind: 'example', file, line: e.line, column: 1, message: e.message }));
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') {
    for (const error of parts.errors) {
      const at = lineColumnOfByte(text, error.sourceLocations?.[0]?.start ?? 0);
      problems.push({ kind: 'parse', file, ...at, message: cedarMessage(error) });
    }
    return { policies: [], examples: found.examples, problems };
  }
  const pieces = splitPolicies(text);
  if (!samePolicies(pieces, [...parts.policies, ...parts.policy_templates])) {
    problems.push({ kind: 'parse', file, line: 1, column: 1, message: 'Cannot locate the policies of this file (palyrad and Cedar split it differently)' });
    return { policies: [], examples: found.examples, problems };
  }
  const templates = new Set(parts.policy_templates);
  const policies: PolicyEntry[] = [];
  pieces.forEach((piece, i) => {
    const at = lineColumnOf(text, piece.offset);
    if (templates.has(piece.text)) {
      problems.push({ kind: 'id', file, ...at, message: 'Policy templates (with ?principal or ?resource) are not supported; write a static policy' });
      return;
    }
    const entry = describe(cedar, source, piece, `${basename(file)}#${i + 1}`, at.line);
    if (typeof entry === 'string') problems.push({ kind: 'id', file, ...at, message: entry });
    else policies.push(entry);
  });
  return { policies, examples: found.examples, problems };
}

function describe(cedar: CedarModule, source: PolicySourceFile, piece: PolicyPiece, fallbackId: string, line: number): PolicyEntry | string {
  const { text, offset } = piece;
  const parsed = cedar.policyToJson(text);
  if (parsed.type === 'failure') return parsed.errors.map(cedarMessage).join('; ');
  const annotations = parsed.json.annotations ?? {};
  const id = 'id' in annotations ? annotations.id : fallbackId;
  if (typeof id !== 'string' || id.trim() === '') return '@id needs a non-empty value, as in @id("team.allow-fetch")';
  const canonical = cedar.policyToText(parsed.json);
  if (canonical.type === 'failure') return canonical.errors.map(cedarMessage).join('; ');
  const entry: PolicyEntry = {
    id,
    effect: parsed.json.effect,
    text,
    canonicalText: canonical.text,
    origin: source.origin,
    file: source.file,
    line,
    offset,
  };
  const reason = annotations.reason;
  if (typeof reason === 'string' && reason !== '') entry.reason = reason;
  const scopedTool = toolOf(parsed.json.resource);
  if (scopedTool !== undefined) entry.scopedTool = scopedTool;
  return entry;
}

/** The tool a resource scope pins, if any. `in` counts too: a Tool has no parents in this schema. */
function toolOf(scope: unknown): string | undefined {
  const s = scope as { op?: string; entity?: { type?: string; id?: string; __entity?: { type: string; id: string } } };
  if (s.op !== '==' && s.op !== 'in') return undefined;
  const uid = s.entity?.__entity ?? s.entity;
  return uid?.type === 'Tool' && typeof uid.id === 'string' ? uid.id : undefined;
}
