/**
 * A session's own budgets: limits its runs may not pass. They only tighten what the
 * daemon allows (the smaller of the two counts), so whoever can create a session cannot
 * lift a limit the operator set.
 */
import { PalyraError } from '../base/index.ts';
import { resolveBudgets, type RunBudgetsInput } from '../agent/index.ts';

/** What a session may limit. */
export interface SessionBudgets {
  maxTurns?: number;
  maxToolCalls?: number;
  wallClockMs?: number;
  maxTokens?: number;
}

const KEYS: readonly (keyof SessionBudgets)[] = ['maxTurns', 'maxToolCalls', 'wallClockMs', 'maxTokens'];

/**
 * Checks a session's budgets as a client sent them.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT for anything but an object of known keys with positive integers.
 */
export function checkedSessionBudgets(value: unknown): SessionBudgets {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Session budgets must be an object with any of ${KEYS.join(', ')}`);
  const out: SessionBudgets = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Unknown session budget "${key}": use ${KEYS.join(', ')}`);
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `Session budget ${key} must be a positive integer, not ${JSON.stringify(v)}`);
    out[key as keyof SessionBudgets] = v as number;
  }
  return out;
}

/** The budgets of a run of the session: the daemon's, each tightened by the session's. */
export function tightenedBudgets(daemon: RunBudgetsInput | undefined, session: SessionBudgets): RunBudgetsInput {
  const base = resolveBudgets(daemon);
  const out: RunBudgetsInput = { ...daemon };
  for (const key of KEYS) {
    const limit = session[key];
    if (limit === undefined) continue;
    const current = base[key];
    out[key] = current === null ? limit : Math.min(current, limit);
  }
  return out;
}
