/**
 * Fakes shared by the resilience tests: scripted providers, a recording sleep and a
 * settable clock. Test support only; nothing in production imports this file.
 */
import type { ModelProvider, ProviderErrorCode, ProviderEvent, ProviderFailure, ProviderRequest } from '../contract.ts';
import type { Sleep } from './sleep.ts';

/** A provider that plays `attempts[n]` on its n-th call (the last one repeats) and counts calls. */
export function fakeProvider(id: string, attempts: ProviderEvent[][]): ModelProvider & { calls: ProviderRequest[] } {
  const calls: ProviderRequest[] = [];
  return {
    id,
    calls,
    async *stream(request) {
      const events = attempts[Math.min(calls.length, attempts.length - 1)] ?? [];
      calls.push(request);
      yield* events;
    },
  };
}

/** A failure event with `retryable` set as an adapter would. */
export function fail(code: ProviderErrorCode, extra: Partial<ProviderFailure> = {}): ProviderEvent {
  const retryable = ['rate_limited', 'overloaded', 'upstream', 'network', 'timeout'].includes(code);
  return { type: 'error', error: { code, message: `${code} happened`, retryable, ...extra } };
}

/** A successful answer. */
export const ok = (text = 'hi'): ProviderEvent[] => [
  { type: 'text_delta', text },
  { type: 'usage', inputTokens: 1, outputTokens: 1 },
  { type: 'finish', reason: 'stop', raw: 'stop' },
];

/** A sleep that returns at once and records each requested delay. */
export function recordingSleep(): Sleep & { delays: number[] } {
  const delays: number[] = [];
  const sleep = (ms: number): Promise<void> => {
    delays.push(ms);
    return Promise.resolve();
  };
  return Object.assign(sleep, { delays });
}

/** A clock tests move by hand. */
export function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Drains a stream into an array. */
export async function collectEvents(stream: AsyncIterable<ProviderEvent>): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = [];
  for await (const event of stream) out.push(event);
  return out;
}

/** The events of a stream without its routes (information a failover adds), to compare content. */
export const withoutRoutes = (events: ProviderEvent[]): ProviderEvent[] => events.filter((e) => e.type !== 'route');

/** A minimal request. */
export const request = (signal?: AbortSignal): ProviderRequest => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hello' }],
  ...(signal ? { signal } : {}),
});
