import { POLICY_RISKS, type PolicyCapability, type PolicyRisk } from './schema.ts';

/** A tool as policy sees it: plain data, no implementation. */
export interface PolicyTool {
  name: string;
  capabilities: readonly PolicyCapability[];
  risk: PolicyRisk;
}

/**
 * How the built-in tools describe themselves to policy, so `policy eval --tool fs.write`
 * and `@example tool=fs.write` work without spelling out capabilities.
 *
 * Invariant: this mirrors the definitions in core/tools. It is a copy rather than an
 * import because core/policy may import only core/base; the daemon always passes the
 * registered tool's own capabilities, so this table only serves offline evaluation.
 */
const BUILTIN_TOOLS: readonly PolicyTool[] = [
  { name: 'echo', capabilities: [], risk: 'low' },
  { name: 'sleep', capabilities: [], risk: 'low' },
  { name: 'fs.read', capabilities: ['fs_read'], risk: 'low' },
  { name: 'fs.list', capabilities: ['fs_read'], risk: 'low' },
  { name: 'fs.write', capabilities: ['fs_write'], risk: 'medium' },
  { name: 'process.run', capabilities: ['process'], risk: 'high' },
  { name: 'http.fetch', capabilities: ['network'], risk: 'medium' },
  { name: 'plugin.run', capabilities: ['plugin'], risk: 'medium' },
  // Writing or deleting memory changes what later runs believe, so it is not "read-only".
  { name: 'memory.put', capabilities: ['memory'], risk: 'medium' },
  { name: 'memory.search', capabilities: ['memory'], risk: 'low' },
  { name: 'memory.delete', capabilities: ['memory'], risk: 'medium' },
  // Marks a fact for post-run learning: the same effect as memory.put, only once the run completes.
  { name: 'memory.remember', capabilities: ['memory'], risk: 'medium' },
];

const BY_NAME = new Map(BUILTIN_TOOLS.map((t) => [t.name, t]));

/** The built-in tool of that name, or undefined. */
export function builtinTool(name: string): PolicyTool | undefined {
  return BY_NAME.get(name);
}

/** Every built-in tool, in a stable order. */
export function builtinTools(): readonly PolicyTool[] {
  return BUILTIN_TOOLS;
}

/**
 * Whether `tool` asks for no more than `granted` did: no capability `granted` lacked and no
 * higher risk. A grant made for one definition of a tool name (a session approval, a run's
 * decision) holds for another only so far.
 */
export function toolWithin(tool: { capabilities: readonly string[]; risk: string }, granted: { capabilities: readonly string[]; risk: string }): boolean {
  const rank = (risk: string): number => {
    const at = POLICY_RISKS.indexOf(risk as PolicyRisk);
    return at < 0 ? POLICY_RISKS.length : at; // an unknown risk ranks above every known one
  };
  return tool.capabilities.every((c) => granted.capabilities.includes(c)) && rank(tool.risk) <= rank(granted.risk);
}
