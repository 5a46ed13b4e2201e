/**
 * Remembered decisions, keyed by exactly what a policy slice can read of a request.
 *
 * Cedar decides in ~110 µs in a tight loop but 300–400 µs inside the daemon, where each
 * decision finds its caches cold; that was the largest single cost of answering a
 * message. A decision depends only on the slice's policies, the request's principal,
 * action, resource and entities, and the context attributes the policies read. Which
 * attributes those are is read off Cedar's own JSON form of each policy: when every use of
 * `context` is `context.attr`, `context["attr"]` or `context has attr`, two requests that
 * agree on those attributes (present with equal values, or both absent) and on everything
 * else but the context get the same answer. When a policy uses `context` any other way
 * (compares or passes it whole), the slice is not memoized at all.
 */
import { canonicalJson, type JsonValue } from '../base/index.ts';
import type { CedarModule } from './cedar-runtime.ts';
import type { PolicyEntry } from './policy-source.ts';
import type { ToolCallRequest } from './request.ts';

/** Decisions remembered per compiled set; past this many the memo starts over (a bound, not a cache policy). */
export const MEMO_MAX_ENTRIES = 4096;

/**
 * The context attributes `policies` read, or null when some policy uses `context` in a way
 * this cannot bound (or Cedar cannot give the policy's JSON form).
 */
export function contextAttributesRead(cedar: CedarModule, policies: readonly PolicyEntry[]): ReadonlySet<string> | null {
  const read = new Set<string>();
  for (const policy of policies) {
    const own = readsOf(cedar, policy);
    if (own === null) return null;
    for (const attr of own) read.add(attr);
  }
  return read;
}

/**
 * Each policy's reads, worked out once: every tool's slice holds the same general
 * policies, and a set of 200 would otherwise be converted again for every slice.
 */
const policyReads = new WeakMap<PolicyEntry, ReadonlySet<string> | null>();

function readsOf(cedar: CedarModule, policy: PolicyEntry): ReadonlySet<string> | null {
  if (policyReads.has(policy)) return policyReads.get(policy) ?? null;
  const answer = cedar.policyToJson(policy.text);
  let read: Set<string> | null = new Set<string>();
  if (answer.type !== 'success' || !collectContextReads(answer.json, read)) read = null;
  // Validation refuses any other attribute; were one to slip through, the key could not hold it.
  else if ([...read].some((attr) => !CONTEXT_ATTRIBUTES.has(attr))) read = null;
  policyReads.set(policy, read);
  return read;
}

/** Adds to `read` the attributes read off `context` in a policy's JSON form; false on any other use of `context`. */
function collectContextReads(node: unknown, read: Set<string>): boolean {
  if (Array.isArray(node)) return node.every((item) => collectContextReads(item, read));
  if (node === null || typeof node !== 'object') return true;
  const entries = Object.entries(node as Record<string, unknown>);
  if (entries.length === 1) {
    const [op, operand] = entries[0] as [string, unknown];
    // A record literal maps keys the policy's author chose (`{"Var": context}` is legal) to
    // expressions: only its values are expressions, never the map itself.
    if (op === 'Record' && operand !== null && typeof operand === 'object' && !Array.isArray(operand)) {
      return Object.values(operand).every((value) => collectContextReads(value, read));
    }
    // A variable names itself with a string; anything else under "Var" is not a variable.
    if (op === 'Var') return typeof operand === 'string' ? operand !== 'context' : collectContextReads(operand, read);
    if ((op === '.' || op === 'has') && isContextVar((operand as { left?: unknown } | null)?.left)) {
      const attr = (operand as { attr?: unknown }).attr;
      if (typeof attr !== 'string') return false;
      read.add(attr);
      return true;
    }
  }
  return entries.every(([, value]) => collectContextReads(value, read));
}

function isContextVar(node: unknown): boolean {
  return node !== null && typeof node === 'object' && (node as { Var?: unknown }).Var === 'context';
}

/** The attributes of the schema's ToolCallContext, which contextValue maps from a request. */
const CONTEXT_ATTRIBUTES = new Set(['args', 'argsJson', 'argsSha256', 'workspace', 'channel', 'sender', 'senderIsOwner', 'approval', 'toolCallsLeft']);

/** The request's value of each context attribute (see cedar-request.ts), by attribute name. */
function contextValue(request: ToolCallRequest, attr: string, argsJson: () => string): JsonValue {
  switch (attr) {
    // `args.path` is also a function of the workspace (its plain spelling, relative to it):
    // the same arguments in another workspace may be decided otherwise.
    case 'args':
      return [argsJson(), request.workspace];
    // These two are functions of the arguments alone; their canonical JSON stands for both.
    case 'argsJson':
    case 'argsSha256':
      return argsJson();
    case 'workspace':
      return request.workspace;
    case 'channel':
      return request.channel;
    case 'sender':
      return request.sender;
    case 'senderIsOwner':
      return request.senderIsOwner;
    case 'approval':
      return request.approval;
    case 'toolCallsLeft':
      return request.toolCallsLeft;
    default:
      throw new Error(`no context attribute "${attr}"`); // excluded by contextAttributesRead
  }
}

/**
 * The memo key of `request` for a slice reading `attrs`: the slice, the principal, the tool
 * entity (name, capabilities, risk) and the values of the attributes read. The action is
 * always `tool.invoke` and the resource is the tool, so both are in it already.
 */
export function memoKey(setId: string, request: ToolCallRequest, attrs: ReadonlySet<string>): string {
  let args: string | undefined;
  const argsJson = (): string => (args ??= canonicalJson(request.args));
  const parts: JsonValue[] = [setId, canonicalJson(request.principal), request.tool.name, [...request.tool.capabilities], request.tool.risk];
  // Sorted, so the key does not depend on the order policies mention the attributes.
  for (const attr of [...attrs].sort()) {
    parts.push(attr, contextValue(request, attr, argsJson));
  }
  return JSON.stringify(parts);
}
