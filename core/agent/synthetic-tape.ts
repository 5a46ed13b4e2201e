/**
 * A large, consistent tape for benchmarks: recorded by running the real loop against a fake
 * model that asks for `callsPerTurn` echo calls per turn, so it replays identically.
 */
import { canonicalJson } from '../base/index.ts';
import type { ModelProvider, ProviderEvent } from '../providers/index.ts';
import { successReceipt } from '../tools/index.ts';
import type { AgentPorts } from './ports.ts';
import { runAgent } from './run-agent.ts';
import type { TapeEvent } from './tape-events.ts';

/** Options of {@link buildSyntheticTape}. */
export interface SyntheticTapeOptions {
  /** Turns with tool calls, before the final answer (default 33). */
  turns?: number;
  /** Echo calls per turn (default 1000; with 33 turns about 100,000 events). */
  callsPerTurn?: number;
}

/** Records a run of `turns` turns of `callsPerTurn` echo calls each and returns its tape. */
export async function buildSyntheticTape(options: SyntheticTapeOptions = {}): Promise<TapeEvent[]> {
  const turns = options.turns ?? 33;
  const callsPerTurn = options.callsPerTurn ?? 1000;
  const events: TapeEvent[] = [];
  let now = 1_700_000_000_000;
  let ids = 0;
  let streamed = 0;
  const provider: ModelProvider = {
    id: 'synthetic',
    async *stream(): AsyncGenerator<ProviderEvent> {
      const turn = streamed++;
      if (turn >= turns) {
        yield { type: 'text_delta', text: 'done' };
        yield { type: 'finish', reason: 'stop', raw: 'stop' };
        return;
      }
      for (let i = 0; i < callsPerTurn; i++) {
        yield { type: 'tool_call_delta', index: i, id: `call_${turn}_${i}`, name: 'echo', argumentsFragment: `{"text":"t${turn}-${i}"}` };
      }
      yield { type: 'usage', inputTokens: 10, outputTokens: callsPerTurn };
      yield { type: 'finish', reason: 'tool_calls', raw: 'tool_calls' };
    },
  };
  const ports: AgentPorts = {
    clock: { now: () => now++ },
    newId: () => `req-${++ids}`,
    timers: { setTimeout: () => 0, clearTimeout: () => undefined },
    provider,
    tools: {
      list: [{ name: 'echo', description: 'Return the given text unchanged.', inputSchema: { type: 'object' }, capabilities: [], risk: 'low', parallelSafe: true }],
      invoke: (name, input) => {
        const output = { text: (input as { text: string }).text };
        return Promise.resolve({ ok: true, tool: name, output, receipt: successReceipt(name, canonicalJson(output)), durationMs: 0 });
      },
    },
    decide: () => ({ decision: 'allow', policies: ['synthetic.allow'], reasons: [], policySetHash: 'synthetic' }),
    approvals: {
      requestApproval: () => {
        throw new Error('The synthetic run never asks');
      },
    },
    tape: { record: (event) => void events.push(event) },
  };
  await runAgent(
    {
      runId: 'synthetic-run',
      sessionId: 'synthetic-session',
      model: 'synthetic',
      messages: [{ role: 'user', content: 'echo a lot' }],
      policySetHash: 'synthetic',
      budgets: { maxTurns: turns + 1, maxToolCalls: turns * callsPerTurn, tapeMaxEvents: 10_000_000, tapeMaxBytes: 2 ** 40, maxParallelTools: 4 },
    },
    ports,
  );
  return events;
}
