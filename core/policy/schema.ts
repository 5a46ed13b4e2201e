/**
 * The Cedar schema of palyrad's world: who can ask (principals), what they ask for
 * (`tool.invoke` on a Tool) and the facts of the call (context). Every policy, built-in or
 * operator's, is validated strictly against it, so a typo'd attribute is a load error
 * rather than a policy that silently never matches. docs/policy.md explains each field.
 */

/** Version of the schema below; bump it when a field changes meaning or type. */
export const POLICY_SCHEMA_VERSION = 1;

/** What a tool can do, as policy sees it (the same words as core/tools' `Capability`). */
export type PolicyCapability = 'fs_read' | 'fs_write' | 'process' | 'network' | 'secrets' | 'plugin' | 'remote' | 'memory';

/** How much harm a call could do if it went wrong. */
export type PolicyRisk = 'low' | 'medium' | 'high';

/** Every capability the schema and the default policies know, in documentation order. */
export const POLICY_CAPABILITIES: readonly PolicyCapability[] = ['fs_read', 'fs_write', 'process', 'network', 'secrets', 'plugin', 'remote', 'memory'];

/** Every risk level, lowest first. */
export const POLICY_RISKS: readonly PolicyRisk[] = ['low', 'medium', 'high'];

/** The one action a tool call is checked as. */
export const TOOL_INVOKE_ACTION = 'tool.invoke';

/**
 * The schema in Cedar's human-readable format.
 *
 * Why these shapes:
 * - Capabilities and risk are plain strings, not entities: tools are described to policy
 *   as data, and `containsAny` / `containsAll` over a `Set<String>` read naturally.
 * - Arguments arrive twice: `argsJson` (canonical JSON, exact and complete, for exact
 *   matches and `like` patterns) and `args`, a few typed fields extracted from it, because
 *   Cedar cannot parse JSON and records must have a fixed shape to validate strictly.
 * - `Session in [Agent]`, so `principal in Agent::"main"` covers every session of an agent.
 */
export const POLICY_SCHEMA = `// palyrad policy schema, version ${POLICY_SCHEMA_VERSION}.

// The person running the daemon (console, CLI).
entity Operator;
// An agent configuration; its sessions are members of it.
entity Agent;
// One conversation of an agent.
entity Session in [Agent];
// Someone who sends messages on a channel.
entity Sender;

// A tool, described by what it can do.
entity Tool {
  name: String,
  capabilities: Set<String>,
  risk: String,
};

// Typed fields taken from the call's top-level arguments, when present.
type ToolArgs = {
  path?: String,
  url?: String,
  host?: String,
  executable?: String,
  executableName?: String,
  plugin?: String,
};

type ToolCallContext = {
  argsJson: String,
  argsSha256: String,
  args: ToolArgs,
  workspace: String,
  channel: String,
  sender: String,
  senderIsOwner: Bool,
  approval: String,
  toolCallsLeft: Long,
};

action "${TOOL_INVOKE_ACTION}" appliesTo {
  principal: [Operator, Agent, Session, Sender],
  resource: [Tool],
  context: ToolCallContext,
};
`;
