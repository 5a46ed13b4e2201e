import { canonicalJson, invalidArgument, sha256Hex } from '../base/index.ts';
import { cedarEntity, cedarString } from './cedar-text.ts';
import { formatPrincipal, type PolicyPrincipal, type ToolCallRequest } from './request.ts';

/** A generated policy file, not yet validated or written. */
export interface GeneratedPolicy {
  /** The policy's `@id`. */
  policyId: string;
  /** File name inside the policies folder. */
  fileName: string;
  text: string;
}

/** What an `always` approval was given for. */
export interface AlwaysApproval {
  approvalId: string;
  request: ToolCallRequest;
  approvedBy: string;
  /** Unix ms of the approval. */
  approvedAt: number;
  /** Bind the exact arguments (default), or allow the tool with any arguments. */
  bindArgs: boolean;
}

/** Arguments up to this length are matched as readable JSON text; longer ones by their SHA-256. */
const READABLE_ARGS_MAX = 256;

/**
 * Writes an `always` approval as a readable Cedar permit, with comments saying who
 * approved what and when, and an `@example` that `policy check` runs, so the file
 * explains and tests itself. It is as narrow as the approved call allows:
 * - the principal's agent (a session's approval covers the agent's later sessions),
 *   or exactly the operator or sender;
 * - exactly that tool, and only while its capabilities stay within those approved;
 * - the owner only, when an owner's call was approved;
 * - the exact arguments, unless `bindArgs` is false.
 */
export function approvalPolicy(approval: AlwaysApproval): GeneratedPolicy {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(approval.approvalId)) throw invalidArgument(`Approval id "${approval.approvalId}" cannot name a policy file`);
  const { request } = approval;
  const policyId = `approved.${approval.approvalId}`;
  const argsJson = canonicalJson(request.args);
  // Strict validation forbids an empty set literal, hence isEmpty() for a tool without capabilities.
  const caps = request.tool.capabilities;
  const conditions = [caps.length === 0 ? 'resource.capabilities.isEmpty()' : `${cedarList(caps)}.containsAll(resource.capabilities)`];
  if (request.senderIsOwner) conditions.push('context.senderIsOwner');
  if (approval.bindArgs) {
    conditions.push(argsJson.length <= READABLE_ARGS_MAX ? `context.argsJson == ${cedarString(argsJson)}` : `context.argsSha256 == ${cedarString(sha256Hex(argsJson))}`);
  }
  const who = scopeOf(request.principal);
  const at = new Date(approval.approvedAt).toISOString();
  const example = exampleLine(request, approval.bindArgs, argsJson);
  const text = [
    `// Approved "always" by ${comment(approval.approvedBy)} at ${at} (approval ${approval.approvalId}).`,
    `// Call: tool ${comment(request.tool.name)} for ${comment(formatPrincipal(request.principal))} on channel ${comment(request.channel || '(none)')}.`,
    `// Arguments: ${approval.bindArgs ? comment(truncate(argsJson, 400)) : 'any'}`,
    ...(example ? [example] : []),
    `@id(${cedarString(policyId)})`,
    `@reason(${cedarString(`Approved always by ${approval.approvedBy} on ${at.slice(0, 10)}: tool ${request.tool.name} for ${who.label}${approval.bindArgs ? ' with these exact arguments' : ''}`)})`,
    'permit (',
    `  ${who.scope},`,
    '  action == Action::"tool.invoke",',
    `  resource == ${cedarEntity('Tool', request.tool.name)}`,
    ')',
    'when {',
    conditions.map((c) => `  ${c}`).join(' &&\n'),
    '};',
    '',
  ].join('\n');
  return { policyId, fileName: `approved-${approval.approvalId}.cedar`, text };
}

function scopeOf(principal: PolicyPrincipal): { scope: string; label: string } {
  switch (principal.type) {
    case 'Session':
      return { scope: `principal in ${cedarEntity('Agent', principal.agent)}`, label: `agent ${principal.agent}` };
    case 'Agent':
      return { scope: `principal in ${cedarEntity('Agent', principal.id)}`, label: `agent ${principal.id}` };
    case 'Operator':
    case 'Sender':
      return { scope: `principal == ${cedarEntity(principal.type, principal.id)}`, label: `${principal.type.toLowerCase()} ${principal.id}` };
  }
}

/** The `@example` line reproducing the approved call, or null when a value cannot be written in one. */
function exampleLine(request: ToolCallRequest, bindArgs: boolean, argsJson: string): string | null {
  // Arguments matched by hash would need the whole JSON on the line; those files carry no example.
  if (bindArgs && argsJson.length > READABLE_ARGS_MAX) return null;
  const p = request.principal;
  const parts = [
    'allow',
    `tool=${request.tool.name}`,
    `capabilities=${request.tool.capabilities.join(',')}`,
    `risk=${request.tool.risk}`,
    `principal=${formatPrincipal(p.type === 'Session' ? { type: 'Agent', id: p.agent } : p)}`,
    ...(p.type === 'Session' ? [`session=${p.id}`] : []),
    // Escaping every non-ASCII character keeps the value on one line and free of quotes.
    ...(bindArgs ? [`args=${argsJson.replace(/[^\x20-\x7e]|'/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}`] : []),
    request.senderIsOwner ? 'owner' : 'not-owner',
  ];
  // Single quotes group a value with blanks in it; a value holding one cannot be written.
  if (parts.some((v) => v.includes("'") || /[\n\r]/.test(v))) return null;
  return `// @example ${parts.map((v) => (/\s/.test(v) ? v.replace(/^([a-z]+=)?(.*)$/s, "$1'$2'") : v)).join(' ')}`;
}

function cedarList(values: readonly string[]): string {
  return `[${values.map(cedarString).join(', ')}]`;
}

/** Text safe inside a `//` comment: one line, control characters shown as escapes. */
function comment(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
