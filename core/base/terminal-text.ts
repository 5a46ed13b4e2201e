/**
 * Characters that act on a terminal instead of showing, or hide what is shown: C0
 * controls (ESC starts sequences that move the cursor, retitle the window or rewrite the
 * screen; CR overwrites a line), DEL, C1 controls (U+009B is a one-character CSI), the
 * line and paragraph separators, bidi controls (they reorder what is shown) and the
 * zero-width no-break space. Text from journals, tapes, models and clients may hold any.
 * An SGR (colour) sequence is matched whole, so a caller can keep its own colours.
 */
const CONTROLS = /(\x1b\[[0-9;]*m)|[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * `text` with every such character shown as its `\uXXXX` escape. `keepLayout`: tab and
 * newline stay (multi-line output); `keepColour`: SGR colour sequences stay (output the
 * caller coloured itself). In JSON text the escapes are the same value.
 */
export function escapeTerminalControls(text: string, options: { keepLayout?: boolean; keepColour?: boolean } = {}): string {
  return text.replace(CONTROLS, (match: string, sgr: string | undefined) => {
    if (sgr !== undefined) return options.keepColour ? sgr : `${escapeChar('\x1b')}${sgr.slice(1)}`;
    if (options.keepLayout && (match === '\n' || match === '\t')) return match;
    return escapeChar(match);
  });
}

function escapeChar(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
