// Text from the control plane (versions, comments, reasons, log lines) is shown to people in a
// terminal, which obeys control characters: an ESC sequence in a version could clear the screen,
// move the cursor or retitle the window. Human output shows them as visible escapes instead; --json
// and `release logs --raw` keep the text as it is.

// C0 controls, DEL and C1 controls (U+0080..U+009F: a terminal reads U+009B as CSI, like ESC [).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/g
// The same, less tab and newline: what a multi-line text or a log keeps.
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LAYOUT = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g

const NAMED: Record<string, string> = {'\t': '\\t', '\n': '\\n', '\r': '\\r'}

function visible(char: string): string {
  const code = char.codePointAt(0) ?? 0
  return NAMED[char] ?? (code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
}

/** One line of text, safe to print: every control character (newline and tab too) as a visible escape. */
export function printable(text: string): string {
  return text.replace(CONTROL, visible)
}

/** Text of several lines, or a log line: keeps tabs and newlines, shows every other control character escaped. */
export function printableLines(text: string): string {
  return text.replace(CONTROL_BUT_LAYOUT, visible)
}
