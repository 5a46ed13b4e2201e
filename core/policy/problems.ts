import { PalyraError } from '../base/index.ts';

/** What kind of check found a problem. */
export type PolicyProblemKind =
  /** A file could not be read. */
  | 'io'
  /** Cedar could not parse the text. */
  | 'parse'
  /** A policy id is missing, reserved or used twice, or the text is a template. */
  | 'id'
  /** Strict validation against the schema failed. */
  | 'validation'
  /** An `@example` line is malformed or its request got another decision. */
  | 'example';

/** One thing wrong with a policy file, located to the line and column. */
export interface PolicyProblem {
  kind: PolicyProblemKind;
  /** The file path, or `builtin:default.cedar` for the built-in set. */
  file: string;
  line: number;
  column: number;
  /** The policy the problem is in, when it is in one. */
  policyId?: string;
  /** One sentence; Cedar's help text, when it gave one, follows in parentheses. */
  message: string;
}

/** `file:line:column: message`, the form editors and CI logs link to. */
export function formatProblem(problem: PolicyProblem): string {
  const where = problem.policyId === undefined ? '' : ` [policy ${problem.policyId}]`;
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.kind} error: ${problem.message}${where}`;
}

/** Cedar's message with its help appended, as one sentence. */
export function cedarMessage(error: { message: string; help: string | null }): string {
  return error.help ? `${error.message} (${error.help})` : error.message;
}

/**
 * The error a refused policy set raises. The message names the first problem (so a log
 * line is useful alone); `details.problems` lists all of them.
 */
export function policyInvalidError(problems: readonly PolicyProblem[]): PalyraError {
  const first = problems[0];
  const head = first === undefined ? 'no details' : formatProblem(first);
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new PalyraError('PALYRA_POLICY_INVALID', `Policy set is invalid: ${head}${more}`, { details: { problems: [...problems] } });
}
