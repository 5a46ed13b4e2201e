/**
 * Loads the Cedar policy engine (cedar-wasm) once per process.
 *
 * Only the `web` build works everywhere palyrad runs: the `nodejs` build reads its .wasm
 * from beside the script at load time (breaks the bundle), and the default build needs
 * wasm ESM integration (breaks Node 20). `initSync` is used over the async init because
 * it measured 4x faster on Node. The module is imported lazily to keep `--version` fast.
 */
import { cedarWasm } from '../base/wasm-assets.ts';

/** The initialised `@cedar-policy/cedar-wasm/web` module. */
export type CedarModule = typeof import('@cedar-policy/cedar-wasm/web');

let loading: Promise<CedarModule> | undefined;

/** The initialised Cedar module; concurrent and later callers share one instance. */
export function loadCedar(): Promise<CedarModule> {
  loading ??= init().catch((error: unknown) => {
    // Forget a failed attempt so a later call can retry instead of failing forever.
    loading = undefined;
    throw error;
  });
  return loading;
}

async function init(): Promise<CedarModule> {
  const cedar = await import('@cedar-policy/cedar-wasm/web');
  cedar.initSync({ module: cedarWasm() });
  return cedar;
}
