// The demo's own watcher: probes every cell's /health and blob path on an interval, with a timeout, to
// show health in the progress view, to tell when the whole fleet is healthy again, and, in the
// all-at-once run (which has no etape), to detect the fault with the same rule etape's probe gate uses:
// k consecutive failed probes on one cell.
import { getJson, type Fleet } from './fleet.js';

export type ProbeOutcome = 'ok' | 'fail' | 'timeout' | 'down';

export interface CellHealth {
  region: string;
  cell: string;
  /** Version the cell reported on /health (or the fleet's record when it did not answer). */
  version: string;
  health: ProbeOutcome;
  blob: ProbeOutcome;
  /** Consecutive rounds with a failed probe. */
  failStreak: number;
  /** The process that answered (or did not). */
  pid?: number;
  at: number;
}

export interface Detection {
  at: number;
  region: string;
  cell: string;
  detail: string;
}

export interface MonitorOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failed rounds on one cell that count as detection. */
  k: number;
  now?: () => number;
}

export class FleetMonitor {
  private readonly cells = new Map<string, CellHealth>();
  private timer?: NodeJS.Timeout;
  private running = false;
  private rounds: Promise<void>[] = [];
  private detection?: Detection;
  private armedAt?: number;
  private armedVersion?: string;
  private onDetectFns: Array<(d: Detection) => void> = [];
  private onRoundFns: Array<() => void> = [];
  private readonly now: () => number;

  constructor(
    private readonly fleet: Fleet,
    private readonly o: MonitorOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const round = () => {
      if (!this.running) return;
      const p = this.round().catch(() => undefined);
      this.rounds.push(p);
      void p.then(() => {
        this.rounds = this.rounds.filter((x) => x !== p);
      });
    };
    round();
    this.timer = setInterval(round, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.rounds);
  }

  /**
   * Starts looking for a fault: failures from now on count toward detection, only those of processes on
   * `version` when given (as etape's gates judge the new version only: an overloaded old process is not the
   * change's fault).
   */
  arm(at = this.now(), version?: string): void {
    this.armedAt = at;
    this.armedVersion = version;
    this.detection = undefined;
    for (const c of this.cells.values()) c.failStreak = 0;
  }

  detected(): Detection | undefined {
    return this.detection;
  }

  onDetect(fn: (d: Detection) => void): void {
    this.onDetectFns.push(fn);
  }

  onRound(fn: () => void): void {
    this.onRoundFns.push(fn);
  }

  get(region: string, cell: string): CellHealth | undefined {
    return this.cells.get(`${region}/${cell}`);
  }

  all(): CellHealth[] {
    return [...this.cells.values()];
  }

  /** Every cell answered both probes in its latest round, on `version`, measured at or after `since`. */
  allHealthy(version: string, since = 0): boolean {
    const list = this.fleet.list();
    return list.every((s) => {
      const h = this.cells.get(`${s.region}/${s.cell}`);
      return !!h && h.at >= since && h.health === 'ok' && h.blob === 'ok' && h.version === version && s.version === version;
    });
  }

  /** Resolves when `pred` holds after a round, or with false after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (pred()) return resolve(true);
      if (signal?.aborted) return resolve(false);
      let done = false;
      const finish = (v: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        this.onRoundFns = this.onRoundFns.filter((f) => f !== check);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const check = () => {
        if (pred()) finish(true);
      };
      const onAbort = () => finish(false);
      const t = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.onRoundFns.push(check);
    });
  }

  private async round(): Promise<void> {
    const started = this.now();
    await Promise.all(
      this.fleet.list().map(async (s) => {
        const id = `${s.region}/${s.cell}`;
        const prev = this.cells.get(id);
        // A cell in the middle of a requested restart is not probed: its gap is planned, not a fault.
        if (s.operation && s.state !== 'up') return;
        const base = this.fleet.url(s.region, s.cell);
        let health: ProbeOutcome = 'down';
        let blob: ProbeOutcome = 'down';
        let version = s.version;
        if (base) {
          const [h, b] = await Promise.all([getJson(`${base}/health`, this.o.timeoutMs), getJson(`${base}/blobs/probe`, this.o.timeoutMs)]);
          health = h.ok ? 'ok' : h.timedOut ? 'timeout' : h.status ? 'fail' : 'down';
          blob = b.ok ? 'ok' : b.timedOut ? 'timeout' : b.status ? 'fail' : 'down';
          const v = h.body && typeof h.body === 'object' ? (h.body as { version?: string }).version : undefined;
          if (v) version = v;
        }
        // A cell whose probes were overtaken by a restart says nothing about the new process.
        const now = this.fleet.get(s.region, s.cell);
        if (now && now.pid !== s.pid) return;
        const bad = health !== 'ok' || blob !== 'ok';
        const counts =
          this.armedAt !== undefined && started >= this.armedAt && (this.armedVersion === undefined || s.version === this.armedVersion);
        const next: CellHealth = {
          region: s.region,
          cell: s.cell,
          version,
          health,
          blob,
          failStreak: bad ? (counts ? (prev?.failStreak ?? 0) + 1 : 0) : 0,
          pid: s.pid,
          at: this.now(),
        };
        this.cells.set(id, next);
        if (counts && !this.detection && next.failStreak >= this.o.k) {
          const what = health !== 'ok' ? `health ${health}` : `blob ${blob}`;
          this.detection = { at: this.now(), region: s.region, cell: s.cell, detail: `${what} in ${this.o.k} rounds in a row` };
          for (const fn of this.onDetectFns) fn(this.detection);
        }
      }),
    );
    for (const fn of [...this.onRoundFns]) fn();
  }
}
