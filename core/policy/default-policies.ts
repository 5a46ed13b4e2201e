/**
 * The default policy set shipped in the bundle. Cedar denies whatever no permit allows,
 * so these four policies are the whole baseline:
 * - low-risk tools that only read files or memory are allowed;
 * - everything sensitive or riskier is allowed only with an approval (so it is `ask`);
 * - a sender who is not the owner never gets `process` or `secrets` (a forbid: no
 *   approval or operator permit can override it);
 * - a run whose tool-call budget is spent gets nothing.
 *
 * Each policy carries `@id` (so decisions name it), `@reason` (the sentence decisions
 * show) and `@example` comments that `policy check` and the tests run against this set alone.
 */

/** Ids are reserved: operator policies may not use this prefix. */
export const BUILTIN_ID_PREFIX = 'builtin.';

const READ_ONLY = `// @example allow tool=echo policies=builtin.read-only
// @example allow tool=fs.read not-owner
// @example allow tool=memory.search
// @example ask tool=memory.put
@id("builtin.read-only")
@reason("Low-risk tools that only read files or memory are allowed")
permit (principal, action == Action::"tool.invoke", resource)
when {
  ["fs_read", "memory"].containsAll(resource.capabilities) &&
  resource.risk == "low"
};`;

const APPROVED_SENSITIVE = `// @example ask tool=fs.write policies=builtin.approved-sensitive
// @example allow tool=fs.write approved policies=builtin.approved-sensitive
// @example ask tool=http.fetch not-owner
// @example allow tool=worker.exec capabilities=remote risk=low approved
@id("builtin.approved-sensitive")
@reason("Tools that run processes, use the network, write files, touch secrets, run plugins or remote workers, or carry medium or high risk need an approval")
permit (principal, action == Action::"tool.invoke", resource)
when {
  context.approval == "approved" &&
  (resource.capabilities.containsAny(["process", "network", "fs_write", "secrets", "plugin", "remote"]) ||
   resource.risk != "low")
};`;

const NON_OWNER = `// @example deny tool=process.run not-owner approved policies=builtin.non-owner-forbidden
// @example deny tool=vault.read capabilities=secrets risk=high not-owner
// @example ask tool=process.run owner
@id("builtin.non-owner-forbidden")
@reason("A sender who is not the owner never gets tools that run processes or touch secrets, even with an approval")
forbid (principal, action == Action::"tool.invoke", resource)
when {
  !context.senderIsOwner &&
  resource.capabilities.containsAny(["process", "secrets"])
};`;

const BUDGET = `// @example deny tool=echo calls=0 policies=builtin.budget-exhausted
// @example allow tool=echo calls=1
@id("builtin.budget-exhausted")
@reason("The run has no tool calls left in its budget")
forbid (principal, action == Action::"tool.invoke", resource)
when { context.toolCallsLeft <= 0 };`;

/** The built-in policies, in order; each is one Cedar policy with its comments. */
export const DEFAULT_POLICIES: readonly string[] = [READ_ONLY, APPROVED_SENSITIVE, NON_OWNER, BUDGET];

/** The label built-in policies carry where a file path would be (diagnostics, `policy show`). */
export const BUILTIN_SOURCE_NAME = 'builtin:default.cedar';

/**
 * The built-in policies as one virtual file, so they go through exactly the same
 * parsing, id, example and validation path as an operator's file.
 */
export const DEFAULT_POLICY_TEXT = `${DEFAULT_POLICIES.join('\n\n')}\n`;
