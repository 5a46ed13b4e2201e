import { BUILTIN_SOURCE, compilePolicySet, type CompiledPolicySet } from './compile.ts';
import { decideToolCall, type ToolCallDecision } from './decide.ts';
import { findExamples, type PolicyExample } from './examples.ts';
import type { PolicySourceFile } from './policy-source.ts';
import { policyInvalidError, type PolicyProblem } from './problems.ts';
import { toolCallRequest } from './request.ts';

/** The outcome of one `@example`. */
export type ExampleResult =
  | { ok: true; example: PolicyExample; actual: ToolCallDecision }
  | { ok: false; example: PolicyExample; actual: ToolCallDecision | null; message: string };

/** What `policy check` found. */
export interface PolicyCheckReport {
  ok: boolean;
  /** Hash of the effective set; null when it was refused. */
  policySetHash: string | null;
  /** Policies in the effective set (0 when refused). */
  policies: number;
  files: string[];
  /** Validation problems and failed examples, in file order. */
  problems: PolicyProblem[];
  examples: { total: number; passed: number; failed: number };
}

/** Runs examples against a set; an example whose request is malformed fails with that message. */
export function runExamples(set: CompiledPolicySet, examples: readonly PolicyExample[]): ExampleResult[] {
  return examples.map((example) => {
    let actual: ToolCallDecision;
    try {
      actual = decideToolCall(toolCallRequest(example.request), set);
    } catch (error) {
      return { ok: false, example, actual: null, message: `Example is not a valid request: ${(error as Error).message}` };
    }
    const policiesOk = example.policies === undefined || example.policies.join(',') === actual.policies.join(',');
    if (actual.decision === example.expected && policiesOk) return { ok: true, example, actual };
    const expected = `${example.expected}${example.policies ? ` by [${example.policies.join(', ')}]` : ''}`;
    const got = `${actual.decision} by [${actual.policies.join(', ')}]`;
    return { ok: false, example, actual, message: `Example failed: expected ${expected}, got ${got}: ${example.text}` };
  });
}

/** The built-in set alone; its own examples are checked against it, not against operator additions. */
export async function builtinPolicySet(): Promise<CompiledPolicySet> {
  const result = await compilePolicySet([], { validateRequests: true });
  if (result.type === 'invalid') throw policyInvalidError(result.problems);
  return result.set;
}

/**
 * Validates the built-in set plus `files` strictly and runs every example: the built-in
 * examples against the built-in set, the files' examples against the whole effective set.
 */
export async function checkPolicies(files: readonly PolicySourceFile[]): Promise<PolicyCheckReport> {
  const results = runExamples(await builtinPolicySet(), findExamples(BUILTIN_SOURCE.file, BUILTIN_SOURCE.text).examples);
  const compiled = await compilePolicySet(files, { validateRequests: true });
  const problems: PolicyProblem[] = [];
  let set: CompiledPolicySet | null = null;
  if (compiled.type === 'invalid') problems.push(...compiled.problems);
  else {
    set = compiled.set;
    results.push(...runExamples(set, set.examples));
  }
  for (const r of results) {
    if (!r.ok) problems.push({ kind: 'example', file: r.example.file, line: r.example.line, column: 1, message: r.message });
  }
  const order = new Map(files.map((f, i) => [f.file, i]));
  problems.sort((a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) || a.line - b.line || a.column - b.column);
  const passed = results.filter((r) => r.ok).length;
  return {
    ok: problems.length === 0,
    policySetHash: set?.hash ?? null,
    policies: set?.policies.length ?? 0,
    files: files.map((f) => f.file),
    problems,
    examples: { total: results.length, passed, failed: results.length - passed },
  };
}
