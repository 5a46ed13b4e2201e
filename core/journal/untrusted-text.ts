import { escapeTerminalControls } from '../base/index.ts';

/**
 * Text taken from a journal under audit (a kind, an origin, a key name, a decoder's
 * complaint) goes into problem messages that an auditor reads in a terminal and that
 * `--json` copies verbatim. Such text is the attacker's: it may be megabytes long or
 * nested past the stack, and hold escape sequences that rewrite the terminal (ESC, the
 * 8-bit CSI U+009B) or reorder what is shown (bidi overrides). These helpers quote it
 * short and inert.
 */

/** Characters of untrusted text a message shows at most (the rest is summed up). */
const SHOWN = 64;

/** Every terminal control escaped, newlines and tabs too: messages are one line. */
function escapeUnsafe(text: string): string {
  return escapeTerminalControls(text);
}

/** A string cut to `max` characters (never inside a surrogate pair), saying how long it was. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/**
 * An untrusted value as a message shows it: a string in double quotes, shortened and
 * with control characters escaped; other values by their type (never serialized, so a
 * value nested a million deep costs nothing).
 */
export function quoteUntrusted(value: unknown, max = SHOWN): string {
  if (typeof value === 'string') return `"${escapeUnsafe(cut(value, max).replace(/["\\]/g, (c) => `\\${c}`))}"`;
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'binary data';
  if (value instanceof Date) return 'a timestamp';
  if (typeof value === 'object') return 'a map or an extension value';
  return `a ${typeof value}`;
}

/** Untrusted prose (say, a decoder's error naming bytes it read) made safe to show unquoted. */
export function untrustedProse(text: string, max = 200): string {
  return escapeUnsafe(cut(text, max));
}
