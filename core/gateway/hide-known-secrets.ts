import { canonicalJson } from '../base/index.ts';
import type { ToolsPort } from '../agent/index.ts';
import type { Redactor } from '../journal/index.ts';
import { failureReceipt, successReceipt, type ToolResult } from '../tools/index.ts';

/**
 * The tools port with the daemon's own secrets hidden from what the tools return.
 *
 * Security: a tool runs as the daemon's user, so `process.run` can read what that user
 * can: `/proc/<daemon pid>/environ` (the provider keys of `apiKeyEnv`), the admin token in
 * the state directory. Whatever a tool returns goes to the model, and from the model
 * anywhere (an `http.fetch` URL). Every secret the journal's redactor knows is replaced,
 * in every form it knows, before the model sees the result; the receipt is then that of
 * what the model saw. Not a sandbox (a tool can still encode a secret in a form no one
 * registered); README.md ("Tools") says what process.run can reach.
 */
export function hidingKnownSecrets(tools: ToolsPort, redactor: Redactor): ToolsPort {
  return {
    list: tools.list,
    invoke: async (name, input, signal) => hideIn(await tools.invoke(name, input, signal), redactor),
  };
}

function hideIn(result: ToolResult, redactor: Redactor): ToolResult {
  try {
    if (result.ok) {
      const hidden = redactor.hideKnownSecrets(result.output);
      if (hidden.count === 0) return result;
      return { ...result, output: hidden.value, receipt: successReceipt(result.tool, canonicalJson(hidden.value)) };
    }
    const message = redactor.hideKnownSecrets(result.error.message);
    if (message.count === 0) return result;
    const error = { code: result.error.code, message: message.value as string };
    return { ...result, error, receipt: failureReceipt(result.tool, error) };
  } catch {
    // Too deep to check: nothing unchecked goes to the model.
    const error = { code: 'PALYRA_TOOL_FAILED', message: `Output of tool "${result.tool}" was withheld: it nests too deep to check for secrets` };
    return { ok: false, tool: result.tool, error, receipt: failureReceipt(result.tool, error), durationMs: result.durationMs };
  }
}
