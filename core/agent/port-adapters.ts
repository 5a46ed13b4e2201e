/**
 * Adapters from the lower layers' objects to the loop's ports, so the daemon wires a run
 * from a ToolRegistry and an ApprovalRegistry without glue of its own.
 */
import type { ApprovalOutcome, ApprovalRegistry } from '../policy/index.ts';
import type { ToolContext, ToolRegistry } from '../tools/index.ts';
import type { AgentApprovalOutcome, AgentTool, ApprovalsPort, ToolsPort } from './ports.ts';

/**
 * The tool list of each registry, kept until a tool is added or removed: a daemon starts
 * many runs over the same tools, and listing them (schemas copied) cost ~0.2 ms a run.
 * Frozen, since every run shares it.
 */
const listed = new WeakMap<ToolRegistry, { revision: number; list: readonly AgentTool[] }>();

function toolList(registry: ToolRegistry): readonly AgentTool[] {
  const cached = listed.get(registry);
  if (cached && cached.revision === registry.revision) return cached.list;
  const list = deepFreeze(registry.list().map(({ name, description, inputSchema, capabilities, risk, parallelSafe }) => ({ name, description, inputSchema, capabilities, risk, parallelSafe })));
  listed.set(registry, { revision: registry.revision, list });
  return list;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The tools port over a registry: every registered tool, invoked with `context` and the loop's signal. */
export function registryTools(registry: ToolRegistry, context: Omit<ToolContext, 'signal'>): ToolsPort {
  return {
    list: toolList(registry),
    invoke: (name, input, signal) => registry.invoke(name, input, { ...context, signal }),
  };
}

/** The approvals port over an ApprovalRegistry (for the run `options.runId`); cancelling a handle withdraws its approval there. */
export function registryApprovals(registry: ApprovalRegistry, options: { runId?: string } = {}): ApprovalsPort {
  return {
    requestApproval(request, decision) {
      const { approval, outcome } = registry.open(request, decision, { runId: options.runId ?? null });
      return { approvalId: approval.id, outcome: outcome.then(essentials), cancel: () => registry.withdraw(approval.id) };
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
    // Only the run's own cancel withdraws, after it stopped waiting: nobody reads this.
    case 'withdrawn':
      return { type: 'expired' };
    default: {
      const unreachable: never = outcome;
      throw new Error(`Unknown approval outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
