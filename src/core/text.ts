// Text from people and from the outside (incident titles, reasons, command output) on its way to a terminal:
// without escape sequences, a title cannot clear the screen, retitle the window or hide the lines before it.

// CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), other two-byte ESC sequences, then any C0/C1 control
// except tab and newline.
// eslint-disable-next-line no-control-regex
const SEQUENCES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `s` with terminal escape sequences removed and other control characters shown as U+FFFD. */
export function printable(s: string): string {
  return s.replace(SEQUENCES, '').replace(CONTROLS, '\uFFFD');
}

/** One line of `s`: printable, with line breaks as spaces. */
export function printableLine(s: string): string {
  return printable(s.replace(/[\r\n\t]+/g, ' '));
}
