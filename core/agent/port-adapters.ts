/**
 * Adapters from the lower layers' objects to the loop's ports, so the daemon wires a run
 * from a ToolRegistry and an ApprovalRegistry without glue of its own.
 */
import type { ApprovalOutcome, ApprovalRegistry } from '../policy/index.ts';
import type { ToolContext, ToolRegistry } from '../tools/index.ts';
import type { AgentApprovalOutcome, ApprovalsPort, ToolsPort } from './ports.ts';

/** The tools port over a registry: every registered tool, invoked with `context` and the loop's signal. */
export function registryTools(registry: ToolRegistry, context: Omit<ToolContext, 'signal'>): ToolsPort {
  return {
    list: registry.list().map(({ name, description, inputSchema, capabilities, risk, parallelSafe }) => ({ name, description, inputSchema, capabilities, risk, parallelSafe })),
    invoke: (name, input, signal) => registry.invoke(name, input, { ...context, signal }),
  };
}

/** The approvals port over an ApprovalRegistry (whose own timer expires a withdrawn request). */
export function registryApprovals(registry: ApprovalRegistry): ApprovalsPort {
  return {
    requestApproval(request, decision) {
      const { approval, outcome } = registry.open(request, decision);
      return { approvalId: approval.id, outcome: outcome.then(essentials) };
    },
  };
}

function essentials(outcome: ApprovalOutcome): AgentApprovalOutcome {
  switch (outcome.type) {
    case 'approved':
      return { type: 'approved', by: outcome.by, scope: outcome.scope };
    case 'denied':
      return { type: 'denied', by: outcome.by, reason: outcome.reason };
    case 'expired':
      return { type: 'expired' };
    default: {
      const unreachable: never = outcome;
      throw new Error(`Unknown approval outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
