/**
 * Reading a tape back: checks each event's version, kind, step and fields, and that the
 * run's transitions are legal, before anything replays it.
 *
 * Invariant: every tapeVersion ever written stays readable here (golden tapes, replayed in
 * CI, pin each version); a newer version is refused with its own code.
 */
import { PalyraError } from '../base/index.ts';
import { RunStateMachine, type RunState } from './run-state-machine.ts';
import { TAPE_KINDS, TAPE_VERSION, type TapeEvent, type TapeKind } from './tape-events.ts';

/** Field types: s string, n number, b boolean, a array, o object; `?` also allows null; j any value. */
type FieldType = 's' | 'n' | 'b' | 'a' | 'o' | 's?' | 'n?' | 'o?' | 'j';

const REF: Record<string, FieldType> = { turn: 'n', index: 'n', callId: 's', tool: 's' };

const FIELDS: Record<TapeKind, Record<string, FieldType>> = {
  'run.started': {
    runId: 's', sessionId: 's', providerId: 's', model: 's', parameters: 'o', system: 's?', systemHash: 's', messages: 'a', messagesHash: 's',
    tools: 'a', toolsHash: 's', policySetHash: 's', principal: 'o', budgets: 'o',
  },
  'run.transition': { from: 's', to: 's', reason: 's', interrupt: 's?' },
  'model.request': { turn: 'n', requestId: 's', messageCount: 'n', messagesHash: 's' },
  'model.response': {
    turn: 'n', text: 's', toolCalls: 'a', invalidArguments: 'a', usage: 'o?', finish: 's?', finishReason: 's?', error: 'o?', interrupted: 's?',
  },
  'tool.proposed': { ...REF, args: 'j' },
  'tool.decision': { ...REF, approval: 's', decision: 's', policies: 'a', reasons: 'a', policySetHash: 's' },
  'approval.requested': { ...REF, approvalId: 's' },
  'approval.resolved': { ...REF, approvalId: 's', outcome: 's', by: 's?', scope: 's?', reason: 's?', interrupt: 's?' },
  'tool.result': { ...REF, source: 's', ok: 'b', output: 'j', error: 'o?', receipt: 's?', durationMs: 'n' },
  'run.steered': { turn: 'n', steers: 'a' },
  'run.finished': { state: 's', reason: 's', counters: 'o', finalText: 's?', messagesHash: 's' },
};

const KINDS = new Set<string>(TAPE_KINDS);

function invalid(step: number, problem: string): PalyraError {
  return new PalyraError('PALYRA_TAPE_INVALID', `Cannot read tape step ${step}: ${problem}`, { details: { step } });
}

function fits(value: unknown, type: FieldType): boolean {
  switch (type) {
    case 'j':
      return value !== undefined;
    case 's?':
      return value === null || typeof value === 'string';
    case 'n?':
      return value === null || typeof value === 'number';
    case 'o?':
      return value === null || (typeof value === 'object' && !Array.isArray(value));
    case 's':
      return typeof value === 'string';
    case 'n':
      return typeof value === 'number';
    case 'b':
      return typeof value === 'boolean';
    case 'a':
      return Array.isArray(value);
    case 'o':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    default: {
      const unreachable: never = type;
      throw new Error(`Unknown field type ${String(unreachable)}`);
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A resumed run's `carried`: five non-negative numbers. */
function isCounters(value: unknown): boolean {
  if (!isObject(value)) return false;
  return ['turns', 'toolCalls', 'inputTokens', 'outputTokens', 'cost'].every((k) => typeof value[k] === 'number' && Number.isFinite(value[k]) && (value[k] as number) >= 0);
}

/** A turn's `route`: provider id, model, and the failed attempts, each with its failure's code and message. */
function isRoute(value: unknown): boolean {
  const named = (v: unknown): v is Record<string, unknown> => isObject(v) && typeof v['providerId'] === 'string' && typeof v['model'] === 'string';
  if (!named(value) || !Array.isArray(value['failedOver'])) return false;
  return value['failedOver'].every((a: unknown) => named(a) && isObject(a['error']) && typeof a['error']['code'] === 'string' && typeof a['error']['message'] === 'string');
}

/**
 * Checks a tape (events in step order, as the journal returns them) and returns it typed.
 * A tape may end before `run.finished` (a run still going, or a daemon that stopped).
 * @throws PalyraError PALYRA_TAPE_UNSUPPORTED_VERSION for a tapeVersion newer than this
 *   code reads; PALYRA_TAPE_INVALID naming the step and the problem for anything else.
 */
export function parseTape(events: readonly unknown[]): TapeEvent[] {
  const machine = new RunStateMachine('tape', { clock: { now: () => 0 }, record: () => undefined });
  let finished = false;
  for (let i = 0; i < events.length; i++) {
    const step = i + 1;
    const event = events[i] as { kind?: unknown; payload?: Record<string, unknown> } | null;
    if (typeof event !== 'object' || event === null || typeof event.payload !== 'object' || event.payload === null) throw invalid(step, 'an event is { kind, payload }');
    const { kind, payload } = event;
    const version = payload['tapeVersion'];
    if (typeof version === 'number' && Number.isInteger(version) && version > TAPE_VERSION) {
      throw new PalyraError('PALYRA_TAPE_UNSUPPORTED_VERSION', `Cannot read tape step ${step}: tapeVersion ${version} is newer than this palyrad reads (up to ${TAPE_VERSION}); upgrade palyrad`, {
        details: { step, tapeVersion: version },
      });
    }
    const first = (events[0] as { payload: Record<string, unknown> }).payload['tapeVersion'];
    if (step === 1 && !(typeof version === 'number' && Number.isInteger(version) && version >= 1)) throw invalid(step, `tapeVersion must be 1 to ${TAPE_VERSION}, not ${JSON.stringify(version)}`);
    // A run records all its steps under one version.
    if (version !== first) throw invalid(step, `tapeVersion must be ${JSON.stringify(first)} as at step 1, not ${JSON.stringify(version)}`);
    if (typeof kind !== 'string' || !KINDS.has(kind)) throw invalid(step, `unknown kind ${JSON.stringify(kind)}`);
    if ((step === 1) !== (kind === 'run.started')) throw invalid(step, step === 1 ? `a tape starts with run.started, not ${kind}` : 'run.started may only be the first step');
    if (payload['step'] !== step) throw invalid(step, `step is ${JSON.stringify(payload['step'])}; steps count from 1 without gaps`);
    if (typeof payload['at'] !== 'number') throw invalid(step, 'at must be a number');
    if (finished) throw invalid(step, 'an event follows run.finished');
    for (const [field, type] of Object.entries(FIELDS[kind as TapeKind])) {
      if (!fits(payload[field], type)) throw invalid(step, `${kind}.${field} is ${JSON.stringify(payload[field]) ?? 'missing'}`);
    }
    if (kind === 'run.started' && 'carried' in payload && !isCounters(payload['carried'])) {
      throw invalid(step, `run.started.carried is ${JSON.stringify(payload['carried'])}; it holds turns, toolCalls, inputTokens, outputTokens and cost, each a number ≥ 0`);
    }
    if (kind === 'model.response' && 'route' in payload && !isRoute(payload['route'])) {
      throw invalid(step, `model.response.route is ${JSON.stringify(payload['route'])}; it holds providerId, model and failedOver (each with providerId, model and an error with code and message)`);
    }
    if (kind === 'run.transition') {
      if (payload['from'] !== machine.state) throw invalid(step, `transition from ${String(payload['from'])}, but the run is ${machine.state}`);
      try {
        machine.transition(payload['to'] as RunState, payload['reason'] as string);
      } catch (error) {
        throw invalid(step, (error as Error).message);
      }
    }
    if (kind === 'run.finished') {
      if (payload['state'] !== machine.state) throw invalid(step, `run.finished says ${String(payload['state'])}, but the run is ${machine.state}`);
      finished = true;
    }
  }
  return events as TapeEvent[];
}
