import { canonicalJson, invalidArgument, type JsonValue } from '../base/index.ts';
import { builtinTool, type PolicyTool } from './builtin-tools.ts';
import { cedarEntity } from './cedar-text.ts';
import { POLICY_CAPABILITIES, POLICY_RISKS, type PolicyCapability, type PolicyRisk } from './schema.ts';

/** Who asks for a tool call. A session always names the agent it belongs to. */
export type PolicyPrincipal =
  | { type: 'Operator'; id: string }
  | { type: 'Agent'; id: string }
  | { type: 'Session'; id: string; agent: string }
  | { type: 'Sender'; id: string };

/** Whether a human has approved this call (`once`, or a remembered `session` approval). */
export type ApprovalState = 'none' | 'approved';

/** Everything policy knows about one proposed tool call: plain data, no functions. */
export interface ToolCallRequest {
  principal: PolicyPrincipal;
  tool: PolicyTool;
  /** The call's input object, as the model proposed it. */
  args: { [key: string]: JsonValue };
  /** Absolute path of the workspace the call is confined to ("" when none). */
  workspace: string;
  /** The channel the triggering message came in on (for example "http", "telegram", "cli"). */
  channel: string;
  /** Id of the channel sender ("" when none, e.g. an operator at the console). */
  sender: string;
  senderIsOwner: boolean;
  approval: ApprovalState;
  /** Tool calls the run may still make; 0 or less means the budget is spent. */
  toolCallsLeft: number;
}

/** A request with every field optional except the tool's name, as the CLI and examples give it. */
export interface ToolCallRequestInput {
  principal?: PolicyPrincipal;
  tool: { name: string; capabilities?: readonly string[]; risk?: string };
  args?: unknown;
  workspace?: string;
  channel?: string;
  sender?: string;
  senderIsOwner?: boolean;
  approval?: string;
  toolCallsLeft?: number;
}

/** The principal used when none is given: the default agent. */
export const DEFAULT_PRINCIPAL: PolicyPrincipal = { type: 'Agent', id: 'main' };

/**
 * Builds a checked request from loose input, filling defaults (agent "main", owner,
 * channel "cli", no approval, unlimited budget). A built-in tool's capabilities and risk
 * come from the built-in table unless given; any other tool must state both, because
 * guessing would silently change what policy sees.
 * @throws PalyraError PALYRA_INVALID_ARGUMENT naming the bad field.
 */
export function toolCallRequest(input: ToolCallRequestInput): ToolCallRequest {
  const name = input.tool.name;
  if (typeof name !== 'string' || name === '') throw invalidArgument('Tool name must be a non-empty string');
  const known = builtinTool(name);
  const capabilities = input.tool.capabilities ?? known?.capabilities;
  const risk = input.tool.risk ?? known?.risk;
  if (capabilities === undefined || risk === undefined) {
    throw invalidArgument(`Tool "${name}" is not a built-in tool: give its capabilities and risk`);
  }
  const args = input.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw invalidArgument('Tool arguments must be a JSON object');
  try {
    canonicalJson(args);
  } catch (error) {
    throw invalidArgument(`Tool arguments are not JSON: ${(error as Error).message}`);
  }
  const toolCallsLeft = input.toolCallsLeft ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(toolCallsLeft)) throw invalidArgument(`Tool calls left must be an integer, not "${toolCallsLeft}"`);
  const approval = input.approval ?? 'none';
  if (approval !== 'none' && approval !== 'approved') throw invalidArgument(`Approval must be "none" or "approved", not "${approval}"`);
  return {
    principal: checkPrincipal(input.principal ?? DEFAULT_PRINCIPAL),
    tool: { name, capabilities: checkCapabilities(capabilities), risk: checkRisk(risk) },
    args: args as { [key: string]: JsonValue },
    workspace: checkString('workspace', input.workspace ?? ''),
    channel: checkString('channel', input.channel ?? 'cli'),
    sender: checkString('sender', input.sender ?? ''),
    senderIsOwner: checkBool('senderIsOwner', input.senderIsOwner ?? true),
    approval,
    toolCallsLeft,
  };
}

/**
 * Parses a principal as written on the command line or in an example: `Type::"id"` for
 * any principal type, or a bare id meaning an agent. With `session`, the principal is
 * that session of the agent (the given principal must then be an agent).
 */
export function parsePrincipal(text: string | undefined, session?: string): PolicyPrincipal {
  let principal: PolicyPrincipal = DEFAULT_PRINCIPAL;
  if (text !== undefined) {
    const m = /^(Operator|Agent|Session|Sender)::"((?:[^"\\]|\\.)*)"$/.exec(text);
    if (m) principal = { type: m[1] as 'Agent', id: (m[2] as string).replace(/\\(.)/g, '$1') };
    else if (/^[^\s":]+$/.test(text)) principal = { type: 'Agent', id: text };
    else throw invalidArgument(`Principal must be an agent id or Type::"id" (Operator, Agent, Session, Sender), not "${text}"`);
  }
  if (session === undefined) {
    if (principal.type === 'Session') throw invalidArgument('A Session principal needs its agent: give the agent as the principal and the session separately');
    return principal;
  }
  if (principal.type !== 'Agent') throw invalidArgument(`A session belongs to an agent, not to ${formatPrincipal(principal)}`);
  return checkPrincipal({ type: 'Session', id: session, agent: principal.id });
}

/** The Cedar spelling of a principal, e.g. `Agent::"main"`. */
export function formatPrincipal(principal: PolicyPrincipal): string {
  return cedarEntity(principal.type, principal.id);
}

function checkPrincipal(p: PolicyPrincipal): PolicyPrincipal {
  if (typeof p.id !== 'string' || p.id === '') throw invalidArgument(`${p.type} id must be a non-empty string`);
  if (p.type === 'Session' && (typeof p.agent !== 'string' || p.agent === '')) throw invalidArgument('Session agent must be a non-empty string');
  return p;
}

function checkCapabilities(list: readonly string[]): PolicyCapability[] {
  if (!Array.isArray(list)) throw invalidArgument('Tool capabilities must be a list');
  for (const c of list) {
    if (!POLICY_CAPABILITIES.includes(c as PolicyCapability)) {
      throw invalidArgument(`Unknown capability "${c}": expected one of ${POLICY_CAPABILITIES.join(', ')}`);
    }
  }
  return [...new Set(list as PolicyCapability[])];
}

function checkRisk(risk: string): PolicyRisk {
  if (!POLICY_RISKS.includes(risk as PolicyRisk)) throw invalidArgument(`Risk must be one of ${POLICY_RISKS.join(', ')}, not "${risk}"`);
  return risk as PolicyRisk;
}

function checkString(field: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidArgument(`${field} must be a string`);
  return value;
}

function checkBool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${field} must be true or false`);
  return value;
}
