import { invalidArgument, newUlid, PalyraError, type Clock } from '../base/index.ts';
import { approvalPolicy, type GeneratedPolicy } from './approval-policy.ts';
import type { ToolCallDecision } from './decide.ts';
import type { PersistedPolicy } from './policy-store.ts';
import type { ApprovalState, ToolCallRequest } from './request.ts';
import { toolWithin, type PolicyTool } from './builtin-tools.ts';

/** How far an approval reaches: this call, the rest of the session, or from now on (a policy file). */
export type ApprovalScope = 'once' | 'session' | 'always';

/** Timers as a port, so tests drive timeouts with a fake clock instead of waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers; unref'd, because a pending approval must not keep a stopping process alive. */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A call waiting for a human: what is asked, why, and how far an approval may reach. */
export interface ApprovalRequest {
  id: string;
  request: ToolCallRequest;
  /** The `ask` decision that opened it (policies, reasons, set hash). */
  decision: ToolCallDecision;
  scopes: ApprovalScope[];
  createdAt: number;
  expiresAt: number;
  /** The run that asked (null when opened outside a run). */
  runId: string | null;
}

/** A human's answer. `bindArgs` (default true) matters only for `always`. */
export type ApprovalResolution =
  | { type: 'approve'; scope: ApprovalScope; by: string; bindArgs?: boolean }
  | { type: 'deny'; by: string; reason?: string };

/**
 * How an approval ended. `approved.request` is the call with `approval: "approved"`, to be
 * decided again before running; `persisted` is set for `always`. Denied and expired are denies;
 * `withdrawn` means the run stopped waiting (it ended), so nobody answered and nothing was granted.
 */
export type ApprovalOutcome =
  | { type: 'approved'; approval: ApprovalRequest; scope: ApprovalScope; by: string; at: number; request: ToolCallRequest; persisted: PersistedPolicy | null }
  | { type: 'denied'; approval: ApprovalRequest; by: string; reason: string; at: number }
  | { type: 'expired'; approval: ApprovalRequest; at: number }
  | { type: 'withdrawn'; approval: ApprovalRequest; at: number };

/** Options of the registry. */
export interface ApprovalRegistryOptions {
  clock: Clock;
  timers?: Timers;
  /** How long an approval waits before it becomes a deny (default 5 minutes). */
  timeoutMs?: number;
  newId?: () => string;
  /**
   * Validates and writes an `always` policy (normally `PolicyStore.persistPolicy`, then the
   * journal's `policy.approved`); without it `always` is not offered. The answer is
   * acknowledged only after it settles.
   */
  persistAlways?: (policy: GeneratedPolicy, context: { approval: ApprovalRequest; approvedBy: string }) => Promise<PersistedPolicy>;
}

interface Pending {
  approval: ApprovalRequest;
  settle: (outcome: ApprovalOutcome) => void;
  timer: unknown;
  resolving: boolean;
  /**
   * How the approval ends if the `always` policy being written fails: its deadline passed
   * (`expired`) or its run stopped waiting (`withdrawn`, which wins) meanwhile.
   */
  endIfWriteFails: 'expired' | 'withdrawn' | null;
}

/** The default wait for a human: 5 minutes. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;

/**
 * Pending approvals and the approvals remembered for sessions. Deciding stays pure: the
 * registry only says whether a session approval covers a call (`approvalState`), which
 * the caller puts into the request before deciding.
 */
export class ApprovalRegistry {
  readonly #pending = new Map<string, Pending>();
  /**
   * Session approvals: per session, per tool name, the tool as it was approved. Security:
   * a tool of that name declared again with more capabilities or a higher risk (a worker
   * that reconnected) is not covered, as an `always` policy binds its capabilities.
   */
  readonly #sessions = new Map<string, Map<string, PolicyTool>>();
  /** The `always` policies being written now; `close()` waits for them. */
  readonly #writing = new Set<Promise<PersistedPolicy>>();
  readonly #options: Required<Omit<ApprovalRegistryOptions, 'persistAlways'>> & Pick<ApprovalRegistryOptions, 'persistAlways'>;

  constructor(options: ApprovalRegistryOptions) {
    this.#options = { timers: systemTimers, timeoutMs: DEFAULT_APPROVAL_TIMEOUT_MS, newId: () => newUlid(options.clock.now()), ...options };
  }

  /** Opens an approval for a call decided `ask`; `outcome` settles when it is resolved or expires. */
  open(request: ToolCallRequest, decision: ToolCallDecision, options: { runId?: string | null } = {}): { approval: ApprovalRequest; outcome: Promise<ApprovalOutcome> } {
    if (decision.decision !== 'ask') throw invalidArgument(`Only an "ask" decision needs an approval, not "${decision.decision}"`);
    const now = this.#options.clock.now();
    const scopes: ApprovalScope[] = ['once'];
    if (request.principal.type === 'Session') scopes.push('session');
    if (this.#options.persistAlways) scopes.push('always');
    const approval: ApprovalRequest = { id: this.#options.newId(), request, decision, scopes, createdAt: now, expiresAt: now + this.#options.timeoutMs, runId: options.runId ?? null };
    let settle!: (outcome: ApprovalOutcome) => void;
    const outcome = new Promise<ApprovalOutcome>((resolve) => (settle = resolve));
    const timer = this.#options.timers.setTimeout(() => this.#expire(approval.id), this.#options.timeoutMs);
    this.#pending.set(approval.id, { approval, settle, timer, resolving: false, endIfWriteFails: null });
    return { approval, outcome };
  }

  /** Approvals still waiting, oldest first. */
  pending(): ApprovalRequest[] {
    return [...this.#pending.values()].map((p) => p.approval);
  }

  /**
   * Applies a human's answer.
   * @throws PalyraError PALYRA_APPROVAL_NOT_FOUND (unknown or already settled),
   * PALYRA_APPROVAL_EXPIRED (past its deadline), PALYRA_INVALID_ARGUMENT (scope not offered),
   * and for `always` whatever persisting throws (the approval then stays pending, unless it
   * was withdrawn or its deadline passed meanwhile: it then settles `withdrawn` or `expired`).
   */
  async resolve(id: string, resolution: ApprovalResolution): Promise<ApprovalOutcome> {
    const entry = this.#pending.get(id);
    if (!entry || entry.resolving) {
      throw new PalyraError('PALYRA_APPROVAL_NOT_FOUND', `Approval "${id}" is not pending: it is unknown, already answered, expired, or withdrawn because its run ended`);
    }
    const at = this.#options.clock.now();
    if (at >= entry.approval.expiresAt) {
      this.#expire(id);
      throw new PalyraError('PALYRA_APPROVAL_EXPIRED', `Approval "${id}" expired at ${new Date(entry.approval.expiresAt).toISOString()}`);
    }
    const { approval } = entry;
    if (resolution.type === 'deny') {
      return this.#settle(entry, { type: 'denied', approval, by: resolution.by, reason: resolution.reason ?? 'Denied by a human', at });
    }
    if (!approval.scopes.includes(resolution.scope)) throw invalidArgument(`Scope "${resolution.scope}" is not offered for approval "${id}": ${approval.scopes.join(', ')}`);
    let persisted: PersistedPolicy | null = null;
    if (resolution.scope === 'always') {
      const persist = this.#options.persistAlways as NonNullable<ApprovalRegistryOptions['persistAlways']>;
      const policy = approvalPolicy({ approvalId: id, request: approval.request, approvedBy: resolution.by, approvedAt: at, bindArgs: resolution.bindArgs ?? true });
      // Invariant: while the policy is written, neither the timer nor a second answer may settle it.
      entry.resolving = true;
      const writing = startWrite(() => persist(policy, { approval, approvedBy: resolution.by }));
      this.#writing.add(writing);
      try {
        persisted = await writing;
      } catch (error) {
        entry.resolving = false;
        // Security: a run that stopped waiting meanwhile gets no second chance at a grant.
        if (entry.endIfWriteFails) this.#end(id, entry.endIfWriteFails);
        throw error;
      } finally {
        this.#writing.delete(writing);
      }
      entry.resolving = false;
    }
    const p = approval.request.principal;
    if (resolution.scope === 'session' && p.type === 'Session') {
      const granted = this.#sessions.get(p.id) ?? new Map<string, PolicyTool>();
      granted.set(approval.request.tool.name, approval.request.tool);
      this.#sessions.set(p.id, granted);
    }
    const request: ToolCallRequest = { ...approval.request, approval: 'approved' };
    return this.#settle(entry, { type: 'approved', approval, scope: resolution.scope, by: resolution.by, at, request, persisted });
  }

  /**
   * `approved` when a session approval covers this call: same session, same tool name, and
   * the tool declares no capability the approved one did not and no higher risk.
   */
  approvalState(request: ToolCallRequest): ApprovalState {
    const p = request.principal;
    const approved = p.type === 'Session' ? this.#sessions.get(p.id)?.get(request.tool.name) : undefined;
    if (approved === undefined) return 'none';
    return toolWithin(request.tool, approved) ? 'approved' : 'none';
  }

  /**
   * Withdraws a pending approval because its run stopped waiting for it (cancelled, failed,
   * or the daemon stopped): its timer is cleared, it leaves the pending list and settles as
   * `withdrawn`, granting nothing; a later answer gets PALYRA_APPROVAL_NOT_FOUND. Unknown or
   * already settled ids are ignored, so a caller may withdraw unconditionally.
   * Security: an answer must never outlive the run it was asked for, or approving a stale
   * request would grant `session` scope or write an `always` policy nobody is waiting on.
   * An `always` answer already being written when the run ends was given first: it stands
   * if the write succeeds; if it fails, the approval settles as `withdrawn` then.
   */
  withdraw(id: string): void {
    this.#end(id, 'withdrawn');
  }

  /** Forgets a session's approvals (the session ended). */
  forgetSession(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  /**
   * Expires every pending approval now (shutdown): each waiting call gets its deny. Resolves
   * once the `always` policies being written have been written (or failed): their audit
   * record goes to the journal, which must not close under them.
   */
  async close(): Promise<void> {
    for (const id of [...this.#pending.keys()]) this.#expire(id);
    await Promise.allSettled([...this.#writing]);
  }

  #expire(id: string): void {
    this.#end(id, 'expired');
  }

  /**
   * Ends a pending approval without a grant. While an `always` policy is being written the
   * human's answer came first: it stands if the write succeeds, and this end applies only
   * if it fails (a withdraw over an expiry: the run is gone either way).
   */
  #end(id: string, type: 'expired' | 'withdrawn'): void {
    const entry = this.#pending.get(id);
    if (!entry) return;
    if (entry.resolving) {
      if (entry.endIfWriteFails !== 'withdrawn') entry.endIfWriteFails = type;
      return;
    }
    this.#settle(entry, { type, approval: entry.approval, at: this.#options.clock.now() });
  }

  #settle(entry: Pending, outcome: ApprovalOutcome): ApprovalOutcome {
    this.#options.timers.clearTimeout(entry.timer);
    this.#pending.delete(entry.approval.id);
    entry.settle(outcome);
    return outcome;
  }
}

/** `write()` as a promise, also when it throws at once: `resolving` must be undone then too. */
function startWrite(write: () => Promise<PersistedPolicy>): Promise<PersistedPolicy> {
  try {
    return Promise.resolve(write());
  } catch (error) {
    return Promise.reject(error);
  }
}
