/**
 * Text from others, made safe for a terminal. Messages, file names, error
 * texts and anything else a peer chose reach the CLI's output; a terminal
 * interprets some characters as commands (ECMA-48 control functions: C0,
 * ESC sequences, C1, DEL) and reorders text around Unicode bidi controls
 * (UAX #9). A peer could then erase lines, fake messages, set the window
 * title or write the clipboard (OSC 52), or make `gpj.exe` read as `exe.jpg`.
 *
 * {@link visible} shows every such character as visible text, so it is
 * printed and never interpreted: C0 and DEL in caret notation (`^[` for ESC,
 * `^M` for CR, `^G` for BEL, `^?` for DEL, as `cat -v` shows them), C1 and
 * bidi/line-separator controls as `<U+XXXX>`, and a line break as `⏎` so
 * that one message stays on one line and cannot start a line that looks
 * like another message. Everything else (emoji and their ZWJ sequences,
 * variation selectors, tag characters of flags, CJK, tabs) is left intact.
 *
 * {@link jsonLine} is the `--json` form: the exact data, with the same
 * characters written as JSON `\u` escapes so that a JSON line shown on a
 * terminal is safe too. Parsing it gives back every character unchanged.
 */

/**
 * Characters shown visibly: a CRLF pair, C0 except TAB, DEL, C1, ALM
 * (U+061C), LRM/RLM (U+200E/F), LINE/PARAGRAPH SEPARATOR (U+2028/9), the
 * embeddings and overrides U+202A–U+202E, and the isolates U+2066–U+2069.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /\r\n|[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** The same set less C0, which JSON.stringify escapes itself, for the JSON form. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** Shown for a line break inside one line of output. */
export const LINE_BREAK_MARK = '⏎'

/** `<U+202E>` for a code point. */
function codePointName (cp: number): string {
  return `<U+${cp.toString(16).toUpperCase().padStart(4, '0')}>`
}

function show (ch: string): string {
  if (ch === '\n' || ch === '\r\n') return LINE_BREAK_MARK
  const cp = ch.charCodeAt(0)
  if (cp < 0x20) return '^' + String.fromCharCode(cp + 0x40)
  if (cp === 0x7f) return '^?'
  return codePointName(cp)
}

/**
 * `text` with every terminal control character shown visibly (see the file
 * comment); the result contains no character a terminal interprets, other
 * than TAB. Apply it to whole output lines: our own text has no such
 * characters, so nothing of ours changes.
 */
export function visible (text: string): string {
  return text.replace(UNSAFE, show)
}

/** `data` as one JSON line (no newline at the end) that parses back to exactly `data`. */
export function jsonLine (data: unknown): string {
  // JSON.stringify already escapes C0 (and so ESC); the rest is escaped here.
  return JSON.stringify(data).replace(UNSAFE_IN_JSON, ch => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
