/**
 * Splits Cedar policy text into its policies with their offsets.
 *
 * cedar-wasm's `policySetTextToParts` gives each policy's exact text but not where it
 * is, and in the order of its internal ids (policy0, policy1, policy10, ...), not the
 * file's. Diagnostics, examples and generated ids (`<file>#<n>`) need source positions,
 * so this small lexer finds them; the caller checks its pieces against Cedar's parts, so
 * Cedar stays the authority on what the policies are.
 *
 * In Cedar text a `;` outside string literals and `//` comments ends a policy and
 * appears nowhere else, which is all the lexer needs to know.
 */

/** One policy's text as written (from its first token to its `;`) and its UTF-16 offset. */
export interface PolicyPiece {
  text: string;
  offset: number;
}

/** The policies of `text` in source order. Text after the last `;` is ignored (the parser reports it). */
export function splitPolicies(text: string): PolicyPiece[] {
  const pieces: PolicyPiece[] = [];
  let start = -1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end + 1;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    if (start < 0) start = i;
    if (ch === '"') {
      i = endOfString(text, i);
      continue;
    }
    if (ch === ';') {
      pieces.push({ text: text.slice(start, i + 1), offset: start });
      start = -1;
    }
    i++;
  }
  return pieces;
}

/** The index just after the string literal that opens at `open`. */
function endOfString(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i++;
  }
  return text.length;
}

/**
 * True when the pieces are exactly Cedar's parts (as multisets). A mismatch means the
 * lexer and Cedar disagree, and positions cannot be trusted.
 */
export function samePolicies(pieces: readonly PolicyPiece[], cedarParts: readonly string[]): boolean {
  if (pieces.length !== cedarParts.length) return false;
  const a = pieces.map((p) => p.text).sort();
  const b = [...cedarParts].sort();
  return a.every((t, i) => t === b[i]);
}
