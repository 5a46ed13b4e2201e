/**
 * Adapters from the lower layers' objects to the loop's ports, so the daemon wires a run
 * from a ToolRegistry and an ApprovalRegistry without glue of its own.
 */
import { toolWithin, type ApprovalOutcome, type ApprovalRegistry } from '../policy/index.ts';
import { failureReceipt, type ToolContext, type ToolRegistry } from '../tools/index.ts';
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

/**
 * The tools port over a registry: every registered tool, invoked with `context` and the
 * loop's signal. Security: the loop decides a call by the tool as listed when the run
 * started; a tool registered again under that name since (a worker that reconnected) with
 * a capability or a risk the listed one did not have is not run under that decision.
 */
export function registryTools(registry: ToolRegistry, context: Omit<ToolContext, 'signal'>): ToolsPort {
  const list = toolList(registry);
  const listed = new Map(list.map((tool) => [tool.name, tool]));
  return {
    list,
    invoke: async (name, input, signal) => {
      const decided = listed.get(name);
      const current = registry.get(name);
      if (decided !== undefined && current !== undefined && !toolWithin(current, decided)) {
        const error = { code: 'PALYRA_TOOL_FORBIDDEN', message: `Tool "${name}" was registered again with more capabilities or a higher risk since this run started; it is not run under a decision made for the tool it replaced` };
        return { ok: false, tool: name, error, receipt: failureReceipt(name, error), durationMs: 0 };
      }
      return registry.invoke(name, input, { ...context, signal });
    },
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
