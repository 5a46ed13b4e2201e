/**
 * Replaying a tape: the same loop runs again with every outside answer taken from the tape,
 * records its own tape in memory, and compares it step by step with the recorded one.
 */
import { PalyraError } from '../base/index.ts';
// The marker text only (this file imports nothing), not the journal's I/O.
import { MARKER_PREFIX } from '../journal/secret-shapes.ts';
import { jsonEqual } from './json-equal.ts';
import type { ToolCallDecision, ToolCallRequest, Timers } from '../policy/index.ts';
import { parseTape } from './parse-tape.ts';
import { tapePorts, type ReplayDriver, type WhatIfChange } from './replay-ports.ts';
import { runAgent, type RunOutcome } from './run-agent.ts';
import type { InterruptCause, RunStartedPayload, TapeEvent } from './tape-events.ts';

/** A step where the replayed run differs from the recording; null where one side has no such step. */
export interface Divergence {
  step: number;
  expected: TapeEvent | null;
  actual: TapeEvent | null;
}

/** What a replay found. */
export interface ReplayReport {
  /** True when every replayed step equals the recorded one (canonical JSON) and the counts match. */
  identical: boolean;
  /**
   * True when the recording has no `run.finished` (a run still going, or cut off by a
   * crash): the replay stopped where the recording ends, and steps the replayed loop would
   * take beyond it are neither compared nor counted.
   */
  unfinished: boolean;
  /** Steps the replayed run recorded. */
  steps: number;
  recordedSteps: number;
  /** The first `maxDivergences` divergences, in step order. */
  divergences: Divergence[];
  divergenceCount: number;
  /** With `options.decide`: the recorded calls whose decision would change, in step order. */
  whatIf: WhatIfChange[];
  /**
   * Steps whose content hashes (`messagesHash`, `systemHash`, a result's `receipt`) were
   * not compared: the journal redacted a secret the live run saw, so those hashes cover
   * text the tape no longer holds. Everything else in those steps was compared.
   */
  hashesUnchecked: number;
  outcome: RunOutcome;
}

/** Options of {@link replayTape}. */
export interface ReplayOptions {
  /**
   * Another policy to judge every recorded call with. Changed decisions are reported in
   * `whatIf`; the replay still follows the recorded decisions, so it proceeds as recorded.
   */
  decide?: (request: ToolCallRequest) => ToolCallDecision;
  /** Divergences kept in the report (default 100); all are counted. */
  maxDivergences?: number;
}

/**
 * Replays `events` (a whole tape in step order, as the journal returns it). A tape without
 * `run.finished` replays up to its last step (`unfinished` in the report).
 * @throws PalyraError PALYRA_TAPE_UNSUPPORTED_VERSION or PALYRA_TAPE_INVALID (see parseTape).
 */
export async function replayTape(events: readonly unknown[], options: ReplayOptions = {}): Promise<ReplayReport> {
  const recorded = parseTape(events);
  const maxDivergences = options.maxDivergences ?? 100;
  const divergences: Divergence[] = [];
  let divergenceCount = 0;
  const diverge = (d: Divergence): void => {
    divergenceCount++;
    if (divergences.length < maxDivergences) divergences.push(d);
  };
  const started = recorded[0]?.payload as RunStartedPayload | undefined;
  if (started === undefined) throw new PalyraError('PALYRA_TAPE_INVALID', 'Cannot replay an empty tape: it has no run.started step');

  const unfinished = recorded.at(-1)?.kind !== 'run.finished';
  const cancel = new AbortController();
  const pendingTimers = new Map<number, () => void>();
  let nextTimer = 0;
  const timers: Timers = {
    setTimeout: (fn) => {
      pendingTimers.set(++nextTimer, fn);
      return nextTimer;
    },
    clearTimeout: (handle) => void pendingTimers.delete(handle as number),
  };
  const driver: ReplayDriver = {
    position: 0,
    trigger(cause: InterruptCause) {
      if (cause === 'cancelled') cancel.abort('replay');
      else for (const fn of [...pendingTimers.values()]) fn();
    },
  };
  const whatIf: WhatIfChange[] = [];
  // From the first step whose conversation text holds a redaction marker on, conversation hashes cannot match.
  let redactedSince = false;
  let hashesUnchecked = 0;
  const ports = {
    ...tapePorts(recorded, driver, options.decide === undefined ? { whatIf } : { decide: options.decide, whatIf }),
    timers,
    tape: {
      record(event: TapeEvent): void {
        // An unfinished recording says nothing about what came after its last step: the
        // replay stops there, and what the loop records on its way out is not compared.
        if (unfinished && driver.position >= recorded.length) return;
        const i = driver.position++;
        if (unfinished && driver.position === recorded.length) cancel.abort('the recording ends here');
        const expected = recorded[i];
        if (expected === undefined) diverge({ step: i + 1, expected: null, actual: event });
        else if (expected.kind !== event.kind) diverge({ step: i + 1, expected, actual: event });
        else {
          // A hash over this step's own redacted text (a result's receipt, the system
          // prompt's hash) cannot be recomputed; nor can a conversation hash once any
          // redacted text joined the conversation. Everything else is compared as recorded.
          const own = contentRedacted(expected);
          redactedSince ||= own;
          const unverifiable = [...(own ? OWN_CONTENT_HASHES : []), ...(redactedSince ? CONVERSATION_HASHES : [])].filter((f) => f in expected.payload);
          if (!jsonEqual(expected.payload, event.payload)) {
            if (unverifiable.length > 0) hashesUnchecked++;
            if (unverifiable.length === 0 || !jsonEqual(without(expected.payload, unverifiable), without(event.payload, unverifiable))) diverge({ step: i + 1, expected, actual: event });
          }
        }
        // Interrupts recorded at the next step are raised now, at the checkpoint the live run reached.
        const next = recorded[driver.position];
        if (next?.kind === 'run.transition' && next.payload.interrupt !== null) driver.trigger(next.payload.interrupt);
        else if (next?.kind === 'approval.resolved' && next.payload.interrupt !== null) driver.trigger(next.payload.interrupt);
      },
    },
  };
  const outcome = await runAgent(
    {
      runId: started.runId,
      sessionId: started.sessionId,
      model: started.model,
      system: started.system,
      messages: started.messages,
      parameters: started.parameters,
      ...started.principal,
      policySetHash: started.policySetHash,
      budgets: started.budgets,
      ...(started.carried === undefined ? {} : { carried: started.carried }),
    },
    ports,
    { signal: cancel.signal, tapeVersion: started.tapeVersion, recordRoutes: recordsRoutes(recorded) },
  );
  for (let i = driver.position; i < recorded.length; i++) diverge({ step: i + 1, expected: recorded[i] as TapeEvent, actual: null });
  return { identical: divergenceCount === 0, unfinished, steps: driver.position, recordedSteps: recorded.length, divergences, divergenceCount, whatIf, hashesUnchecked, outcome };
}

/**
 * Whether the tape records each turn's route: tapes recorded before routes were added have
 * none, and replay without them. Any one route says it does, so a route edited out of one
 * step shows up as a divergence there.
 */
function recordsRoutes(tape: readonly TapeEvent[]): boolean {
  let responses = 0;
  for (const e of tape) {
    if (e.kind !== 'model.response') continue;
    if (e.payload.route !== undefined) return true;
    responses++;
  }
  return responses === 0;
}

/** Hashes over a step's own content (a tool result's output, the run's system prompt). */
const OWN_CONTENT_HASHES = ['receipt', 'systemHash'];
/** Hashes over the whole conversation so far. */
const CONVERSATION_HASHES = ['messagesHash'];

function without(payload: object, fields: readonly string[]): object {
  const copy: Record<string, unknown> = { ...payload };
  for (const field of fields) delete copy[field];
  return copy;
}

/**
 * The fields of each step that carry conversation text (what the hashes cover). A marker
 * elsewhere (the redactor also hides values under keys like `sessionId`) hides nothing
 * the hashes were computed over, so it relaxes no comparison.
 */
const CONTENT_FIELDS: Partial<Record<TapeEvent['kind'], readonly string[]>> = {
  'run.started': ['messages', 'system'],
  'model.response': ['text', 'toolCalls'],
  'tool.result': ['output', 'error'],
  'run.steered': ['steers'],
};

/**
 * Whether the journal redacted this step's conversation text: its record says it redacted
 * something (a count the record's hash covers, so an edited tape cannot claim it), and
 * the marker sits in a conversation field. Marker text alone proves nothing: a tool may
 * return it, and whoever edits a tape can write it.
 */
function contentRedacted(event: TapeEvent): boolean {
  if (((event as TapeEvent & { redactions?: number }).redactions ?? 0) <= 0) return false;
  const payload = event.payload as unknown as Record<string, unknown>;
  return (CONTENT_FIELDS[event.kind] ?? []).some((field) => holdsMarker(payload[field]));
}

/** True when some string in `value` holds a redaction marker (no allocation: each replayed step's text is scanned). */
function holdsMarker(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(MARKER_PREFIX);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(holdsMarker);
  for (const key in value) if (holdsMarker((value as Record<string, unknown>)[key])) return true;
  return false;
}
