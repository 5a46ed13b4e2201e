/**
 * Turning bytes a tool read (a file, a process's stdout) into JSON-safe text when the
 * bytes may have been cut at a cap, possibly in the middle of a UTF-8 character.
 */
import { Buffer } from 'node:buffer';

/** Text as a tool returns it: UTF-8 when the bytes are valid UTF-8, else base64. */
export interface DecodedText {
  text: string;
  encoding: 'utf8' | 'base64';
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes bytes for a model: valid UTF-8 as text, anything else as base64 so no byte is
 * silently replaced. When `cut` is true the bytes end at a cap, so an incomplete trailing
 * character is dropped rather than making the whole text look binary.
 */
export function decodeForModel(bytes: Uint8Array, cut: boolean): DecodedText {
  const body = cut ? bytes.subarray(0, completeUtf8Length(bytes)) : bytes;
  try {
    return { text: strictUtf8.decode(body), encoding: 'utf8' };
  } catch {
    return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), encoding: 'base64' };
  }
}

/**
 * Decodes captured process output leniently (invalid sequences become U+FFFD): process
 * output is read as text by the model, and a stray byte should not turn it into base64.
 */
export function decodeLenient(bytes: Uint8Array, cut: boolean): string {
  const body = cut ? bytes.subarray(0, completeUtf8Length(bytes)) : bytes;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/** The length of `bytes` without a trailing, incomplete UTF-8 sequence (at most 3 bytes). */
export function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  // Look back at most 3 bytes for the lead byte of the last character.
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back] as number;
    if ((b & 0xc0) === 0x80) continue; // A continuation byte: keep looking for the lead.
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/**
 * The output limit a tool needs to return `rawBytes` of text without the registry's cap
 * refusing it. Security: the registry's cap is a backstop; each tool caps its raw bytes
 * itself, and JSON escaping can grow a control byte sixfold (`\u0001`), hence the factor.
 */
export function jsonBudget(rawBytes: number): number {
  return rawBytes * 6 + 64 * 1024;
}
