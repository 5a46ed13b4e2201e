export { loadCedar } from './cedar-runtime.ts';
export type { CedarModule } from './cedar-runtime.ts';
export {
  POLICY_SCHEMA,
  POLICY_SCHEMA_VERSION,
  POLICY_CAPABILITIES,
  POLICY_RISKS,
  TOOL_INVOKE_ACTION,
} from './schema.ts';
export type { PolicyCapability, PolicyRisk } from './schema.ts';
export { DEFAULT_POLICIES, DEFAULT_POLICY_TEXT, BUILTIN_ID_PREFIX, BUILTIN_SOURCE_NAME } from './default-policies.ts';
export { builtinTool, builtinTools, toolWithin } from './builtin-tools.ts';
export type { PolicyTool } from './builtin-tools.ts';
export { toolCallRequest, parsePrincipal, formatPrincipal, DEFAULT_PRINCIPAL } from './request.ts';
export type { ToolCallRequest, ToolCallRequestInput, PolicyPrincipal, ApprovalState } from './request.ts';
export { toCedarRequest, extractArgs } from './cedar-request.ts';
export type { CedarRequest, CedarEntityJson } from './cedar-request.ts';
export { cedarString, cedarEntity } from './cedar-text.ts';
export { compilePolicySet, policySetHash, BUILTIN_SOURCE } from './compile.ts';
export type { CompiledPolicySet, CompileResult, PolicyEngine } from './compile.ts';
export type { PolicyEntry, PolicyOrigin, PolicySourceFile } from './policy-source.ts';
export { decideToolCall } from './decide.ts';
export type { ToolCallDecision, PolicyDecision } from './decide.ts';
export { findExamples, parseExample } from './examples.ts';
export type { PolicyExample } from './examples.ts';
export { checkPolicies, runExamples, builtinPolicySet } from './check.ts';
export type { PolicyCheckReport, ExampleResult } from './check.ts';
export { formatProblem, policyInvalidError } from './problems.ts';
export type { PolicyProblem, PolicyProblemKind } from './problems.ts';
export { POLICIES_DIR_NAME, policiesDir, readPolicyDir, readPolicyPaths, readPolicyFile } from './policy-files.ts';
export { PolicyStore } from './policy-store.ts';
export type { PersistedPolicy, PolicyReloadResult, PolicyReplaceResult, PolicyStoreOptions } from './policy-store.ts';
export { approvalPolicy } from './approval-policy.ts';
export type { AlwaysApproval, GeneratedPolicy } from './approval-policy.ts';
export { ApprovalRegistry, systemTimers, DEFAULT_APPROVAL_TIMEOUT_MS } from './approvals.ts';
export type { ApprovalScope, ApprovalRequest, ApprovalResolution, ApprovalOutcome, ApprovalRegistryOptions, Timers } from './approvals.ts';
