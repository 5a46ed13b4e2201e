/**
 * The tape recorder: numbers steps, stamps each with exactly one clock reading, enforces
 * the run's tape bound and hands each event to the tape port, awaiting it.
 */
import { canonicalJson, type Clock } from '../base/index.ts';
import type { TapePort } from './ports.ts';
import { TAPE_VERSION, type TapeBody, type TapeEvent, type TapeKind, type TapeVersion } from './tape-events.ts';

/** Thrown by `record` when the next event would pass the tape bound; the loop ends the run on it. */
export class TapeLimitReached extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TapeLimitReached';
  }
}

/** UTF-8 length of a string without allocating (no Buffer here: core/agent has no node: imports). */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) i++, (n += 2);
    else n += 2;
  }
  return n;
}

/**
 * The canonical JSON of each payload recorded, as it was sized for the tape bound: a tape
 * port that journals the step hands it on, so the journal need not serialize the payload
 * a second time (it still does when redaction changes the payload). Keyed by the payload
 * object, so it goes with it.
 */
const canonicalPayloads = new WeakMap<object, string>();

/** The canonical JSON a recorder computed for `payload`, if it recorded it. */
export function recordedCanonicalJson(payload: object): string | undefined {
  return canonicalPayloads.get(payload);
}

/** Records one run's tape. */
export class TapeRecorder {
  #step = 0;
  #bytes = 0;
  #stampedAt: number | null = null;
  /** A reading taken for a step the bound refused; the next step uses it, so replayed readings line up. */
  #carriedAt: number | null = null;
  #lastAt = 0;

  constructor(
    private readonly port: TapePort,
    private readonly clock: Clock,
    private readonly limits: { maxEvents: number; maxBytes: number },
    /** The version stamped on every step (an older one only when replaying an older tape). */
    readonly version: TapeVersion = TAPE_VERSION,
  ) {}

  /** Steps recorded so far. */
  get steps(): number {
    return this.#step;
  }

  /** The time of the last recorded step: the loop's notion of "now" between steps. */
  get lastAt(): number {
    return this.#lastAt;
  }

  /**
   * A clock for the run state machine: its one reading becomes the `at` of the transition
   * step recorded next, so every step still costs exactly one clock reading.
   */
  readonly stampClock: Clock = {
    now: () => {
      this.#stampedAt = this.#read();
      return this.#stampedAt;
    },
  };

  /**
   * Records a step. `closing` steps (the final transition and `run.finished`) pass the
   * bound, so a run that hits it can still say so.
   * @throws TapeLimitReached when a non-closing step would pass the bound (nothing recorded).
   */
  record<K extends TapeKind>(kind: K, body: TapeBody<K>, closing = false): void | Promise<void> {
    const at = this.#stampedAt ?? this.#read();
    this.#stampedAt = null;
    // The body becomes the payload (callers pass a fresh literal): no copy per step.
    const payload = body as TapeBody<K> & { tapeVersion: number; step: number; at: number };
    payload.tapeVersion = this.version;
    payload.step = this.#step + 1;
    payload.at = at;
    const json = canonicalJson(payload);
    canonicalPayloads.set(payload, json);
    const size = utf8Length(json);
    if (!closing) {
      let reason: string | null = null;
      if (this.#step + 1 > this.limits.maxEvents) reason = `tape limit: ${this.limits.maxEvents} events reached`;
      else if (this.#bytes + size > this.limits.maxBytes) reason = `tape limit: ${this.limits.maxBytes} bytes reached`;
      if (reason !== null) {
        this.#carriedAt = at;
        throw new TapeLimitReached(reason);
      }
    }
    this.#step++;
    this.#bytes += size;
    this.#lastAt = at;
    return this.port.record({ kind, payload } as unknown as TapeEvent);
  }

  #read(): number {
    const carried = this.#carriedAt;
    if (carried === null) return this.clock.now();
    this.#carriedAt = null;
    return carried;
  }
}
