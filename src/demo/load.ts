// Customer traffic for the demo: steady GET/PUT requests to every region, at a bounded rate and count,
// each with a timeout. Each region's front door spreads requests over its cells that are in rotation: a
// running process that was not drained (a hung process is running: its requests time out, as customers'
// did). A region with no cell in rotation sends its customers to the cells of the other regions, as a global
// load balancer does. Counts successes, errors and timeouts per customer region and per serving cell, and
// per second for the timeline.
import http from 'node:http';

export type Outcome = 'ok' | 'error' | 'timeout';

export interface LoadTarget {
  region: string;
  cells: string[];
}

export interface LoadOptions {
  targets: LoadTarget[];
  /** Base URL of a cell in rotation, or undefined while it is down or drained. */
  resolve: (region: string, cell: string) => string | undefined;
  /** Requests per second to each region. */
  ratePerRegion?: number;
  /** Per-request timeout: a customer's patience. */
  timeoutMs?: number;
  /** Stop after this many requests in all. */
  maxRequests?: number;
  /** Stop after this long. */
  maxDurationMs?: number;
  /** Share of requests that are PUTs. */
  putShare?: number;
  /** Width of a timeline bucket. */
  bucketMs?: number;
  now?: () => number;
}

export interface Counts {
  ok: number;
  error: number;
  timeout: number;
}

export interface TimelineBucket {
  /** Start of the bucket (ms since epoch). */
  at: number;
  regions: Record<string, Counts>;
  /** The same per cell, by `region/cell`. */
  cells: Record<string, Counts>;
}

export interface LoadStats {
  total: Counts;
  regions: Record<string, Counts & { cells: Record<string, Counts> }>;
  sent: number;
  inFlight: number;
}

const zero = (): Counts => ({ ok: 0, error: 0, timeout: 0 });

export function failed(c: Counts): number {
  return c.error + c.timeout;
}

export class LoadGenerator {
  private readonly o: Required<Omit<LoadOptions, 'targets' | 'resolve'>> & Pick<LoadOptions, 'targets' | 'resolve'>;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private timer?: NodeJS.Timeout;
  private readonly stats: LoadStats;
  private readonly buckets = new Map<number, TimelineBucket>();
  private readonly cursor = new Map<string, number>();
  private readonly inflight = new Set<http.ClientRequest>();
  private seq = 0;
  private startedAt = 0;
  private stopped = false;
  private idle: Array<() => void> = [];
  private carry = 0;
  private lastTick = 0;

  constructor(opts: LoadOptions) {
    this.o = {
      ratePerRegion: 10,
      timeoutMs: 1000,
      maxRequests: 100_000,
      maxDurationMs: 10 * 60_000,
      putShare: 0.3,
      bucketMs: 1000,
      now: Date.now,
      ...opts,
    };
    this.stats = { total: zero(), regions: {}, sent: 0, inFlight: 0 };
    for (const t of opts.targets) {
      const cells: Record<string, Counts> = {};
      for (const c of t.cells) cells[c] = zero();
      this.stats.regions[t.region] = { ...zero(), cells };
    }
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.startedAt = this.o.now();
    this.lastTick = this.startedAt;
    const tickMs = 50;
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  /** Stops sending, waits for the requests in flight (each ends by its timeout), and closes sockets. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.inflight.size > 0) await new Promise<void>((r) => this.idle.push(r));
    this.agent.destroy();
  }

  /** Stops at once, abandoning requests in flight (for Ctrl-C). */
  abort(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const r of this.inflight) r.destroy();
    this.agent.destroy();
  }

  snapshot(): LoadStats {
    return structuredClone({ ...this.stats, inFlight: this.inflight.size });
  }

  timeline(): TimelineBucket[] {
    return [...this.buckets.values()].sort((a, b) => a.at - b.at).map((b) => structuredClone(b));
  }

  private tick(): void {
    const now = this.o.now();
    if (now - this.startedAt >= this.o.maxDurationMs || this.stats.sent >= this.o.maxRequests) {
      void this.stop();
      return;
    }
    // Requests due since the last tick, per region, keeping fractions for the next tick.
    this.carry += ((now - this.lastTick) / 1000) * this.o.ratePerRegion;
    this.lastTick = now;
    const due = Math.floor(this.carry);
    this.carry -= due;
    for (let i = 0; i < due; i++) {
      for (const t of this.o.targets) {
        if (this.stats.sent >= this.o.maxRequests) return;
        this.send(t, now);
      }
    }
  }

  /** The cell that serves a request of `t`'s customers: `region/cell`, and its URL unless nothing can. */
  private pickCell(t: LoadTarget): { cell: string; base?: string } {
    const own = this.inRotation(t);
    if (own) return own;
    // No cell of the region is in rotation: the other regions' front doors take its customers, in turn.
    const others = this.o.targets.filter((x) => x.region !== t.region);
    const start = this.cursor.get('\u0000spill') ?? 0;
    this.cursor.set('\u0000spill', start + 1);
    for (let i = 0; i < others.length; i++) {
      const spill = this.inRotation(others[(start + i) % others.length]);
      if (spill) return spill;
    }
    // With none anywhere, the request fails at the front door.
    return { cell: `${t.region}/${t.cells[0]}` };
  }

  /** Round robin over the region's cells in rotation. */
  private inRotation(t: LoadTarget): { cell: string; base: string } | undefined {
    const start = this.cursor.get(t.region) ?? 0;
    this.cursor.set(t.region, start + 1);
    for (let i = 0; i < t.cells.length; i++) {
      const cell = t.cells[(start + i) % t.cells.length];
      const base = this.o.resolve(t.region, cell);
      if (base) return { cell: `${t.region}/${cell}`, base };
    }
    return undefined;
  }

  private send(t: LoadTarget, at: number): void {
    this.stats.sent++;
    const { cell, base } = this.pickCell(t);
    if (!base) return this.count(t.region, cell, at, 'error');
    const n = this.seq++;
    const isPut = Math.random() < this.o.putShare;
    const key = `k${n % 64}`;
    const body = isPut ? Buffer.from(`blob ${n} for ${cell}`) : undefined;
    const u = new URL(`${base}/blobs/${key}`);
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.inflight.delete(req);
      this.count(t.region, cell, at, o);
      if (this.inflight.size === 0 && this.idle.length) for (const r of this.idle.splice(0)) r();
    };
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: isPut ? 'PUT' : 'GET',
        agent: this.agent,
        headers: body ? { 'content-length': body.length } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          // A missing blob is an answer: cells keep blobs in memory and lose them on restart.
          finish(s < 400 || s === 404 ? 'ok' : 'error');
        });
        res.on('error', () => finish('error'));
      },
    );
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, this.o.timeoutMs);
    req.on('error', () => finish('error'));
    this.inflight.add(req);
    req.end(body);
  }

  /** `region`: the customers'; `servedBy`: the `region/cell` that answered (or should have). */
  private count(region: string, servedBy: string, at: number, o: Outcome): void {
    const r = this.stats.regions[region];
    if (r) r[o]++;
    const [servingRegion, cell] = servedBy.split('/');
    const sr = this.stats.regions[servingRegion];
    if (sr) (sr.cells[cell] ??= zero())[o]++;
    this.stats.total[o]++;
    const bucketAt = at - (at % this.o.bucketMs);
    let b = this.buckets.get(bucketAt);
    if (!b) this.buckets.set(bucketAt, (b = { at: bucketAt, regions: {}, cells: {} }));
    (b.regions[region] ??= zero())[o]++;
    (b.cells[servedBy] ??= zero())[o]++;
  }
}
