/**
 * Run budgets: how far one run may go. Every exhaustion ends the run `failed` with a reason
 * that starts with `budget: ` and names the budget, e.g. `budget: max tool calls 32 reached`.
 */
import { invalidArgument } from '../base/index.ts';

/** Prices per token, and the ceiling of a run's cost in the same unit. */
export type CostBudget = { inputPerToken: number; outputPerToken: number; ceiling: number };

/** Budgets as given; every field optional. */
export interface RunBudgetsInput {
  maxTurns?: number;
  maxToolCalls?: number;
  wallClockMs?: number;
  /** Input plus output tokens over the run, from the providers' usage; none by default. */
  maxTokens?: number | null;
  cost?: CostBudget | null;
  /** The same tool with canonically equal arguments proposed this many times ends the run. */
  loopThreshold?: number;
  tapeMaxEvents?: number;
  /** Bytes of canonical JSON (UTF-8) of all payloads. */
  tapeMaxBytes?: number;
  /** Parallel-safe calls of one turn running at once. */
  maxParallelTools?: number;
}

/** Budgets with every default filled; recorded on `run.started`. */
export type RunBudgets = {
  maxTurns: number;
  maxToolCalls: number;
  wallClockMs: number;
  maxTokens: number | null;
  cost: CostBudget | null;
  loopThreshold: number;
  tapeMaxEvents: number;
  tapeMaxBytes: number;
  maxParallelTools: number;
};

/** The defaults: 20 turns, 32 tool calls, 600 s, loop after 3 repeats, 50,000 events or 50 MiB of tape, 4 tools at once. */
export const DEFAULT_BUDGETS: Readonly<RunBudgets> = Object.freeze({
  maxTurns: 20,
  maxToolCalls: 32,
  wallClockMs: 600_000,
  maxTokens: null,
  cost: null,
  loopThreshold: 3,
  tapeMaxEvents: 50_000,
  tapeMaxBytes: 50 * 1024 * 1024,
  maxParallelTools: 4,
});

/** The longest wall-clock budget: 2^31 − 1 ms, the longest delay a timer takes. */
export const MAX_WALL_CLOCK_MS = 2_147_483_647;

/**
 * Fills defaults and checks values.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT naming the bad budget.
 */
export function resolveBudgets(input: RunBudgetsInput = {}): RunBudgets {
  const b: RunBudgets = { ...DEFAULT_BUDGETS, ...stripUndefined(input) };
  for (const key of ['maxTurns', 'maxToolCalls', 'wallClockMs', 'loopThreshold', 'tapeMaxEvents', 'tapeMaxBytes', 'maxParallelTools'] as const) {
    if (!Number.isSafeInteger(b[key]) || b[key] < 1) throw invalidArgument(`Budget ${key} must be a positive integer, not "${b[key]}"`);
  }
  // A longer delay makes a Node.js timer fire at once: every run would end at its start.
  if (b.wallClockMs > MAX_WALL_CLOCK_MS) throw invalidArgument(`Budget wallClockMs must be at most ${MAX_WALL_CLOCK_MS} (about 24.8 days), not "${b.wallClockMs}"`);
  if (b.maxTokens !== null && (!Number.isSafeInteger(b.maxTokens) || b.maxTokens < 1)) throw invalidArgument(`Budget maxTokens must be a positive integer, not "${b.maxTokens}"`);
  if (b.cost !== null) {
    for (const key of ['inputPerToken', 'outputPerToken', 'ceiling'] as const) {
      const v = b.cost[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidArgument(`Budget cost.${key} must be a non-negative number, not "${v}"`);
    }
    b.cost = { inputPerToken: b.cost.inputPerToken, outputPerToken: b.cost.outputPerToken, ceiling: b.cost.ceiling };
  }
  return b;
}

function stripUndefined(input: RunBudgetsInput): Partial<RunBudgets> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) out[k] = v;
  return out as Partial<RunBudgets>;
}

/** The reasons a budget ends a run; one place, so the convention stays one convention. */
export const budgetReason = {
  turns: (max: number) => `budget: max model turns ${max} reached`,
  toolCalls: (max: number) => `budget: max tool calls ${max} reached`,
  wallClock: (ms: number) => `budget: wall clock ${ms} ms reached`,
  tokens: (max: number, used: number) => `budget: max tokens ${max} reached (used ${used})`,
  cost: (ceiling: number, spent: number) => `budget: cost ceiling ${ceiling} reached (spent ${spent})`,
};
