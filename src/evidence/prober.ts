// Runs every probe against every target on its interval and writes the observations to the store, in
// batches. It only measures: no verdict about a gate or a rollout lives here, and nothing it holds in
// memory matters after a restart (the store has the evidence; a restarted prober just measures again).
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Observation, Target } from '../core/types.js';
import { ms } from '../config/common.js';
import type { FleetConfig } from '../config/fleet.js';
import type { ProbeConfig, ServiceConfig } from '../config/service.js';
import type { Store } from '../store/store.js';
import { BackoffLog } from '../store/health.js';
import { runProbe, targetVars, type TemplateVars } from './probe.js';

/** One probe of one target. */
export interface ProbeCheck {
  target: Target;
  probe: ProbeConfig;
  vars: TemplateVars;
}

/** A stable id for a check: `service/region/cell/probe`. */
export function checkId(c: Pick<ProbeCheck, 'target' | 'probe'>): string {
  return `${c.target.service}/${c.target.region}/${c.target.cell}/${c.probe.name}`;
}

/**
 * Every probe of every service, for every cell of every region the service runs in, with template values
 * from the fleet.
 */
export function probeChecks(config: { fleet: FleetConfig; services: ServiceConfig[] }): ProbeCheck[] {
  const out: ProbeCheck[] = [];
  for (const svc of config.services) {
    if (svc.probes.length === 0) continue;
    const regions =
      svc.regions === 'all' ? config.fleet.regions : config.fleet.regions.filter((r) => (svc.regions as string[]).includes(r.id));
    for (const region of regions) {
      for (const cell of region.cells) {
        const target: Target = { service: svc.name, region: region.id, cell: cell.id };
        const vars = targetVars(config.fleet, target);
        for (const probe of svc.probes) out.push({ target, probe, vars });
      }
    }
  }
  return out;
}

export interface ProberOptions {
  store: Pick<Store, 'recordObservations'>;
  clock?: Clock;
  log?: Logger;
  checks?: ProbeCheck[];
  /** Write to the store once this many observations wait. Default 50. A failing one is written at once. */
  batchSize?: number;
  /** ...or at least this often (ms). Default 1000. */
  flushEveryMs?: number;
  /** Observations kept while the store is unreachable; beyond this the oldest are dropped. Default 10 000. */
  maxBuffered?: number;
  /** Called with every observation as it is measured (before it is stored). */
  onObservation?: (o: Observation) => void;
  /** The version a target runs, when the answer does not say (X-Etape-Version / X-Version headers). */
  versionOf?: (t: Target) => string | undefined;
  /**
   * Probes of one check that may be in flight at once. A probe starts every interval whether or not the
   * previous one has answered, so a hang is seen after (k−1)·interval + timeout rather than k·timeout.
   * Default ceil(timeout / interval) + 1: with every probe hanging, one new probe per interval still starts.
   */
  maxOverlap?: number;
  /** Probes in flight at once over all checks; a start beyond it waits for a slot. Default 256. */
  maxConcurrent?: number;
}

interface Running {
  check: ProbeCheck;
  stop: AbortController;
  loop: Promise<void>;
}

/** The default overlap of one check: enough that a probe starts on every tick while earlier ones hang. */
export function defaultOverlap(probe: Pick<ProbeConfig, 'interval' | 'timeout'>): number {
  const interval = Math.max(1, ms(probe.interval));
  let timeout = interval;
  try {
    timeout = Math.max(1, ms(probe.timeout));
  } catch {
    /* an unreadable timeout is reported by the probe itself, as an error observation */
  }
  return Math.ceil(timeout / interval) + 1;
}

export class Prober {
  private readonly store: Pick<Store, 'recordObservations'>;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** A store that cannot be written fails every flush: said once, then with backoff. */
  private get storeFailures(): BackoffLog {
    return (this.storeFailuresLog ??= new BackoffLog(this.log, 'prober: storing observations (kept buffered, retried)'));
  }
  private storeFailuresLog: BackoffLog | undefined;
  private readonly batchSize: number;
  private readonly flushEveryMs: number;
  private readonly maxBuffered: number;
  private readonly onObservation?: (o: Observation) => void;
  private readonly versionOf?: (t: Target) => string | undefined;
  private readonly maxOverlap?: number;
  private readonly maxConcurrent: number;
  /** Schedule loops waiting for a global slot. */
  private slotWaiters: Array<() => void> = [];
  private slotsUsed = 0;

  private checks = new Map<string, ProbeCheck>();
  private running = new Map<string, Running>();
  private inFlight = new Set<Promise<unknown>>();
  private buffer: Observation[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private flushLoop: { stop: AbortController; loop: Promise<void> } | undefined;
  private started = false;

  /**
   * Counters since construction: measured, stored, dropped (store unreachable too long), store write errors,
   * ticks skipped (the check already had its most probes in flight, or the loop fell behind the schedule),
   * the most probes seen in flight at once (over all checks), and follow-up probes run to confirm a failure.
   */
  readonly stats = { measured: 0, stored: 0, dropped: 0, storeErrors: 0, skipped: 0, peakInFlight: 0, confirmations: 0 };

  constructor(opts: ProberOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    this.batchSize = Math.max(1, opts.batchSize ?? 50);
    this.flushEveryMs = Math.max(1, opts.flushEveryMs ?? 1000);
    this.maxBuffered = Math.max(1, opts.maxBuffered ?? 10_000);
    this.onObservation = opts.onObservation;
    this.versionOf = opts.versionOf;
    if (opts.maxOverlap !== undefined) this.maxOverlap = Math.max(1, Math.floor(opts.maxOverlap));
    this.maxConcurrent = Math.max(1, Math.floor(opts.maxConcurrent ?? 256));
    if (opts.checks) for (const c of opts.checks) this.checks.set(checkId(c), c);
  }

  /** The ids of the checks this prober runs (checkId). */
  get checkIds(): string[] {
    return [...this.checks.keys()];
  }

  get isRunning(): boolean {
    return this.started;
  }

  /** Replaces the set of checks. While running, new checks start now and removed ones stop (not awaited). */
  setChecks(checks: ProbeCheck[]): void {
    this.checks = new Map(checks.map((c) => [checkId(c), c]));
    if (!this.started) return;
    for (const [id, r] of this.running) {
      const next = this.checks.get(id);
      // an unchanged check (same probe, same values) keeps its schedule even if it is a new object
      if (!next || JSON.stringify([next.probe, next.vars]) !== JSON.stringify([r.check.probe, r.check.vars])) {
        r.stop.abort();
        this.running.delete(id);
      }
    }
    for (const [id, c] of this.checks) if (!this.running.has(id)) this.launch(id, c);
  }

  /** Starts probing every check on its interval (the first run of each is immediate). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const [id, c] of this.checks) this.launch(id, c);
    const stop = new AbortController();
    const loop = (async () => {
      while (!stop.signal.aborted) {
        await this.clock.sleep(this.flushEveryMs, stop.signal);
        if (stop.signal.aborted) break;
        await this.flush();
      }
    })();
    this.flushLoop = { stop, loop };
  }

  /** Stops scheduling, waits for the probes in flight to finish, and writes what is buffered. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const loops: Promise<void>[] = [];
    for (const r of this.running.values()) {
      r.stop.abort();
      loops.push(r.loop);
    }
    this.running.clear();
    if (this.flushLoop) {
      this.flushLoop.stop.abort();
      loops.push(this.flushLoop.loop);
      this.flushLoop = undefined;
    }
    await Promise.all(loops);
    await Promise.all([...this.inFlight]);
    await this.flush();
  }

  /** Runs every check once now, stores the results, and returns them (for `etape` commands and tests). */
  async runOnce(): Promise<Observation[]> {
    const out = await Promise.all([...this.checks.values()].map((c) => this.measure(c)));
    await this.flush();
    return out;
  }

  /** Observations measured and not yet stored (they wait for the next flush, or for the store to come back). */
  get backlog(): number {
    return this.buffer.length;
  }

  /** Writes buffered observations to the store. On a store error they stay buffered for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.slice(0, Math.max(this.batchSize, 500));
        try {
          await this.store.recordObservations(batch);
        } catch (e) {
          this.stats.storeErrors++;
          this.storeFailures.failed(Object.assign(e as Error, { buffered: this.buffer.length }));
          return;
        }
        this.storeFailures.ok();
        this.buffer.splice(0, batch.length);
        this.stats.stored += batch.length;
      }
    });
    return this.flushing;
  }

  /**
   * One check's schedule: a probe starts at t0, t0 + interval, t0 + 2·interval, … without waiting for the
   * one before to answer (up to the check's overlap, and the global cap). Each observation carries its
   * start time as `at`, so results that come back out of order are still read in order by the gates.
   */
  private launch(id: string, check: ProbeCheck): void {
    const stop = new AbortController();
    const interval = Math.max(1, ms(check.probe.interval));
    const overlap = this.maxOverlap ?? defaultOverlap(check.probe);
    const mine = new Set<Promise<unknown>>();
    // A failure is confirmed at once by a burst of follow-up probes; one burst per run of failures.
    const burst = { running: false, spent: false };
    const onResult = (o: Observation) => {
      if (o.verdict === 'pass') burst.spent = false;
      if (o.verdict !== 'fail' || burst.running || burst.spent || stop.signal.aborted) return;
      burst.running = true;
      burst.spent = true;
      const b = this.confirmFailure(check, id, stop.signal).finally(() => {
        burst.running = false;
        this.inFlight.delete(b);
      });
      this.inFlight.add(b);
    };
    const loop = (async () => {
      let next = this.clock.now();
      while (!stop.signal.aborted) {
        if (mine.size >= overlap) this.stats.skipped++;
        else {
          if (!(await this.acquireSlot(stop.signal))) break;
          const p = this.measure(check)
            .then(onResult)
            .catch((e) => this.log.error({ err: e, check: id }, 'prober: probe failed'))
            .finally(() => {
              mine.delete(p);
              this.inFlight.delete(p);
              this.releaseSlot();
            });
          mine.add(p);
          this.inFlight.add(p);
          this.stats.peakInFlight = Math.max(this.stats.peakInFlight, this.inFlight.size);
        }
        next += interval;
        const now = this.clock.now();
        if (next <= now) {
          // Behind the schedule (a busy machine, a wait for a slot, a clock jump): run the latest tick due now,
          // count the ones before it as skipped, and keep the phase. No burst to catch up.
          const due = Math.floor((now - next) / interval) + 1;
          this.stats.skipped += due - 1;
          next += (due - 1) * interval;
        }
        if (next > now) await this.clock.sleep(next - now, stop.signal);
      }
    })();
    loop.catch((e) => this.log.error({ err: e, check: id }, 'prober: probe loop failed'));
    this.running.set(id, { check, stop, loop });
  }

  /**
   * The follow-up probes of a failure: `confirm` of them, `confirmEvery` apart (the first one
   * `confirmEvery` after the failure came back), each in a global slot. They run side by side, so a hang
   * is confirmed about one timeout after the last one starts. Stops with the check.
   */
  private async confirmFailure(check: ProbeCheck, id: string, signal: AbortSignal): Promise<void> {
    const count = check.probe.confirm ?? 0;
    let every = 200;
    try {
      every = Math.max(1, ms(check.probe.confirmEvery ?? '200ms'));
    } catch {
      /* the config check reports a bad duration */
    }
    const probes: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      await this.clock.sleep(every, signal);
      if (signal.aborted || !(await this.acquireSlot(signal))) break;
      this.stats.confirmations++;
      probes.push(
        this.measure(check)
          .catch((e) => this.log.error({ err: e, check: id }, 'prober: follow-up probe failed'))
          .finally(() => this.releaseSlot()),
      );
      this.stats.peakInFlight = Math.max(this.stats.peakInFlight, this.inFlight.size + probes.length);
    }
    await Promise.all(probes);
  }

  /** Waits for one of the `maxConcurrent` slots; false when the check is stopped first. */
  private acquireSlot(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.slotsUsed < this.maxConcurrent) {
      this.slotsUsed++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = () => {
        this.slotWaiters = this.slotWaiters.filter((w) => w !== wake);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.slotWaiters.push(wake);
    });
  }

  /** Hands the slot to the next waiter, if any; else frees it. */
  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.slotsUsed--;
  }

  private async measure(check: ProbeCheck): Promise<Observation> {
    const o = await runProbe(check.probe, check.target, check.vars, this.clock);
    if (o.version === undefined) {
      const v = this.versionOf?.(check.target);
      if (v !== undefined) o.version = v;
    }
    this.stats.measured++;
    this.buffer.push(o);
    if (this.buffer.length > this.maxBuffered) {
      const drop = this.buffer.length - this.maxBuffered;
      this.buffer.splice(0, drop);
      this.stats.dropped += drop;
    }
    try {
      this.onObservation?.(o);
    } catch (e) {
      this.log.error({ err: e }, 'prober: onObservation threw');
    }
    // Bad news does not wait for a batch: the gates (and the controller it wakes) see it at once.
    if (this.buffer.length >= this.batchSize || o.verdict !== 'pass') void this.flush();
    return o;
  }
}
