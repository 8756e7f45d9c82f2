/**
 * Text from Git content or the cluster (object names, error reasons, messages) is printed to a terminal:
 * an escape sequence in it could clear the screen, move the cursor, retitle the window or hide a line
 * behind a carriage return. These helpers make such text inert before any printer uses it.
 */

// ESC-introduced sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and two-byte escapes;
// the 8-bit C1 forms of CSI (0x9b) and OSC (0x9d) likewise.
const ESCAPE_SEQUENCES =
  // eslint-disable-next-line no-control-regex -- matching terminal escape sequences is this pattern's purpose
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u009b[0-?]*[ -/]*[@-~]|\u009d[^\u0007\u009c]*[\u0007\u009c]?|\u001b[@-Z\\-_]?/g;
// C0 controls except newline and tab, DEL, and C1 controls.
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The text with terminal control sequences and control characters removed; newlines kept. */
export function safeText(text: string): string {
  return text.replace(ESCAPE_SEQUENCES, '').replace(CONTROLS, '');
}

/** One line of foreign text: control sequences removed and newlines shown as spaces (a name, a cell). */
export function safeLine(text: string): string {
  return safeText(text).replace(/[\n\t]+/g, ' ');
}

/** A word as a POSIX shell reads it back: bare when it holds only safe characters, else single-quoted. */
export function shellArg(word: string): string {
  if (/^[A-Za-z0-9._/:@%+=,-]+$/.test(word)) return word;
  return `'${safeLine(word).replace(/'/g, `'\\''`)}'`;
}
