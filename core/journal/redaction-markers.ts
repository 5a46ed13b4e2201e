/** The markers that replace redacted values, shared by every redaction rule. */

/** Why a span or value was removed; the kind is written into the marker. */
export type RedactionKind =
  | 'key'
  | 'known_secret'
  | 'bearer'
  | 'api_key_shape'
  | 'aws_key'
  | 'github_token'
  | 'slack_token'
  | 'jwt'
  | 'private_key'
  | 'url_credentials'
  | 'assignment';

/** Counts redactions across one redaction pass. */
export interface Tally {
  count: number;
}

/** The text every marker starts with; values starting with it are never re-redacted. */
export const MARKER_PREFIX = '[REDACTED:';

/**
 * The exact string that replaces a redacted value or span, e.g. `[REDACTED:bearer]`.
 *
 * Invariant: a marker is only ever a claim when the event's redaction count is above zero.
 * Payload data may contain the same text (an agent can echo it); with a count of 0 such a
 * lookalike is data, so readers must trust the count, not the text.
 */
export function redactionMarker(kind: RedactionKind): string {
  return `${MARKER_PREFIX}${kind}]`;
}

const MARKER_AT = /\[REDACTED:[a-z_]+\]/y;

/** The length of the marker that starts at `index` of `text`, or 0 when none does. */
export function markerLengthAt(text: string, index: number): number {
  if (!text.startsWith(MARKER_PREFIX, index)) return 0;
  MARKER_AT.lastIndex = index;
  return MARKER_AT.test(text) ? MARKER_AT.lastIndex - index : 0;
}
