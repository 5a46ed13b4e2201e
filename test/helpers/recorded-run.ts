/**
 * Real agent runs for the tape tests and the golden tapes: `runAgent` with the scripted
 * provider, a real ToolRegistry (echo and two stand-in tools), the real Cedar policies and
 * a real ApprovalRegistry, with a counting clock and counting ids so the same scenario
 * always records the same tape. `recordRuns` journals them in a state directory, as the
 * daemon does; `recordTape` keeps the tape in memory.
 */
import { DEFAULT_LIMITS, ToolRegistry, createEchoTool, type ToolDefinition } from '../../core/tools/index.ts';
import { createScriptedProvider, parseScript, type ScriptTurn } from '../../core/providers/index.ts';
import { ApprovalRegistry, compilePolicySet, decideToolCall, type CompiledPolicySet } from '../../core/policy/index.ts';
import { registryApprovals, registryTools, runAgent, type RunBudgetsInput, type RunOutcome, type TapeEvent, type TapePort } from '../../core/agent/index.ts';
import { JournalStore } from '../../core/journal/index.ts';
import { initStateDir, type StatePaths } from '../../core/daemon/state-dir.ts';
import { journalOptionsFor } from '../../core/daemon/journal-options.ts';
import { journalTapePort } from '../../core/gateway/index.ts';
import { FakeTimers } from '../../core/agent/test-fakes.ts';

/** The runs this helper knows, one per thing a tape can show. */
export const SCENARIOS = ['text-only', 'tool-calls', 'denied', 'approval', 'cancelled', 'budget-exhausted'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** One run to record. */
export interface RunSpec {
  scenario: Scenario;
  runId: string;
  sessionId: string;
  /** Operator policies (Cedar text) compiled after the built-in set; default none. */
  policyText?: string;
  /** Journal only the first N steps, as a daemon that crashed mid-run leaves a tape (recordRuns only). */
  cutAfter?: number;
}

/** A stand-in tool that is never dangerous to run: it returns its input, under another name and risk. */
function standIn(name: string, capabilities: ToolDefinition['capabilities'], risk: ToolDefinition['risk']): ToolDefinition {
  return {
    name,
    description: `Stand-in for a ${risk}-risk tool with ${capabilities.join(', ')}.`,
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
    capabilities,
    risk,
    parallelSafe: false,
    limits: { ...DEFAULT_LIMITS },
    run: (input) => Promise.resolve({ done: input }),
  };
}

interface Plan {
  turns: ScriptTurn[];
  senderIsOwner?: boolean;
  budgets?: RunBudgetsInput;
  /** What happens when the run asks for an approval. */
  onApproval?: 'approve' | 'cancel';
}

const call = (name: string, text: string) => ({ name, arguments: { text } });

const PLANS: Record<Scenario, Plan> = {
  'text-only': { turns: [{ text: ['Hel', 'lo, ', 'world.'], usage: { inputTokens: 12, outputTokens: 3 } }] },
  'tool-calls': {
    turns: [{ text: 'Let me echo.', toolCalls: [call('echo', 'one'), call('echo', 'two')], usage: { inputTokens: 20, outputTokens: 8 } }, { text: 'Echoed one and two.', usage: { inputTokens: 40, outputTokens: 5 } }],
  },
  // The built-in non-owner forbid: a sender who is not the owner never gets `process`.
  denied: { turns: [{ toolCalls: [call('shell.run', 'ls')] }, { text: 'I may not run that.' }], senderIsOwner: false },
  approval: { turns: [{ toolCalls: [call('note.write', 'remember this')] }, { text: 'Saved.' }], onApproval: 'approve' },
  cancelled: { turns: [{ toolCalls: [call('note.write', 'remember this')] }, { text: 'never reached' }], onApproval: 'cancel' },
  'budget-exhausted': { turns: [{ toolCalls: [call('echo', 'again')] }, { text: 'never reached' }], budgets: { maxTurns: 1 } },
};

/** The policy set a run is judged by: the built-in set, plus `policyText` as one operator file. */
export async function policySet(policyText?: string): Promise<CompiledPolicySet> {
  const files = policyText === undefined ? [] : [{ file: 'test.cedar', text: policyText, origin: { type: 'file' as const, path: 'test.cedar' } }];
  const compiled = await compilePolicySet(files, { validateRequests: true });
  if (compiled.type === 'invalid') throw new Error(`Test policies do not validate: ${JSON.stringify(compiled.problems)}`);
  return compiled.set;
}

/** Runs one scenario for real, recording its tape into `tape`. Deterministic: the same spec records the same tape. */
export async function runScenario(spec: RunSpec, tape: TapePort, options: { stateDir: string }): Promise<RunOutcome> {
  const plan = PLANS[spec.scenario];
  const set = await policySet(spec.policyText);
  let now = 1_790_000_000_000;
  let ids = 0;
  let monotonic = 0;
  const clock = { now: () => (now += 5) };
  const timers = new FakeTimers();
  const registry = new ToolRegistry({ now: () => (monotonic += 2) });
  registry.register(createEchoTool());
  registry.register(standIn('note.write', ['fs_write'], 'medium'));
  registry.register(standIn('shell.run', ['process'], 'high'));
  let approvalIds = 0;
  const approvals = new ApprovalRegistry({ clock: { now: () => now }, timers, newId: () => `appr-${++approvalIds}` });
  const cancel = new AbortController();
  try {
    return await runAgent(
      {
        runId: spec.runId,
        sessionId: spec.sessionId,
        model: 'scripted-model',
        system: 'You are a careful test agent.',
        messages: [{ role: 'user', content: 'Please help.' }],
        policySetHash: set.hash,
        ...(plan.senderIsOwner === undefined ? {} : { senderIsOwner: plan.senderIsOwner, sender: 'stranger' }),
        ...(plan.budgets === undefined ? {} : { budgets: plan.budgets }),
      },
      {
        clock,
        newId: () => `req-${++ids}`,
        timers,
        provider: createScriptedProvider(parseScript({ version: 1, turns: plan.turns })),
        tools: registryTools(registry, { workspace: options.stateDir, stateDir: options.stateDir, sessionId: spec.sessionId }),
        decide: (request) => decideToolCall(request, set),
        approvals: registryApprovals(approvals),
        tape,
        onEvent: (event) => {
          if (event.type !== 'approval_requested') return;
          if (plan.onApproval === 'cancel') cancel.abort();
          else if (plan.onApproval === 'approve') void approvals.resolve(event.approvalId, { type: 'approve', scope: 'once', by: 'operator' });
        },
      },
      { signal: cancel.signal },
    );
  } finally {
    approvals.close();
  }
}

/** Runs one scenario with its tape in memory (seq, hash and origin are then null). */
export async function recordTape(spec: RunSpec, options: { stateDir: string }): Promise<{ events: TapeEvent[]; outcome: RunOutcome }> {
  const events: TapeEvent[] = [];
  const outcome = await runScenario(spec, { record: (event) => void events.push(event) }, options);
  return { events, outcome };
}

/**
 * Records `runs` one after another into the journal of the state directory `root`
 * (created when missing), as the daemon would, and closes the journal.
 */
export async function recordRuns(root: string, runs: readonly RunSpec[]): Promise<{ paths: StatePaths; outcomes: RunOutcome[] }> {
  const paths = initStateDir(root);
  const store = await JournalStore.open({
    ...journalOptionsFor(paths, { version: 'test', env: {} }),
    snapshotIntervalMs: 0,
    checkpointIntervalMs: 0,
    checkpointEveryEvents: 0,
  });
  const outcomes: RunOutcome[] = [];
  try {
    for (const spec of runs) {
      const port = journalTapePort(store, { runId: spec.runId, sessionId: spec.sessionId });
      const cut = spec.cutAfter;
      const tape: TapePort = cut === undefined ? port : { record: (event) => (event.payload.step <= cut ? port.record(event) : undefined) };
      outcomes.push(await runScenario(spec, tape, { stateDir: paths.root }));
      await port.settled();
    }
  } finally {
    await store.close();
  }
  return { paths, outcomes };
}
