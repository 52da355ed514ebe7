// The local fleet: a supervisor that runs one blob front-end process per cell on 127.0.0.1, knows each
// cell's pid, port and version, restarts cells gracefully or by force, restarts cells that crash, and
// stops every process it started: on stop(), on process exit, and (from the cells' side) when it dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { HANG_PREFIX, READY_PREFIX, type Fault } from './blob-server.js';

export interface FleetRegionSpec {
  id: string;
  geography: string;
  /** Pair partner, declared on one side. */
  pair?: string;
  weight: number;
  canary: boolean;
  cells: string[];
}

export interface FleetSpec {
  regions: FleetRegionSpec[];
}

/** How a version behaves: `none`, or the fault it carries. */
export interface VersionBehaviour {
  fault: Fault | 'none';
  errorRate?: number;
  latencyMs?: number;
  crashAfterMs?: number;
}

export interface FleetOptions {
  spec: FleetSpec;
  initialVersion: string;
  /** Versions that carry a fault; every other version is healthy. */
  versions?: Record<string, VersionBehaviour>;
  /** How long a cell may take to start and answer /health. */
  startTimeoutMs?: number;
  /** Nice value given to a cell that reports it hung, so it cannot starve the processes that must rescue it. */
  nice?: number;
  now?: () => number;
}

export type CellState = 'starting' | 'up' | 'restarting' | 'crashed' | 'stopped';

/** One process that ran for a cell. */
export interface Incarnation {
  region: string;
  cell: string;
  version: string;
  pid: number;
  port: number;
  /** Why it was started. */
  cause: 'initial' | 'graceful' | 'force' | 'crash-restart';
  startedAt: number;
  readyAt?: number;
  /** When it entered the infinite loop, as it reported just before. */
  hungAt?: number;
  exitedAt?: number;
  exit?: string;
}

export interface CellStatus {
  region: string;
  cell: string;
  state: CellState;
  version: string;
  pid?: number;
  port: number;
  /** Pending or last operation, for the progress view. */
  operation?: string;
  hung: boolean;
  restarts: number;
}

export interface RestartResult {
  ok: boolean;
  detail: string;
  timedOut?: boolean;
  durationMs: number;
}

const DEFAULT_START_TIMEOUT = 20_000;

/** The default fleet: a canary region plus `regions` regions in pairs across three geographies. */
export function defaultFleetSpec(opts: { regions?: number; cells?: number } = {}): FleetSpec {
  const n = opts.regions ?? 8;
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError('regions must be a whole number from 1 to 64');
  if (opts.cells !== undefined && (!Number.isInteger(opts.cells) || opts.cells < 1 || opts.cells > 16)) {
    throw new RangeError('cells must be a whole number from 1 to 16');
  }
  // Pairs in order of how the demo fills them; the European pair is the one that lost both regions in 2014.
  const pairs: Array<[string, string, string, number]> = [
    ['eu-north', 'eu-west', 'europe', 2],
    ['us-east', 'us-west', 'americas', 3],
    ['asia-east', 'asia-southeast', 'asia', 2],
    ['us-central', 'us-south', 'americas', 1],
  ];
  const geos = ['europe', 'americas', 'asia'];
  const regions: FleetRegionSpec[] = [];
  const cellsFor = (weight: number) => {
    const count = opts.cells ?? (weight >= 2 ? 3 : 2);
    return Array.from({ length: count }, (_, i) => `cell-${i + 1}`);
  };
  regions.push({ id: 'us-canary', geography: 'americas', weight: 0.5, canary: true, cells: cellsFor(1) });
  for (let i = 0; i < n; i++) {
    const p = Math.floor(i / 2);
    const [a, b, geo, weight] = pairs[p] ?? [`region-${p + 1}a`, `region-${p + 1}b`, geos[p % 3], 1];
    const id = i % 2 === 0 ? a : b;
    const region: FleetRegionSpec = { id, geography: geo, weight, canary: false, cells: cellsFor(weight) };
    if (i % 2 === 1) region.pair = a;
    regions.push(region);
  }
  return { regions };
}

/** Pairs of the spec as [a, b] region ids. */
export function pairsOf(spec: FleetSpec): Array<[string, string]> {
  return spec.regions.filter((r) => r.pair).map((r) => [r.pair as string, r.id]);
}

/** How to start a blob front-end: the compiled file from dist, or the TypeScript source through tsx. */
export function blobServerCommand(): { command: string; args: string[] } {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  const entry = fileURLToPath(new URL(`./blob-server${ext}`, import.meta.url));
  if (!existsSync(entry)) throw new Error(`blob front-end not found at ${entry}`);
  if (ext === '.js') return { command: process.execPath, args: [entry] };
  let tsx = 'tsx';
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    /* fall back to resolving from the working directory */
  }
  return { command: process.execPath, args: ['--import', tsx, entry] };
}

// Every child of every fleet in this process, so an exit for any reason can kill them synchronously.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every cell process this process started, synchronously. Safe to call at any time. */
export function killAllCellsSync(): void {
  for (const c of liveChildren) {
    try {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllCellsSync);
}

class Cell {
  state: CellState = 'starting';
  version: string;
  child?: ChildProcess;
  incarnation?: Incarnation;
  port = 0;
  operation?: string;
  restarts = 0;
  /** Serialises operations on this cell. */
  lock: Promise<unknown> = Promise.resolve();
  /** Set while an operation owns the process's exit (no automatic crash restart). */
  expectingExit = false;
  crashTimer?: NodeJS.Timeout;
  crashBackoffMs = 200;
  stderrTail: string[] = [];

  constructor(
    readonly region: string,
    readonly id: string,
    version: string,
  ) {
    this.version = version;
  }

  alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }
}

export class Fleet extends EventEmitter {
  readonly spec: FleetSpec;
  private readonly cells = new Map<string, Cell>();
  /** Cells the front door does not send customers to (drained). */
  private readonly outOfRotation = new Set<string>();
  private readonly history: Incarnation[] = [];
  private readonly allPids: number[] = [];
  private readonly opts: Required<Omit<FleetOptions, 'versions'>> & { versions: Record<string, VersionBehaviour> };
  private stopping = false;
  private readonly cmd = blobServerCommand();

  private constructor(opts: FleetOptions) {
    super();
    this.spec = opts.spec;
    this.opts = {
      spec: opts.spec,
      initialVersion: opts.initialVersion,
      versions: opts.versions ?? {},
      startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT,
      nice: opts.nice ?? 19,
      now: opts.now ?? Date.now,
    };
    for (const r of opts.spec.regions) for (const c of r.cells) this.cells.set(key(r.id, c), new Cell(r.id, c, opts.initialVersion));
  }

  /** Starts every cell on the initial version and waits until each answers /health. Stops all on failure. */
  static async start(opts: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(opts);
    installExitHook();
    try {
      await Promise.all([...fleet.cells.values()].map((c) => fleet.launch(c, opts.initialVersion, 'initial')));
    } catch (e) {
      await fleet.stop();
      throw e;
    }
    return fleet;
  }

  now(): number {
    return this.opts.now();
  }

  /** Current status of every cell, in spec order. */
  list(): CellStatus[] {
    return [...this.cells.values()].map((c) => this.status(c));
  }

  get(region: string, cell: string): CellStatus | undefined {
    const c = this.cells.get(key(region, cell));
    return c && this.status(c);
  }

  /** Base URL of a cell whose process is running (possibly hung), or undefined while it is down. */
  url(region: string, cell: string): string | undefined {
    const c = this.cells.get(key(region, cell));
    if (!c || !c.alive() || c.state !== 'up') return undefined;
    return `http://127.0.0.1:${c.port}`;
  }

  /**
   * The region's front door (load balancer): the cell's URL while it is up and in rotation. Customers go
   * through it; probes and the driver reach a cell directly (`url`), drained or not.
   */
  frontDoor(region: string, cell: string): string | undefined {
    return this.outOfRotation.has(key(region, cell)) ? undefined : this.url(region, cell);
  }

  /** Takes a cell out of the front door's rotation (the fleet driver's drain); idempotent. */
  drain(region: string, cell: string): void {
    this.mustGet(region, cell);
    this.outOfRotation.add(key(region, cell));
    this.emit('drain', { region, cell, at: this.opts.now() });
  }

  /** Puts a drained cell back into rotation (the fleet driver's restore); idempotent. */
  restore(region: string, cell: string): void {
    this.mustGet(region, cell);
    this.outOfRotation.delete(key(region, cell));
    this.emit('restore', { region, cell, at: this.opts.now() });
  }

  /** Stable port of a cell: kept across restarts, so probe URLs stay valid. */
  port(region: string, cell: string): number {
    return this.mustGet(region, cell).port;
  }

  /** Every process this fleet ever started, alive or not. */
  pids(): number[] {
    return [...this.allPids];
  }

  incarnations(): Incarnation[] {
    return this.history.map((i) => ({ ...i }));
  }

  /**
   * Graceful restart on `version`: asks the cell (POST /admin/reconfigure), waits for it to drain and exit,
   * starts the new version and waits for /health. A cell that does not answer in `askTimeoutMs` (a hung
   * one) is left as it is and the result says `timedOut`. `stopWaiting` ends only the wait for the new process
   * to become healthy: the request to restart is still made.
   */
  gracefulRestart(
    region: string,
    cell: string,
    version: string,
    opts: { askTimeoutMs?: number; timeoutMs?: number; signal?: AbortSignal; stopWaiting?: AbortSignal } = {},
  ): Promise<RestartResult> {
    const c = this.mustGet(region, cell);
    const start = {
      timeoutMs: opts.timeoutMs,
      signal: opts.stopWaiting ? (opts.signal ? AbortSignal.any([opts.signal, opts.stopWaiting]) : opts.stopWaiting) : opts.signal,
    };
    return this.exclusive(c, `restart on ${version}`, async () => {
      const t0 = this.now();
      const askTimeoutMs = opts.askTimeoutMs ?? 2000;
      const done = (ok: boolean, detail: string, timedOut?: boolean): RestartResult => ({
        ok,
        detail,
        timedOut,
        durationMs: this.now() - t0,
      });
      if (this.stopping) return done(false, 'fleet is stopping');
      if (!c.alive()) {
        // Nothing to ask: the process is down (crashed or between restarts), so start the new version.
        this.cancelCrashRestart(c);
        return this.startAndWait(c, version, 'graceful', start, done);
      }
      c.expectingExit = true;
      const exited = waitExit(c.child!);
      const asked = await postJson(`http://127.0.0.1:${c.port}/admin/reconfigure`, { version }, askTimeoutMs, opts.signal);
      // On a busy machine the answer can come too late although the cell took the request and is draining:
      // unless it said it hung, give it the drain time to exit, or it would look like a crash and come back
      // on the old version.
      const tookIt =
        !asked.ok &&
        asked.timedOut &&
        !c.incarnation?.hungAt &&
        (await raceTimeout(
          exited.then(() => true),
          3000,
        )) === true;
      if (tookIt) return this.startAndWait(c, version, 'graceful', start, done);
      if (!asked.ok) {
        c.expectingExit = false;
        if (!c.alive()) {
          // It died while we asked (a crash loop): start the new version, as a restart would.
          this.cancelCrashRestart(c);
          return this.startAndWait(c, version, 'graceful', start, done);
        }
        return done(
          false,
          asked.timedOut ? `the cell did not answer the restart request within ${askTimeoutMs}ms (hung?)` : asked.detail,
          asked.timedOut,
        );
      }
      c.state = 'restarting';
      this.changed(c);
      const drained = await raceTimeout(
        exited.then(() => true),
        3000,
      );
      if (!drained) {
        c.expectingExit = false;
        return done(false, 'the cell accepted the restart but did not exit within 3s', true);
      }
      return this.startAndWait(c, version, 'graceful', start, done);
    });
  }

  /** Kills the cell's process without asking (SIGKILL) and starts it on `version`. */
  forceRestart(
    region: string,
    cell: string,
    version: string,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<RestartResult> {
    const c = this.mustGet(region, cell);
    return this.exclusive(c, `force to ${version}`, async () => {
      const t0 = this.now();
      const done = (ok: boolean, detail: string, timedOut?: boolean): RestartResult => ({
        ok,
        detail,
        timedOut,
        durationMs: this.now() - t0,
      });
      if (this.stopping) return done(false, 'fleet is stopping');
      this.cancelCrashRestart(c);
      if (c.alive()) {
        c.expectingExit = true;
        const exited = waitExit(c.child!);
        c.child!.kill('SIGKILL');
        c.state = 'restarting';
        this.changed(c);
        await exited;
      }
      return this.startAndWait(c, version, 'force', opts, done);
    });
  }

  /** GET /health of a cell: `ok` only for a 200 within the timeout. */
  async health(
    region: string,
    cell: string,
    timeoutMs = 1000,
  ): Promise<{ ok: boolean; version?: string; detail: string; timedOut?: boolean }> {
    const url = this.url(region, cell);
    if (!url) return { ok: false, detail: 'not running' };
    const r = await getJson(`${url}/health`, timeoutMs);
    const version = r.body && typeof r.body === 'object' ? (r.body as { version?: string }).version : undefined;
    return { ok: r.ok, version, detail: r.detail, timedOut: r.timedOut };
  }

  /** Stops every cell (SIGKILL: a hung cell would ignore anything gentler) and waits until each has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Nothing starts once `stopping` is set (launch checks it); loop until nothing of ours is running.
    for (let round = 0; round < 20; round++) {
      const waits: Promise<void>[] = [];
      for (const c of this.cells.values()) {
        this.cancelCrashRestart(c);
        if (c.child && c.alive()) {
          c.expectingExit = true;
          waits.push(waitExit(c.child));
          try {
            c.child.kill('SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      if (waits.length === 0) break;
      await Promise.all(waits);
    }
    for (const c of this.cells.values()) {
      c.state = 'stopped';
    }
  }

  get stopped(): boolean {
    return this.stopping;
  }

  private status(c: Cell): CellStatus {
    return {
      region: c.region,
      cell: c.id,
      state: c.state,
      version: c.version,
      pid: c.alive() ? c.child?.pid : undefined,
      port: c.port,
      operation: c.operation,
      hung: !!c.incarnation?.hungAt && c.alive(),
      restarts: c.restarts,
    };
  }

  private mustGet(region: string, cell: string): Cell {
    const c = this.cells.get(key(region, cell));
    if (!c) throw new Error(`no cell ${region}/${cell} in the fleet`);
    return c;
  }

  private exclusive<T>(c: Cell, what: string, fn: () => Promise<T>): Promise<T> {
    const run = c.lock.then(async () => {
      c.operation = what;
      this.changed(c);
      try {
        return await fn();
      } finally {
        c.operation = undefined;
        this.changed(c);
      }
    });
    c.lock = run.catch(() => undefined);
    return run;
  }

  private async startAndWait(
    c: Cell,
    version: string,
    cause: Incarnation['cause'],
    opts: { timeoutMs?: number; signal?: AbortSignal },
    done: (ok: boolean, detail: string, timedOut?: boolean) => RestartResult,
  ): Promise<RestartResult> {
    try {
      await this.launch(c, version, cause, opts.timeoutMs, opts.signal);
      return done(true, `running ${version} (pid ${c.child?.pid}, port ${c.port})`);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      return done(false, msg, e instanceof StartTimeout);
    }
  }

  /** Spawns the cell's process on `version` and waits until it reports ready and answers /health. */
  private async launch(
    c: Cell,
    version: string,
    cause: Incarnation['cause'],
    timeoutMs = this.opts.startTimeoutMs,
    signal?: AbortSignal,
  ): Promise<void> {
    const behaviour = this.opts.versions[version] ?? { fault: 'none' };
    const args = [
      ...this.cmd.args,
      '--region',
      c.region,
      '--cell',
      c.id,
      '--version',
      version,
      '--fault',
      behaviour.fault,
      '--parent-pid',
      String(process.pid),
    ];
    if (c.port) args.push('--port', String(c.port));
    if (behaviour.errorRate !== undefined) args.push('--error-rate', String(behaviour.errorRate));
    if (behaviour.latencyMs !== undefined) args.push('--latency-ms', String(behaviour.latencyMs));
    if (behaviour.crashAfterMs !== undefined) args.push('--crash-after-ms', String(behaviour.crashAfterMs));

    if (this.stopping) throw new Error('fleet is stopping');
    const deadline = this.now() + timeoutMs;
    const child = spawn(this.cmd.command, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' });
    liveChildren.add(child);
    if (child.pid === undefined) {
      liveChildren.delete(child);
      throw new Error(`could not start a process for ${c.region}/${c.id}`);
    }
    if (this.stopping) {
      child.kill('SIGKILL');
      liveChildren.delete(child);
      throw new Error('fleet is stopping');
    }
    this.allPids.push(child.pid);
    const inc: Incarnation = { region: c.region, cell: c.id, version, pid: child.pid, port: c.port, cause, startedAt: this.now() };
    this.history.push(inc);
    this.emit('start', { ...inc });
    c.child = child;
    c.incarnation = inc;
    c.version = version;
    c.state = 'starting';
    c.expectingExit = false;
    c.stderrTail = [];
    if (cause !== 'initial') c.restarts++;
    if (cause !== 'crash-restart') c.crashBackoffMs = 200;
    this.changed(c);

    const ready = new Promise<number>((resolve, reject) => {
      child.on('message', (m: unknown) => {
        const msg = m as { type?: string; port?: number };
        if (msg.type === 'ready' && typeof msg.port === 'number') resolve(msg.port);
      });
      child.once('exit', (code, sig) =>
        reject(
          new Error(
            `${c.region}/${c.id} ${version} exited before it was ready (${sig ?? `exit ${code}`})${c.stderrTail.length ? ': ' + c.stderrTail.join(' | ') : ''}`,
          ),
        ),
      );
    });
    ready.catch(() => undefined);
    lines(child.stdout!, (line) => {
      if (line.startsWith(HANG_PREFIX)) {
        try {
          inc.hungAt = (JSON.parse(line.slice(HANG_PREFIX.length)) as { at: number }).at;
        } catch {
          inc.hungAt = this.now();
        }
        // A spinning process takes a whole core; lower its priority so it cannot starve the processes
        // that must rescue it (the controller, the prober, the cells being restarted).
        try {
          setPriority(child.pid!, this.opts.nice);
        } catch {
          /* not permitted here: it keeps its priority */
        }
        this.emit('hang', { region: c.region, cell: c.id, version, pid: child.pid, at: inc.hungAt });
        this.changed(c);
      } else if (line.startsWith(READY_PREFIX)) {
        // The IPC message carries the same; this line is for people reading the output.
      }
    });
    lines(child.stderr!, (line) => {
      c.stderrTail.push(line.slice(0, 300));
      if (c.stderrTail.length > 5) c.stderrTail.shift();
    });
    child.on('exit', (code, sig) => {
      liveChildren.delete(child);
      inc.exitedAt = this.now();
      inc.exit = sig ?? `exit ${code}`;
      if (c.child !== child) return;
      this.emit('exit', { region: c.region, cell: c.id, version, pid: child.pid, exit: inc.exit });
      if (this.stopping) {
        c.state = 'stopped';
      } else if (!c.expectingExit) {
        c.state = 'crashed';
        this.scheduleCrashRestart(c, version);
      }
      this.changed(c);
    });

    const port = await raceTimeout(ready, timeoutMs, signal);
    if (port === undefined) {
      child.kill('SIGKILL');
      throw new StartTimeout(`${c.region}/${c.id} ${version} timed out: not ready within ${timeoutMs}ms`);
    }
    c.port = port;
    inc.port = port;
    // Ready means listening; wait for the first 200 from /health too.
    for (;;) {
      if (!(child.exitCode === null && child.signalCode === null))
        throw new Error(`${c.region}/${c.id} ${version} exited before it was healthy (${inc.exit})`);
      const left = deadline - this.now();
      if (left <= 0 || signal?.aborted) {
        throw new StartTimeout(`${c.region}/${c.id} ${version} did not become healthy within ${timeoutMs}ms`);
      }
      const h = await getJson(`http://127.0.0.1:${port}/health`, Math.min(1000, left));
      if (h.ok) break;
      await sleep(50);
    }
    inc.readyAt = this.now();
    this.emit('ready', { ...inc });
    if (c.child === child) {
      c.state = 'up';
      this.changed(c);
    }
  }

  private scheduleCrashRestart(c: Cell, version: string): void {
    if (this.stopping) return;
    const delay = c.crashBackoffMs;
    c.crashBackoffMs = Math.min(2000, c.crashBackoffMs * 2);
    c.crashTimer = setTimeout(() => {
      c.crashTimer = undefined;
      if (this.stopping || c.alive()) return;
      void this.exclusive(c, `crash restart on ${version}`, async () => {
        if (this.stopping || c.alive()) return;
        await this.launch(c, version, 'crash-restart').catch(() => {
          // It crashed again before it was healthy; its exit handler schedules the next attempt.
        });
      });
    }, delay);
  }

  private cancelCrashRestart(c: Cell): void {
    if (c.crashTimer) clearTimeout(c.crashTimer);
    c.crashTimer = undefined;
  }

  private changed(c: Cell): void {
    this.emit('change', this.status(c));
  }
}

/** Whether a process is running (a zombie waiting to be reaped counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(0) said it exists
  }
}

function key(region: string, cell: string): string {
  return `${region}/${cell}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves with the value, or undefined after `ms` or on abort. */
/** A start that did not get ready or healthy in time: the call fails with `timedOut`. */
class StartTimeout extends Error {}

function raceTimeout<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      p.catch(() => undefined);
      return resolve(undefined);
    }
    const t = setTimeout(() => finish(undefined), ms);
    const onAbort = () => finish(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish(v: T | undefined, err?: unknown) {
      clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(v);
    }
    p.then(
      (v) => finish(v),
      (e) => finish(undefined, e ?? new Error('failed')),
    );
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    if (buf.length > 64 * 1024) buf = '';
  });
  stream.on('error', () => undefined);
}

interface HttpResult {
  ok: boolean;
  status?: number;
  body?: unknown;
  detail: string;
  timedOut?: boolean;
}

// A fresh connection per call (no keep-alive), so a request to a hung cell cannot hold a pooled socket.
function request(method: string, url: string, body: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<HttpResult> {
  return new Promise((resolve) => {
    const u = new URL(url);
    let settled = false;
    const finish = (r: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(r);
    };
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        agent: false,
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
          finish({ ok, status: res.statusCode, body: parsed, detail: `HTTP ${res.statusCode}` });
        });
        res.on('error', (e) => finish({ ok: false, detail: e.message }));
      },
    );
    const timer = setTimeout(() => finish({ ok: false, timedOut: true, detail: `timeout after ${timeoutMs}ms` }), timeoutMs);
    const onAbort = () => finish({ ok: false, detail: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: e.code ?? e.message }));
    if (body) req.write(body);
    req.end();
    if (signal?.aborted) onAbort();
  });
}

export function getJson(url: string, timeoutMs: number, signal?: AbortSignal): Promise<HttpResult> {
  return request('GET', url, undefined, timeoutMs, signal);
}

export function postJson(url: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<HttpResult> {
  return request('POST', url, JSON.stringify(body), timeoutMs, signal);
}
