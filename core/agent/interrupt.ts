/**
 * Interrupts of a run: the caller's AbortSignal (cancel) and the wall-clock timer. Both
 * abort one derived signal that the model stream, tools and approval waits listen to.
 *
 * Invariant: the loop reads `cause` only at checkpoints, each right before the step that
 * records what it saw (`model.response.interrupted`, `approval.resolved.interrupt`,
 * `run.transition.interrupt`), so a replay can raise the same interrupt at the same point.
 */
import type { Timers } from '../policy/index.ts';
import type { InterruptCause } from './tape-events.ts';

/** What `wait` returns when the run was interrupted first. */
export const INTERRUPTED: unique symbol = Symbol('interrupted');

export class Interrupter {
  #cause: InterruptCause | null = null;
  readonly #controller = new AbortController();
  #timer: unknown = null;
  readonly #external: AbortSignal | undefined;
  readonly #onExternal = (): void => this.trigger('cancelled');

  constructor(
    external: AbortSignal | undefined,
    private readonly timers: Timers,
  ) {
    this.#external = external;
    if (external?.aborted) this.trigger('cancelled');
    else external?.addEventListener('abort', this.#onExternal, { once: true });
  }

  /** The first interrupt, or null. */
  get cause(): InterruptCause | null {
    return this.#cause;
  }

  /** Aborted on the first interrupt; handed to the provider and to tools. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Raises an interrupt; the first one wins. */
  trigger(cause: InterruptCause): void {
    if (this.#cause !== null) return;
    this.#cause = cause;
    this.#controller.abort(cause);
  }

  /** Starts the wall-clock timer of the run. */
  armDeadline(ms: number): void {
    // The timers port, never the global: `.call` keeps the port's `this` for class-based fakes.
    this.#timer = this.timers.setTimeout.call(this.timers, () => this.trigger('wall_clock'), ms);
  }

  /** Stops the timer and stops listening to the caller's signal. */
  dispose(): void {
    if (this.#timer !== null) this.timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#external?.removeEventListener('abort', this.#onExternal);
  }

  /** Waits for `promise`, or returns INTERRUPTED as soon as the run is interrupted. */
  wait<T>(promise: Promise<T>): Promise<T | typeof INTERRUPTED> {
    if (this.#cause !== null) return Promise.resolve(INTERRUPTED);
    const signal = this.#controller.signal;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => resolve(INTERRUPTED);
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}
