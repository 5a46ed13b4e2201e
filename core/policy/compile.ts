import { canonicalJson, PalyraError, sha256Hex } from '../base/index.ts';
import { loadCedar, type CedarModule } from './cedar-runtime.ts';
import { BUILTIN_ID_PREFIX, BUILTIN_SOURCE_NAME, DEFAULT_POLICY_TEXT } from './default-policies.ts';
import type { PolicyExample } from './examples.ts';
import { lineColumnOf, utf16IndexOfByte } from './cedar-text.ts';
import { contextAttributesRead } from './decision-memo.ts';
import type { ToolCallDecision } from './decide.ts';
import { parsePolicySource, type PolicyEntry, type PolicySourceFile } from './policy-source.ts';
import { cedarMessage, type PolicyProblem } from './problems.ts';
import { POLICY_SCHEMA, POLICY_SCHEMA_VERSION } from './schema.ts';

/** The built-in default set as a source file. */
export const BUILTIN_SOURCE: PolicySourceFile = { file: BUILTIN_SOURCE_NAME, text: DEFAULT_POLICY_TEXT, origin: { type: 'builtin' } };

/**
 * What decideToolCall needs to evaluate: the Cedar module and the ids of preparsed sets.
 * Not part of the public surface; it lives on the compiled set so deciding stays a pure
 * function of (request, set).
 */
export interface PolicyEngine {
  cedar: CedarModule;
  /** Preparsed-set id per tool that has policies scoped to it; other tools use `generalSetId`. */
  toolSetIds: ReadonlyMap<string, string>;
  generalSetId: string;
  byId: ReadonlyMap<string, PolicyEntry>;
  /** Set when requests are checked against the schema too (CLI, tests); the daemon skips it for speed. */
  schemaName?: string;
  /** Per preparsed-set id: the context attributes its policies read, or null when its decisions are not memoized (see decision-memo.ts). */
  contextReads: ReadonlyMap<string, ReadonlySet<string> | null>;
  /** Decisions already made, by memo key; bounded by MEMO_MAX_ENTRIES. */
  memo: Map<string, ToolCallDecision>;
}

/** A validated, preparsed policy set: immutable, identified by its hash. */
export interface CompiledPolicySet {
  /** SHA-256 of the canonical text of the set (see docs/policy.md); decisions carry it. */
  hash: string;
  policies: readonly PolicyEntry[];
  /** Every `@example` of the operator files (the built-in ones are checked against the built-in set alone). */
  examples: readonly PolicyExample[];
  engine: PolicyEngine;
}

/** A compile either yields a set or refuses it whole, with every problem found. */
export type CompileResult = { type: 'ok'; set: CompiledPolicySet } | { type: 'invalid'; problems: PolicyProblem[] };

const SCHEMA_NAME = `palyra.schema.v${POLICY_SCHEMA_VERSION}`;
const preparsed = new Set<string>();
let schemaPreparsed = false;

/**
 * Compiles the built-in set plus `files` into one set: parses each file, checks ids,
 * validates every policy strictly against the schema, hashes the set, and preparses it.
 * Any problem refuses the whole set.
 */
export async function compilePolicySet(files: readonly PolicySourceFile[], options: { validateRequests?: boolean } = {}): Promise<CompileResult> {
  const cedar = await loadCedar();
  const sources = [BUILTIN_SOURCE, ...files];
  const problems: PolicyProblem[] = [];
  const policies: PolicyEntry[] = [];
  const examples: PolicyExample[] = [];
  const seen = new Map<string, PolicyEntry>();
  for (const source of sources) {
    const parsed = parsePolicySource(cedar, source);
    problems.push(...parsed.problems);
    if (source.origin.type === 'file') examples.push(...parsed.examples);
    for (const entry of parsed.policies) {
      const clash = idProblem(entry, seen.get(entry.id));
      if (clash) problems.push({ kind: 'id', file: entry.file, line: entry.line, column: 1, policyId: entry.id, message: clash });
      else {
        seen.set(entry.id, entry);
        policies.push(entry);
      }
    }
  }
  problems.push(...validate(cedar, policies, new Map(sources.map((s) => [s.file, s.text]))));
  if (problems.length > 0) {
    const order = new Map(sources.map((s, i) => [s.file, i]));
    problems.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.column - b.column);
    return { type: 'invalid', problems };
  }
  return { type: 'ok', set: { hash: policySetHash(policies), policies, examples, engine: buildEngine(cedar, policies, options.validateRequests === true) } };
}

function idProblem(entry: PolicyEntry, previous: PolicyEntry | undefined): string | undefined {
  if (previous) return `Policy id "${entry.id}" is already used at ${previous.file}:${previous.line}`;
  if (entry.origin.type === 'file' && entry.id.startsWith(BUILTIN_ID_PREFIX)) {
    return `Policy id "${entry.id}" is reserved: ids starting with "${BUILTIN_ID_PREFIX}" belong to the built-in set`;
  }
  return undefined;
}

function validate(cedar: CedarModule, policies: readonly PolicyEntry[], texts: ReadonlyMap<string, string>): PolicyProblem[] {
  if (policies.length === 0) return [];
  const byId = new Map(policies.map((p) => [p.id, p]));
  const answer = cedar.validate({
    schema: POLICY_SCHEMA,
    policies: { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    // Parsing already succeeded per file, so this is a schema or engine failure: report it on the first policy.
    const first = policies[0] as PolicyEntry;
    return answer.errors.map((e) => ({ kind: 'validation', file: first.file, line: first.line, column: 1, message: cedarMessage(e) }));
  }
  return answer.validationErrors.map(({ policyId, error }) => {
    const entry = byId.get(policyId) as PolicyEntry;
    // Cedar locates errors in bytes of the policy's own text; the file position adds its offset.
    const at = lineColumnOf(texts.get(entry.file) ?? '', entry.offset + utf16IndexOfByte(entry.text, error.sourceLocations?.[0]?.start ?? 0));
    return { kind: 'validation', file: entry.file, ...at, policyId, message: cedarMessage(error) };
  });
}

/**
 * The set's identity: SHA-256 of the canonical JSON of the schema version, the schema's
 * hash and every policy's normalized text by id. Comments, layout and file names do not
 * change it; any change to what a policy says does.
 */
export function policySetHash(policies: readonly PolicyEntry[]): string {
  return sha256Hex(
    canonicalJson({
      format: 'palyra.policy-set',
      schemaVersion: POLICY_SCHEMA_VERSION,
      schemaSha256: sha256Hex(POLICY_SCHEMA),
      policies: Object.fromEntries(policies.map((p) => [p.id, p.canonicalText])),
    }),
  );
}

/**
 * Slices the set by tool: a policy whose scope pins `resource == Tool::"x"` can only
 * apply to x, so each tool gets a preparsed set of the unpinned policies plus its own.
 * Evaluation cost grows with the policies Cedar visits (~2 µs each), and operator sets
 * (approvals especially) are mostly pinned to one tool, so this keeps a decision
 * near the cost of a small set. The answer is the same as for the whole set, because a
 * policy whose scope does not match is neither satisfied nor evaluated.
 */
function buildEngine(cedar: CedarModule, policies: readonly PolicyEntry[], validateRequests: boolean): PolicyEngine {
  const general = policies.filter((p) => p.scopedTool === undefined);
  const tools = new Map<string, PolicyEntry[]>();
  for (const p of policies) if (p.scopedTool !== undefined) tools.set(p.scopedTool, [...(tools.get(p.scopedTool) ?? []), p]);
  const contextReads = new Map<string, ReadonlySet<string> | null>();
  const add = (entries: readonly PolicyEntry[]): string => {
    const texts = Object.fromEntries(entries.map((p) => [p.id, p.text]));
    // Content-addressed ids: the same slice in a later version reuses its preparsed copy,
    // and an id never names two different contents (cedar-wasm cannot evict a set).
    const id = `palyra.policies.${sha256Hex(canonicalJson(texts))}`;
    preparse(cedar, id, texts);
    contextReads.set(id, contextAttributesRead(cedar, entries));
    return id;
  };
  const generalSetId = add(general);
  const toolSetIds = new Map([...tools].map(([tool, own]) => [tool, add([...general, ...own])]));
  const engine: PolicyEngine = { cedar, toolSetIds, generalSetId, byId: new Map(policies.map((p) => [p.id, p])), contextReads, memo: new Map() };
  if (validateRequests) {
    if (!schemaPreparsed) check(cedar.preparseSchema(SCHEMA_NAME, POLICY_SCHEMA), 'the policy schema');
    schemaPreparsed = true;
    engine.schemaName = SCHEMA_NAME;
  }
  return engine;
}

// Preparsed sets live in the wasm instance, one per process (or worker), like this module.
function preparse(cedar: CedarModule, id: string, texts: Record<string, string>): void {
  if (preparsed.has(id)) return;
  check(cedar.preparsePolicySet(id, { staticPolicies: texts }), 'a validated policy set');
  preparsed.add(id);
}

function check(answer: { type: 'success' } | { type: 'failure'; errors: { message: string; help: string | null }[] }, what: string): void {
  // Invariant: only validated text gets here, so a failure is a bug, not an operator error.
  if (answer.type === 'failure') throw new PalyraError('PALYRA_INTERNAL', `Cannot preparse ${what}: ${answer.errors.map(cedarMessage).join('; ')}`);
}
