import type { CompiledPolicySet, PolicyEngine } from './compile.ts';
import { toCedarRequest, type CedarRequest } from './cedar-request.ts';
import { MEMO_MAX_ENTRIES, memoKey } from './decision-memo.ts';
import { formatPrincipal, type ToolCallRequest } from './request.ts';

/** The decisions a policy set can give: `ask` means allowed only with a human approval. */
export type PolicyDecision = 'allow' | 'deny' | 'ask';

/** The outcome of deciding one tool call: plain data, journaled as it is. */
export interface ToolCallDecision {
  decision: PolicyDecision;
  /** Ids of the determining policies, sorted: the permits that allow (or would allow, for ask), or the forbids that deny. Empty for deny by default. */
  policies: string[];
  /** One sentence per determining policy (its `@reason`), and any evaluation error. */
  reasons: string[];
  policySetHash: string;
}

interface Evaluation {
  decision: 'allow' | 'deny';
  policies: string[];
  errors: string[];
}

/**
 * Decides a proposed tool call: `allow`, `deny`, or `ask` when it is denied as it stands
 * but the same call with an approval would be allowed. Pure: the answer depends only on
 * the request and the set. Forbids always win, so no approval turns a forbid into `ask`.
 *
 * An engine failure is a `deny` naming the failure (fail closed), never an exception.
 * Answers are remembered per set (decision-memo.ts) unless requests are validated against
 * the schema or `memo: false` asks for Cedar every time.
 */
export function decideToolCall(request: ToolCallRequest, set: CompiledPolicySet, options: { memo?: boolean } = {}): ToolCallDecision {
  const { engine } = set;
  const setId = engine.toolSetIds.get(request.tool.name) ?? engine.generalSetId;
  const reads = options.memo === false || engine.schemaName !== undefined ? null : (engine.contextReads.get(setId) ?? null);
  if (reads === null) return evaluateCall(request, set, setId).decision;
  const key = memoKey(setId, request, reads);
  const known = engine.memo.get(key);
  if (known) return copyOf(known);
  const { decision, clean } = evaluateCall(request, set, setId);
  // Only clean answers are remembered: an evaluation error may come from a part of the request the key leaves out.
  if (clean) {
    if (engine.memo.size >= MEMO_MAX_ENTRIES) engine.memo.clear();
    engine.memo.set(key, copyOf(decision));
  }
  return decision;
}

/** Callers own what they get: the memo keeps and hands out copies. */
function copyOf(decision: ToolCallDecision): ToolCallDecision {
  return { ...decision, policies: [...decision.policies], reasons: [...decision.reasons] };
}

/** Asks Cedar (once, or twice for a call that may need an approval); `clean` when no evaluation reported an error. */
function evaluateCall(request: ToolCallRequest, set: CompiledPolicySet, setId: string): { decision: ToolCallDecision; clean: boolean } {
  const { engine } = set;
  const cedarRequest = toCedarRequest(request);
  const asIs = evaluate(engine, setId, cedarRequest);
  if (asIs.decision === 'allow') {
    return { decision: { decision: 'allow', policies: asIs.policies, reasons: [...describe(engine, asIs.policies, 'Permitted'), ...asIs.errors], policySetHash: set.hash }, clean: asIs.errors.length === 0 };
  }
  let clean = asIs.errors.length === 0;
  // Evaluated again even after a forbid: an operator may forbid only unapproved calls
  // (`when { context.approval != "approved" }`), and such a call is rightly `ask`.
  if (request.approval === 'none') {
    const approved = evaluate(engine, setId, { ...cedarRequest, context: { ...cedarRequest.context, approval: 'approved' } });
    if (approved.decision === 'allow') {
      const head = `Tool "${request.tool.name}" needs an approval for ${formatPrincipal(request.principal)}`;
      return {
        decision: { decision: 'ask', policies: approved.policies, reasons: [head, ...describe(engine, approved.policies, 'Allowed once approved')], policySetHash: set.hash },
        clean: clean && approved.errors.length === 0,
      };
    }
    clean &&= approved.errors.length === 0;
  }
  const reasons =
    asIs.policies.length > 0
      ? describe(engine, asIs.policies, 'Forbidden')
      : [`No policy permits tool "${request.tool.name}" for ${formatPrincipal(request.principal)} (deny by default)`];
  return { decision: { decision: 'deny', policies: asIs.policies, reasons: [...reasons, ...asIs.errors], policySetHash: set.hash }, clean };
}

function evaluate(engine: PolicyEngine, setId: string, request: CedarRequest): Evaluation {
  const answer = engine.cedar.statefulIsAuthorized({
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    context: request.context,
    entities: request.entities,
    preparsedPolicySetId: setId,
    ...(engine.schemaName === undefined ? {} : { preparsedSchemaName: engine.schemaName, validateRequest: true }),
  });
  if (answer.type === 'failure') {
    return { decision: 'deny', policies: [], errors: [`Cedar could not evaluate the request: ${answer.errors.map((e) => e.message).join('; ')}`] };
  }
  const { decision, diagnostics } = answer.response;
  return {
    decision,
    policies: [...diagnostics.reason].sort(),
    errors: diagnostics.errors.map((e) => `Policy "${e.policyId}" could not be evaluated: ${e.error.message}`),
  };
}

function describe(engine: PolicyEngine, ids: readonly string[], verb: string): string[] {
  return ids.map((id) => engine.byId.get(id)?.reason ?? `${verb} by policy "${id}"`);
}
