import { Writable } from 'node:stream';
import { runDemo, verdictSummary } from '/work/main/src/demo/run.js';
let raw = '';
const out = Object.assign(new Writable({ write(c, _e, cb) { raw += c.toString(); cb(); } }), { isTTY: true, columns: 120 });
const v = await runDemo({ fault: 'hang', out: process.argv[2], output: out as any, tty: true });
// a tiny terminal: cursor-up-to-line-start (F), clear to end (J), text
const screen: string[] = [''];
let row = 0;
for (let i = 0; i < raw.length; ) {
  if (raw[i] === '\x1b') {
    const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i))!;
    if (m[2] === 'F') row = Math.max(0, row - Number(m[1] || 1));
    if (m[2] === 'J') { screen.length = row + 1; screen[row] = ''; }
    i += m[0].length;
    continue;
  }
  if (raw[i] === '\n') { row++; if (screen.length <= row) screen.push(''); screen[row] = screen[row] ?? ''; }
  else screen[row] += raw[i];
  i++;
}
process.stdout.write(screen.join('\n') + '\n' + verdictSummary(v) + '\n');
