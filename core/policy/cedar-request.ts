import { canonicalJson, hostForm, sha256Hex, workspacePathForm, type JsonValue } from '../base/index.ts';
import type { ToolCallRequest } from './request.ts';
import { TOOL_INVOKE_ACTION } from './schema.ts';

/** A Cedar entity in its JSON form (what cedar-wasm takes). */
export interface CedarEntityJson {
  uid: { type: string; id: string };
  attrs: Record<string, JsonValue>;
  parents: { type: string; id: string }[];
}

/** The parts of a Cedar authorization call built from one tool-call request. */
export interface CedarRequest {
  principal: { type: string; id: string };
  action: { type: 'Action'; id: string };
  resource: { type: 'Tool'; id: string };
  context: Record<string, JsonValue>;
  entities: CedarEntityJson[];
}

const ACTION = { type: 'Action', id: TOOL_INVOKE_ACTION } as const;

/**
 * Builds the Cedar request for a tool call: the context record of the schema and only
 * the entities this request needs (the tool, and a session's link to its agent).
 *
 * Invariant: the context has exactly the schema's `ToolCallContext` shape; a test checks
 * built requests with Cedar's request validation, which the hot path skips for speed.
 */
export function toCedarRequest(request: ToolCallRequest): CedarRequest {
  const { principal, tool } = request;
  const argsJson = canonicalJson(request.args);
  const entities: CedarEntityJson[] = [
    { uid: { type: 'Tool', id: tool.name }, attrs: { name: tool.name, capabilities: [...tool.capabilities], risk: tool.risk }, parents: [] },
  ];
  if (principal.type === 'Session') {
    entities.push({ uid: { type: 'Session', id: principal.id }, attrs: {}, parents: [{ type: 'Agent', id: principal.agent }] });
  }
  return {
    principal: { type: principal.type, id: principal.id },
    action: ACTION,
    resource: { type: 'Tool', id: tool.name },
    context: {
      argsJson,
      argsSha256: sha256Hex(argsJson),
      args: extractArgs(request.args, request.workspace),
      workspace: request.workspace,
      channel: request.channel,
      sender: request.sender,
      senderIsOwner: request.senderIsOwner,
      approval: request.approval,
      toolCallsLeft: request.toolCallsLeft,
    },
    entities,
  };
}

/**
 * The typed fields policies can use without parsing JSON, taken from the top level of
 * the arguments whatever the tool: `path` (in its one plain spelling, workspacePathForm),
 * `url` (and its lowercased `host`), `executable` (`argv[0]`, or `command`) and its last
 * path component `executableName`, and `plugin`. A field is absent when the argument is
 * missing or not a string, so policies must test `context.args has path` first (strict
 * validation insists on it).
 */
export function extractArgs(args: { [key: string]: JsonValue }, workspace = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof args.path === 'string') out.path = workspacePathForm(args.path, workspace);
  if (typeof args.url === 'string') {
    out.url = args.url;
    const host = hostOf(args.url);
    if (host !== undefined) out.host = host;
  }
  const argv = args.argv;
  if (Array.isArray(argv) && typeof argv[0] === 'string') out.executable = argv[0];
  else if (typeof args.command === 'string') out.executable = args.command;
  // Security: `/usr/bin/cat` runs `cat` too (an allowlisted path also allows its bare
  // name): a forbid on executableName catches every spelling.
  if (out.executable !== undefined) out.executableName = out.executable.slice(out.executable.lastIndexOf('/') + 1);
  if (typeof args.plugin === 'string') out.plugin = args.plugin;
  return out;
}

function hostOf(url: string): string | undefined {
  try {
    return hostForm(new URL(url)) || undefined;
  } catch {
    return undefined;
  }
}
