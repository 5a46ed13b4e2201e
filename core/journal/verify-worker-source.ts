/**
 * Where the verifier's worker code comes from. build.mjs replaces this module in the
 * bundle with one that returns the worker bundled into a string, because a single
 * executable can only start workers from code (`eval: true`). From source (tests, tsx)
 * the worker registers tsx itself and imports the TypeScript file beside this one: a
 * worker does not inherit its parent's `--import tsx` loader.
 */
export function verifyWorkerSource(): { code: string } | { url: URL } {
  const entry = JSON.stringify(new URL('./verify-worker.ts', import.meta.url).href);
  return { code: `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })` };
}
