// The demo's live view: a compact table per region and cell, redrawn in place with ANSI codes when the
// output is a terminal, or plain timestamped lines otherwise (CI logs, pipes, `--json` runs on stderr).

export type Health = 'ok' | 'fail' | 'timeout' | 'down' | 'unknown';

export interface CellView {
  cell: string;
  version: string;
  health: Health;
  /** What is happening to it: deploying, baking, verified, hung, rolling back, forced, … */
  stage: string;
  bad: boolean;
}

export interface RegionView {
  id: string;
  geography: string;
  pair?: string;
  canary: boolean;
  cells: CellView[];
  ok: number;
  failed: number;
}

export interface Frame {
  title: string;
  /** One or two lines under the title: the rollout's phase, wave and bake, or the run's step. */
  status: string[];
  regions: RegionView[];
  startedAt: number;
}

export interface View {
  /** A line event: printed as a line (plain) or kept in the recent-events list (TTY). */
  event(text: string, at?: number): void;
  /** Shows a frame (TTY: redraws; plain: ignored apart from events). */
  frame(f: () => Frame): void;
  /** Starts a run: elapsed times count from `at`. */
  startRun(at: number): void;
  /** Ends the current run's live area, leaving its last frame on screen. */
  endRun(): void;
  /** Prints text as is, after the live area. */
  print(text: string): void;
  close(): void;
}

const C = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
};

export function createView(
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  opts: { tty?: boolean; now?: () => number } = {},
): View {
  const tty = opts.tty ?? !!out.isTTY;
  const now = opts.now ?? Date.now;
  return tty ? new TtyView(out, now) : new PlainView(out, now);
}

class PlainView implements View {
  private startedAt: number;
  constructor(
    private out: NodeJS.WritableStream,
    private now: () => number,
  ) {
    this.startedAt = now();
  }
  event(text: string, at = this.now()): void {
    this.out.write(`[${fmtElapsed(at - this.startedAt)}] ${text}\n`);
  }
  frame(f: () => Frame): void {
    this.startedAt = f().startedAt;
  }
  startRun(at: number): void {
    this.startedAt = at;
  }
  endRun(): void {}
  print(text: string): void {
    this.out.write(text.endsWith('\n') ? text : text + '\n');
  }
  close(): void {}
}

class TtyView implements View {
  private height = 0;
  private source?: () => Frame;
  private events: string[] = [];
  private timer?: NodeJS.Timeout;
  private startedAt: number;
  private closed = false;

  constructor(
    private out: NodeJS.WritableStream & { columns?: number },
    private now: () => number,
  ) {
    this.startedAt = now();
    this.out.write('\x1b[?25l'); // hide the cursor while redrawing
  }

  event(text: string, at = this.now()): void {
    this.events.push(`${C.dim}${fmtElapsed(at - this.startedAt).padStart(6)}${C.reset} ${text}`);
    if (this.events.length > 10) this.events.shift();
  }

  frame(f: () => Frame): void {
    this.source = f;
    this.startedAt = f().startedAt;
    if (!this.timer) {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
    this.draw();
  }

  startRun(at: number): void {
    this.startedAt = at;
  }

  endRun(): void {
    this.draw();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.source = undefined;
    this.height = 0;
    this.events = [];
    this.out.write('\n');
  }

  print(text: string): void {
    this.out.write(text.endsWith('\n') ? text : text + '\n');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.out.write('\x1b[?25h');
  }

  private draw(): void {
    if (!this.source || this.closed) return;
    const cols = this.out.columns && this.out.columns >= 60 ? this.out.columns : 120;
    const lines = render(this.source(), this.events, this.now(), cols);
    let s = '';
    if (this.height > 0) s += `\x1b[${this.height}F`;
    s += '\x1b[J' + lines.join('\n') + '\n';
    this.out.write(s);
    this.height = lines.length;
  }
}

const HEALTH_GLYPH: Record<Health, string> = {
  ok: `${C.green}●${C.reset}`,
  fail: `${C.red}✖${C.reset}`,
  timeout: `${C.red}✖${C.reset}`,
  down: `${C.red}○${C.reset}`,
  unknown: `${C.dim}·${C.reset}`,
};

function render(f: Frame, events: string[], now: number, columns: number): string[] {
  const lines: string[] = [];
  lines.push(`${C.bold}${f.title}${C.reset}  ${C.dim}t+${fmtElapsed(now - f.startedAt)}${C.reset}`);
  for (const s of f.status) lines.push(`  ${s}`);
  lines.push('');
  const nameW = Math.max(10, ...f.regions.map((r) => r.id.length + (r.canary ? 2 : 0)));
  // Every cell gets the same width, and every row the same cells column, so the columns line up.
  const stageW = Math.max(0, ...f.regions.flatMap((r) => r.cells.map((c) => c.stage.length)));
  const versionW = Math.max(2, ...f.regions.flatMap((r) => r.cells.map((c) => c.version.length)));
  const cellsOf = (r: RegionView) =>
    r.cells
      .map((c) => {
        const v = c.bad ? `${C.red}${c.version.padEnd(versionW)}${C.reset}` : c.version.padEnd(versionW);
        const stage = stageW ? ` ${stageColour(c.stage)}${c.stage.padEnd(stageW)}${C.reset}` : '';
        return `${v} ${HEALTH_GLYPH[c.health]}${stage}`;
      })
      .join('  ');
  const cellsW = Math.max(34, ...f.regions.map((r) => stripAnsi(cellsOf(r)).length));
  lines.push(
    `${C.dim}  ${'region'.padEnd(nameW)}  ${'pair'.padEnd(16)}  ${'cells: version, health, stage'.padEnd(cellsW + 2)}customers ok / failed${C.reset}`,
  );
  for (const r of f.regions) {
    const name = (r.id + (r.canary ? ' ★' : '')).padEnd(nameW);
    const pair = (r.pair ? `↔ ${r.pair}` : r.canary ? 'canary' : '').padEnd(16);
    const cells = cellsOf(r);
    const visible = stripAnsi(cells).length;
    const pad = ' '.repeat(Math.max(1, cellsW + 2 - visible));
    const failed = r.failed > 0 ? `${C.red}${r.failed}${C.reset}` : '0';
    lines.push(`  ${name}  ${C.dim}${pair}${C.reset}  ${cells}${pad}${String(r.ok).padStart(6)} / ${failed}`);
  }
  if (events.length) {
    lines.push('');
    for (const e of events) lines.push(`  ${e}`);
  }
  // A line wider than the terminal would wrap and break the redraw: cut every line to fit.
  return lines.map((l) => (stripAnsi(l).length > columns ? truncateAnsi(l, columns) : l));
}

function stageColour(stage: string): string {
  if (/hung|fail|crash|down/.test(stage)) return C.red;
  if (/deploy|bak|roll|forc|restart|revert/.test(stage)) return C.yellow;
  if (/verified|back/.test(stage)) return C.green;
  return C.dim;
}

export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

function truncateAnsi(s: string, width: number): string {
  let out = '';
  let seen = 0;
  for (let i = 0; i < s.length && seen < width - 1;) {
    if (s[i] === '\x1b') {
      // eslint-disable-next-line no-control-regex -- an ANSI escape sequence, kept whole
      const m = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(s.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length;
        continue;
      }
    }
    out += s[i++];
    seen++;
  }
  return out + '…' + C.reset;
}

export function fmtElapsed(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}
