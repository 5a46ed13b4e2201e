/**
 * Writing an `always` approval's policy, audited: the policy file first (validated with the
 * set, written atomically by the policy store), then a `policy.approved` journal event,
 * durable before the approval's answer is acknowledged — as replacing and reloading
 * policies are journaled, so every change of the policy set is on the journal.
 */
import type { AppendInput } from '../journal/index.ts';
import type { ApprovalRegistryOptions, PersistedPolicy, PolicyStore } from '../policy/index.ts';

/** The journal kind of a policy written by an `always` approval. */
export const POLICY_APPROVED = 'policy.approved';

/** `persistAlways` for the approval registry: persists through `policies`, then journals it. */
export function persistAndJournal(
  policies: Pick<PolicyStore, 'persistPolicy'>,
  journal: { append(input: AppendInput): Promise<unknown> },
): NonNullable<ApprovalRegistryOptions['persistAlways']> {
  return async (policy, { approval, approvedBy }): Promise<PersistedPolicy> => {
    const persisted = await policies.persistPolicy(policy);
    // Invariant: awaited, so the answer is acknowledged only once this is durable. If the
    // journal fails here the policy is written but the answer fails loudly (the journal's
    // failure stops the daemon's writes anyway).
    await journal.append({
      kind: POLICY_APPROVED,
      actor: 'operator',
      runId: approval.runId,
      payload: {
        approvalId: approval.id,
        runId: approval.runId,
        approvedBy,
        tool: approval.request.tool.name,
        policyId: persisted.policyId,
        file: policy.fileName,
        sha256: persisted.sha256,
        policySetHash: persisted.policySetHash,
      },
    });
    return persisted;
  };
}
