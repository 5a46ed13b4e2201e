/**
 * AgentRunLoopState: one run's conversation and counters, and the budget and loop checks
 * that read them. Plain data and arithmetic; no I/O.
 */
import { canonicalJson, sha256Stream, type JsonValue, type Sha256Stream } from '../base/index.ts';
import type { ChatMessage, ToolCall } from '../providers/index.ts';
import { budgetReason, type RunBudgets } from './budgets.ts';
import type { RunCounters } from './tape-events.ts';

const NOTHING_CARRIED: Readonly<RunCounters> = Object.freeze({ turns: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, cost: 0 });

export class AgentRunLoopState {
  readonly messages: ChatMessage[] = [];
  /**
   * SHA-256 over `[m1,m2,...` (canonical JSON of each message), fed once per message; a
   * request's hash forks it and closes the bracket, so hashing stays linear in the run.
   */
  readonly #listHash: Sha256Stream = sha256Stream().update('[');
  readonly #proposals = new Map<string, number>();
  turns = 0;
  toolCalls = 0;
  inputTokens = 0;
  outputTokens = 0;
  cost = 0;
  finalText: string | null = null;
  /** The `at` of `run.started`; the wall clock counts from here. */
  startedAt = 0;

  /**
   * @param carried what earlier runs of a resumed run used; the budget checks count it, the
   *   counters (`run.finished`) do not, so usage summed over runs counts every turn once.
   */
  constructor(
    readonly budgets: RunBudgets,
    initial: readonly ChatMessage[],
    readonly carried: Readonly<RunCounters> = NOTHING_CARRIED,
  ) {
    for (const m of initial) this.push(m);
  }

  push(message: ChatMessage): void {
    this.#listHash.update((this.messages.length === 0 ? '' : ',') + canonicalJson(message));
    this.messages.push(message);
  }

  /** SHA-256 of the canonical JSON of the whole message list. */
  messagesHash(): string {
    return this.#listHash.copy().update(']').digestHex();
  }

  /** Why the next turn may not start, or null: wall clock (by the last step's time), then turns. */
  beforeTurn(now: number): string | null {
    if (now - this.startedAt >= this.budgets.wallClockMs) return budgetReason.wallClock(this.budgets.wallClockMs);
    if (this.carried.turns + this.turns >= this.budgets.maxTurns) return budgetReason.turns(this.budgets.maxTurns);
    return null;
  }

  /** Adds a turn's usage; returns why the run may not go on (tokens, then cost), or null. */
  addUsage(usage: { inputTokens: number; outputTokens: number } | null): string | null {
    if (usage !== null) {
      this.inputTokens += usage.inputTokens;
      this.outputTokens += usage.outputTokens;
      const cost = this.budgets.cost;
      if (cost !== null) this.cost += usage.inputTokens * cost.inputPerToken + usage.outputTokens * cost.outputPerToken;
    }
    const used = this.carried.inputTokens + this.carried.outputTokens + this.inputTokens + this.outputTokens;
    if (this.budgets.maxTokens !== null && used >= this.budgets.maxTokens) return budgetReason.tokens(this.budgets.maxTokens, used);
    const spent = this.carried.cost + this.cost;
    if (this.budgets.cost !== null && spent >= this.budgets.cost.ceiling) return budgetReason.cost(this.budgets.cost.ceiling, spent);
    return null;
  }

  /** Tool calls the run may still judge: its budget less its own and the carried ones. */
  toolCallsLeft(): number {
    return this.budgets.maxToolCalls - this.carried.toolCalls - this.toolCalls;
  }

  /** Why a turn proposing `count` calls may not run them, or null. */
  beforeToolCalls(count: number): string | null {
    return count > this.toolCallsLeft() ? budgetReason.toolCalls(this.budgets.maxToolCalls) : null;
  }

  /** Counts a proposal; returns the loop reason when the same call has now been proposed `loopThreshold` times. */
  countProposal(call: ToolCall): string | null {
    const key = `${call.name}\u0000${canonicalJson(call.arguments as JsonValue)}`;
    const seen = (this.#proposals.get(key) ?? 0) + 1;
    this.#proposals.set(key, seen);
    return seen >= this.budgets.loopThreshold ? `loop: tool "${call.name}" proposed ${seen} times with the same arguments` : null;
  }

  counters(): RunCounters {
    return { turns: this.turns, toolCalls: this.toolCalls, inputTokens: this.inputTokens, outputTokens: this.outputTokens, cost: this.cost };
  }
}
