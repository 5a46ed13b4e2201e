/**
 * Where the verifier's worker code comes from. From source (tests, tsx) it is the
 * TypeScript file beside this one; build.mjs replaces this module in the bundle with one
 * that returns the worker bundled into a string, because a single executable can only
 * start workers from code (`eval: true`).
 */
export function verifyWorkerSource(): { code: string } | { url: URL } {
  return { url: new URL('./verify-worker.ts', import.meta.url) };
}
