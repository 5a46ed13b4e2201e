import { Agent, fetch as undiciFetch, type RequestInit } from 'undici';

/**
 * Connections that are never reused. Tests interleave `fetch` with `runCli`, which blocks
 * the event loop (spawnSync) for seconds under load: meanwhile the daemon closes the idle
 * keep-alive connection (5 s), and the next fetch, picking that connection from the pool
 * before the loop has seen it close, fails with "fetch failed". A fresh connection each
 * time costs nothing measurable here.
 */
const noReuse = new Agent({ pipelining: 0 });

/** `fetch` over a new connection for every request. */
export function fetchFresh(url: string, init: RequestInit = {}) {
  return undiciFetch(url, { ...init, dispatcher: noReuse });
}
