/**
 * Writing values into Cedar policy text. Cedar string escapes differ from JSON's
 * (`\u{1F600}` rather than `\uD83D\uDE00`), so JSON.stringify would produce text Cedar
 * rejects or reads differently; generated policies go through here.
 */

/** A Cedar string literal denoting exactly `value`. */
export function cedarString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    // Control and line-separator characters are escaped so the text stays one readable line.
    else if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) out += `\\u{${code.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A Cedar entity reference, e.g. `Agent::"main"`. */
export function cedarEntity(type: string, id: string): string {
  return `${type}::${cedarString(id)}`;
}

/**
 * The 1-based line and column of a UTF-8 byte offset into `text`. Cedar reports source
 * locations in bytes; JavaScript strings index UTF-16 units, so the two differ as soon
 * as a comment holds a non-ASCII character.
 */
export function lineColumnOfByte(text: string, byteOffset: number): { line: number; column: number } {
  return lineColumnOf(text, utf16IndexOfByte(text, byteOffset));
}

/** The 1-based line and column of a UTF-16 index into `text`. */
export function lineColumnOf(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: index - lineStart + 1 };
}

/** The UTF-16 index in `text` at which the UTF-8 byte offset `byteOffset` falls. */
export function utf16IndexOfByte(text: string, byteOffset: number): number {
  let bytes = 0;
  let i = 0;
  while (i < text.length && bytes < byteOffset) {
    const code = text.codePointAt(i) as number;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    i += code >= 0x10000 ? 2 : 1;
  }
  return i;
}
