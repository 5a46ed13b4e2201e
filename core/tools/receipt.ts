/**
 * Receipts: the SHA-256 of what a call produced, so a journal entry, a model transcript
 * and an audit can show they speak of the same result.
 *
 * Invariant: receipt = sha256Hex(canonicalJson({ tool, ok, output })) for a success and
 * sha256Hex(canonicalJson({ tool, ok, error: { code, message } })) for a failure. Time and
 * duration are left out, so identical outputs give identical receipts. The call's input is
 * left out too: the journal records the call beside its receipt.
 */
import { canonicalJson, sha256Hex } from '../base/index.ts';

/**
 * Receipt of a successful call, from the output's canonical JSON text already computed
 * for the size cap (so a 1 MiB output is not serialized twice).
 */
export function successReceipt(tool: string, outputJson: string): string {
  // The same text canonicalJson({ ok: true, output, tool }) yields: keys in code-unit
  // order ("ok" < "output" < "tool"), no whitespace; strings escape as JSON.stringify does.
  return sha256Hex(`{"ok":true,"output":${outputJson},"tool":${JSON.stringify(tool)}}`);
}

/** Receipt of a failed call. */
export function failureReceipt(tool: string, error: { code: string; message: string }): string {
  return sha256Hex(canonicalJson({ tool, ok: false, error: { code: error.code, message: error.message } }));
}
