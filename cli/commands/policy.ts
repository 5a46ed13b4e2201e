import { Command } from 'commander';
import { PalyraError } from '../../core/base/index.ts';
import type { CompiledPolicySet, PolicySourceFile } from '../../core/policy/index.ts';
import { invalidJsonError, jsonOption, printJson, printText, reportError } from '../output.ts';
import { action, type CliRun } from '../program.ts';
import { readableState } from '../state.ts';


type PolicyEngine = typeof import('../../core/policy/index.ts');
let engine: PolicyEngine | undefined;

/** The policy engine, loaded on first use so other commands do not pay for it at start-up. */
async function policyEngine(): Promise<PolicyEngine> {
  engine ??= await import('../../core/policy/index.ts');
  return engine;
}
const EVAL_EXIT = { allow: 0, deny: 1, ask: 3 } as const;

/** Registers `palyrad policy ...`. */
export function registerPolicyCommands(program: Command, run: CliRun): void {
  const policy = program.command('policy').description('check, evaluate and show the Cedar policies that gate tool calls (offline)');

  policy
    .command('check')
    .argument('[path...]', 'policy files or folders (default: the state directory\'s policies/)')
    .description("validate policy files strictly against the schema and run their @example lines (default: the state directory's policies/)")
    .addOption(jsonOption())
    .addHelpText('after', '\nExit codes: 0 every policy validates and every example passes, 1 a validation error or a failed example (each listed with file and line), 2 usage or I/O error.')
    .action(
      action(run, async (paths: string[], opts: { json?: boolean }, cmd: Command) => {
        const pe = await policyEngine();
        const report = await pe.checkPolicies(paths.length > 0 ? pe.readPolicyPaths(paths) : statePolicies(pe, cmd));
        if (opts.json) printJson(report);
        else {
          for (const p of report.problems) printText(pe.formatProblem(p));
          const ex = report.examples;
          const summary = `${ex.total} example(s), ${ex.passed} passed, ${ex.failed} failed`;
          printText(
            report.ok
              ? `ok: ${report.policies} policies (${report.files.length} file(s) and the built-in set), ${summary}; set ${report.policySetHash}`
              : `failed: ${report.problems.length} problem(s); ${summary}`,
          );
        }
        return report.ok ? 0 : 1;
      }),
    );

  policy
    .command('eval')
    .description('decide one tool call against the effective policy set and print allow, deny or ask')
    .requiredOption('--tool <name>', 'tool name; built-in tools (echo, fs.write, process.run, ...) need nothing else')
    .option('--capabilities <list>', 'comma-separated capabilities of a tool that is not built in (may be empty)')
    .option('--risk <level>', 'risk of a tool that is not built in: low, medium or high')
    .option('--args <json>', 'the call\'s arguments as a JSON object', '{}')
    .option('--principal <id>', 'who calls: an agent id (default "main"), or Type::"id" with Type Operator, Agent, Session or Sender')
    .option('--session <id>', 'the call comes from this session of the agent')
    .option('--owner', 'the sender is the owner (the default)')
    .option('--not-owner', 'the sender is not the owner')
    .option('--channel <name>', 'channel the message came in on (default "cli")')
    .option('--sender <id>', 'id of the channel sender')
    .option('--workspace <path>', 'workspace the call is confined to')
    .option('--calls-left <n>', 'tool calls the run may still make (default: unlimited)')
    .option('--approved', 'decide as if a human had approved this call')
    .option('--context <json>', 'context fields as a JSON object: workspace, channel, sender, senderIsOwner, approval, toolCallsLeft (flags win)')
    .option('--policies <path>', "policy file or folder to use instead of the state directory's policies/")
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nExit codes (for shell use):\n  0  allow\n  1  deny\n  3  ask: allowed only with a human approval\n  2  usage or I/O error, or the policy set does not validate (nothing was decided)',
    )
    .action(
      action(run, async (opts: EvalOptions, cmd: Command) => {
        try {
          return await evaluate(opts, cmd);
        } catch (error) {
          // Exit 1 means "deny" here, so a failure to decide must not look like one.
          reportError(error, Boolean(opts.json));
          return 2;
        }
      }),
    );

  policy
    .command('show')
    .description('print the effective policy set: every policy, where it came from, and the set hash')
    .option('--policies <path>', "policy file or folder to use instead of the state directory's policies/")
    .addOption(jsonOption())
    .addHelpText('after', '\nExit codes: 0 printed, 1 the policy set does not validate (run `palyrad policy check`), 2 usage or I/O error.')
    .action(
      action(run, async (opts: { json?: boolean; policies?: string }, cmd: Command) => {
        const pe = await policyEngine();
        const set = await effectiveSet(pe, opts.policies, cmd);
        if (opts.json) printJson(showJson(pe, set));
        else printText(showText(set));
      }),
    );
}

interface EvalOptions {
  tool: string;
  capabilities?: string;
  risk?: string;
  args: string;
  principal?: string;
  session?: string;
  owner?: boolean;
  notOwner?: boolean;
  channel?: string;
  sender?: string;
  workspace?: string;
  callsLeft?: string;
  approved?: boolean;
  context?: string;
  policies?: string;
  json?: boolean;
}

async function evaluate(opts: EvalOptions, cmd: Command): Promise<number> {
  if (opts.owner && opts.notOwner) throw new PalyraError('PALYRA_USAGE', 'Give --owner or --not-owner, not both');
  const context = opts.context === undefined ? {} : contextFlag(opts.context);
  const pe = await policyEngine();
  const request = pe.toolCallRequest({
    ...context,
    tool: {
      name: opts.tool,
      ...(opts.capabilities === undefined ? {} : { capabilities: opts.capabilities.split(',').map((s) => s.trim()).filter((s) => s !== '') }),
      ...(opts.risk === undefined ? {} : { risk: opts.risk }),
    },
    args: parseJsonFlag('--args', opts.args),
    principal: pe.parsePrincipal(opts.principal, opts.session),
    ...(opts.channel === undefined ? {} : { channel: opts.channel }),
    ...(opts.sender === undefined ? {} : { sender: opts.sender }),
    ...(opts.workspace === undefined ? {} : { workspace: opts.workspace }),
    ...(opts.owner || opts.notOwner ? { senderIsOwner: Boolean(opts.owner) } : {}),
    ...(opts.approved ? { approval: 'approved' } : {}),
    ...(opts.callsLeft === undefined ? {} : { toolCallsLeft: countFlag('--calls-left', opts.callsLeft) }),
  });
  const set = await effectiveSet(pe, opts.policies, cmd);
  const decision = pe.decideToolCall(request, set);
  if (opts.json) printJson({ ...decision, request });
  else {
    printText(`${decision.decision}: tool ${request.tool.name} for ${pe.formatPrincipal(request.principal)}`);
    for (const reason of decision.reasons) printText(`  ${reason}`);
    printText(`policies: ${decision.policies.join(', ') || '(none: deny by default)'}`);
    printText(`policy set: ${decision.policySetHash}`);
  }
  return EVAL_EXIT[decision.decision];
}

const CONTEXT_KEYS = ['workspace', 'channel', 'sender', 'senderIsOwner', 'approval', 'toolCallsLeft'];

/** `--context`: a JSON object of context fields; their types are checked with the rest of the request. */
function contextFlag(text: string): Record<string, never> {
  const value = parseJsonFlag('--context', text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PalyraError('PALYRA_INVALID_ARGUMENT', '--context must be a JSON object');
  const unknown = Object.keys(value).filter((k) => !CONTEXT_KEYS.includes(k));
  if (unknown.length > 0) throw new PalyraError('PALYRA_INVALID_ARGUMENT', `--context has unknown field "${unknown[0]}": expected ${CONTEXT_KEYS.join(', ')}`);
  return value as Record<string, never>;
}

function parseJsonFlag(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidJsonError(name, error);
  }
}

function countFlag(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new PalyraError('PALYRA_INVALID_ARGUMENT', `${name} must be a whole number, 0 or more, not "${value}"`);
  }
  return Number(value);
}

/** The operator's files: `--policies PATH`, else `<state>/policies` (none in an empty state directory). */
function statePolicies(pe: PolicyEngine, cmd: Command, path?: string): PolicySourceFile[] {
  if (path !== undefined) return pe.readPolicyPaths([path]);
  const paths = readableState(cmd);
  return paths === null ? [] : pe.readPolicyDir(pe.policiesDir(paths.root));
}

async function effectiveSet(pe: PolicyEngine, path: string | undefined, cmd: Command): Promise<CompiledPolicySet> {
  const compiled = await pe.compilePolicySet(statePolicies(pe, cmd, path), { validateRequests: true });
  if (compiled.type === 'invalid') throw pe.policyInvalidError(compiled.problems);
  return compiled.set;
}

function showJson(pe: PolicyEngine, set: CompiledPolicySet) {
  return {
    policySetHash: set.hash,
    schemaVersion: pe.POLICY_SCHEMA_VERSION,
    policies: set.policies.map((p) => ({
      id: p.id,
      effect: p.effect,
      reason: p.reason ?? null,
      source: p.origin.type === 'builtin' ? 'builtin' : p.origin.path,
      file: p.file,
      line: p.line,
      text: p.text,
    })),
  };
}

function showText(set: CompiledPolicySet): string {
  const fromFiles = set.policies.filter((p) => p.origin.type === 'file').length;
  const lines = [`// Effective policy set ${set.hash}`, `// ${set.policies.length} policies: ${set.policies.length - fromFiles} built-in, ${fromFiles} from files.`];
  for (const p of set.policies) lines.push('', `// ${p.id} (${p.effect}) from ${p.file}:${p.line}`, p.text);
  return lines.join('\n');
}
