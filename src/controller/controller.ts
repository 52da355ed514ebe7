// The reconcile loop: for each active rollout it holds the lease of, load the state, gather evidence from
// the store, ask the core what to do, save the next state with the revision check, and perform the driver
// calls with their idempotency keys (I5). Nothing waits in a timer: the core says when to look again.
import { hostname } from 'node:os';
import type { Hold } from '../linestop/line.js';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { EtapeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { OBSERVE_SOURCE, type Observation, type Target } from '../core/types.js';
import type { EtapeConfig } from '../config/schema.js';
import type { ServiceConfig } from '../config/service.js';
import { ms } from '../config/common.js';
import type { Driver, DriverCall, DriverResult, Observed } from '../drivers/driver.js';
import type { Fence, RolloutRecord, Store } from '../store/store.js';
import {
  decide,
  DEFAULT_LIMITS,
  isDriverAction,
  type Decision,
  type DriverAction,
  type DriverOutcome,
  type Limits,
} from '../rollout/decide.js';
import { ACTIVE_PHASES, isTerminal } from '../rollout/phases.js';
import type { RolloutState } from '../rollout/state.js';
import { loadRolloutState } from '../rollout/state-schema.js';
import { knownSecrets } from '../config/secrets.js';
import { processGroupGone, processPlace } from './process-place.js';
import { BackoffLog } from '../store/health.js';

/**
 * Something that keeps evidence coming while the controller runs: `etape serve` passes a Prober over every
 * probe of every target (src/evidence/prober.ts), since the status page needs the same evidence.
 */
export interface EvidenceRunner {
  start(): void;
  stop(): Promise<void>;
}

export interface ControllerOptions {
  store: Store;
  config: EtapeConfig;
  clock?: Clock;
  log?: Logger;
  /** The driver of a service (by name). Default: the one its config describes (src/drivers). */
  driverFor?: (service: string, config: ServiceConfig) => Driver | Promise<Driver>;
  /** Started and stopped with the controller. Default: none (evidence comes from elsewhere). */
  prober?: EvidenceRunner;
  /** More evidence runners (metric and judge measurements), started and stopped with the controller. */
  runners?: EvidenceRunner[];
  /** Lease holder name; unique per process by default. */
  holder?: string;
  /** How long a rollout's lease lasts without renewal (default 15 s). */
  leaseMs?: number;
  /** Longest sleep between reconciles (default: config server.reconcileEvery). */
  reconcileEveryMs?: number;
  limits?: Partial<Limits>;
  /** Drive only these rollouts (the CLI following one rollout). */
  only?: string[];
  /** How far back evidence is read (default 15 min, or more when gates need it). */
  evidenceWindowMs?: number;
  /** Rollouts reconciled at once (default 8). */
  concurrency?: number;
  /** Freezes and failing regions in force now (stop the line); no wave starts where one applies. */
  holds?: () => readonly Hold[];
  /** Called after each reconcile with its duration in ms (benchmarks, metrics). */
  onReconcile?: (id: string, ms: number, d: Decision | undefined) => void;
  /** Called when a reconcile fails (the store's health, metrics). */
  onError?: (err: unknown) => void;
  /** Called when this process takes or loses a rollout's lease (metrics); `token` > 1 on taking: someone held it before. */
  onLease?: (id: string, what: 'acquired' | 'lost', token?: number) => void;
  /** Called after each driver call with its result and duration in ms (metrics). */
  onDriverCall?: (kind: string, result: DriverResult, ms: number) => void;
}

interface InFlight {
  key: string;
  rolloutId: string;
  ac: AbortController;
  done: Promise<void>;
}

/** A lease this process holds on a rollout: its token, and the local monotonic time by which it surely runs out. */
interface Holding {
  token: number;
  localUntil: number;
}

const leaseName = (id: string) => `rollout:${id}`;
const isFenced = (e: unknown) => e instanceof EtapeError && e.code === 'store.fenced';

export class Controller {
  readonly store: Store;
  readonly config: EtapeConfig;
  readonly clock: Clock;
  readonly holder: string;
  private log: Logger;
  private opts: ControllerOptions;
  private limits: Limits;
  private leaseMs: number;
  private everyMs: number;
  private drivers = new Map<string, Promise<Driver>>();
  /** Driver outcomes not yet consumed by the core, per rollout. */
  private outcomes = new Map<string, Map<string, DriverOutcome>>();
  /** Driver calls running in this process, by `rollout|target`. */
  private inflight = new Map<string, InFlight>();
  private busy = new Map<string, Promise<number | undefined>>();
  /** Observe calls running in this process, by target. */
  private observing = new Map<string, Promise<void>>();
  private again = new Set<string>();
  private wakeAt = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | undefined;
  private sleeper: AbortController | undefined;
  private nudged = false;
  /** Evidence arrived that may matter: reconcile every rollout on the next pass, due or not. */
  private allDue = false;
  private lastReconciled = new Map<string, number>();
  /** Rollouts whose lease this process holds (I5: every write and driver call carries its token). */
  private holdings = new Map<string, Holding>();
  private renewing = new Set<string>();
  private watchdog: NodeJS.Timeout | undefined;
  /** Calls another holding may still be running, by key: not asked again before this time (this clock). */
  private notBefore = new Map<string, number>();
  /** Active rollouts as last listed, and rollouts seen ending since. */
  private known: string[] = [];
  private ended = new Set<string>();
  private listedAt: number | undefined;
  private listAgain = false;
  private passFailed = false;
  private failures: BackoffLog;
  /** Rollouts whose stored state does not load, with the revision that did not (logged once each). */
  private invalid = new Map<string, number>();

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.config = opts.config;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.leaseMs = opts.leaseMs ?? 15_000;
    this.everyMs = opts.reconcileEveryMs ?? ms(opts.config.server.reconcileEvery);
    this.holder = opts.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.failures = new BackoffLog(this.log, 'reconcile');
  }

  /** Resumes every active rollout from the store and keeps reconciling until `stop`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    // Leases are renewed, and lost ones noticed, on a timer of their own: a long driver call or a slow
    // reconcile must not let a lease run out unseen. Local times are monotonic (performance.now).
    this.watchdog = setInterval(() => this.watchLeases(), Math.max(50, Math.min(1000, Math.floor(this.leaseMs / 5))));
    this.watchdog.unref();
    this.opts.prober?.start();
    for (const r of this.opts.runners ?? []) r.start();
    this.loop = this.run();
  }

  /** Stops the loop, waits for driver calls in flight (they are idempotent; a restart repeats unfinished ones), releases leases. */
  async stop(opts: { abortCalls?: boolean } = {}): Promise<void> {
    this.running = false;
    this.sleeper?.abort();
    if (this.watchdog) clearInterval(this.watchdog);
    await this.loop?.catch(() => {});
    if (opts.abortCalls) for (const f of this.inflight.values()) f.ac.abort();
    await Promise.allSettled([...this.inflight.values()].map((f) => f.done));
    await Promise.allSettled([...this.busy.values()]);
    await Promise.allSettled([...this.observing.values()]);
    await this.opts.prober?.stop();
    for (const r of this.opts.runners ?? []) await r.stop();
    for (const id of this.holdings.keys()) await this.store.releaseLease(leaseName(id), this.holder).catch(() => {});
    this.holdings.clear();
    for (const d of this.drivers.values()) await d.then((x) => x.close?.()).catch(() => {});
  }

  /**
   * The store as a prober should see it: records observations, then wakes the loop at once when any of
   * them is not a pass, so bad evidence halts a rollout without waiting for the next tick.
   */
  evidenceSink(): Pick<Store, 'recordObservations'> {
    return {
      recordObservations: async (obs) => {
        await this.store.recordObservations(obs);
        if (this.running && obs.some((o) => o.verdict !== 'pass')) {
          this.allDue = true;
          this.nudge();
        }
      },
    };
  }

  /** A failed reconcile: logged with backoff (not once per rollout per pass), reported, and the loop backs off. */
  private failed(err: unknown, rollout?: string): void {
    this.passFailed = true;
    this.failures.failed(rollout ? Object.assign(err instanceof Error ? err : new Error(String(err)), { rollout }) : err);
    this.opts.onError?.(err);
  }

  /** Resolves once no reconcile and no driver call of this controller is running (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.busy.size > 0 || this.inflight.size > 0 || this.observing.size > 0) {
      await Promise.allSettled([...this.busy.values(), ...this.observing.values(), ...[...this.inflight.values()].map((f) => f.done)]);
    }
  }

  /** Driver calls running in this process. */
  get callsInFlight(): number {
    return this.inflight.size;
  }

  /** Asks the loop to reconcile now (a command arrived, a driver call finished). */
  nudge(opts: { relist?: boolean } = {}): void {
    if (opts.relist) this.listAgain = true;
    this.nudged = true;
    this.sleeper?.abort();
  }

  private async run(): Promise<void> {
    let failedPasses = 0;
    while (this.running) {
      this.nudged = false;
      let next: number | undefined;
      this.passFailed = false;
      try {
        next = await this.tick();
      } catch (e) {
        this.failed(e);
      }
      if (!this.running) break;
      // A store that fails is not retried in a tight loop: back off 0.5 s, 1 s, 2 s … 30 s (real time).
      failedPasses = this.passFailed ? failedPasses + 1 : 0;
      if (failedPasses > 0) {
        this.sleeper = new AbortController();
        await systemClock.sleep(Math.min(30_000, 250 * 2 ** failedPasses), this.sleeper.signal);
        this.sleeper = undefined;
        continue;
      }
      this.failures.ok();
      if (this.nudged) continue;
      const now = this.clock.now();
      const wait = Math.max(0, Math.min(this.everyMs, (next ?? Infinity) - now));
      this.sleeper = new AbortController();
      await this.clock.sleep(wait, this.sleeper.signal);
      this.sleeper = undefined;
    }
  }

  /** One pass over every active rollout. Returns the earliest time any of them wants to be looked at again. */
  async tick(): Promise<number | undefined> {
    const now = this.clock.now();
    // The list of active rollouts is read once a tick period (or when nudged: a new rollout may exist);
    // in between, the rollouts already known are reconciled from their own records.
    const fresh = new Map<string, RolloutRecord>();
    if (this.listedAt === undefined || this.listAgain || now - this.listedAt >= this.everyMs) {
      this.listAgain = false;
      this.listedAt = now;
      const active = await this.store.listRollouts({ phases: [...ACTIVE_PHASES] });
      this.known = active.map((r) => r.id).filter((id) => !this.opts.only || this.opts.only.includes(id));
      for (const r of active) fresh.set(r.id, r);
    }
    const ids = this.known.filter((id) => this.busy.has(id) || !this.ended.has(id));
    // Rollouts that are due: asked to be woken by now, not looked at for a tick, or with news.
    const all = this.allDue;
    this.allDue = false;
    const due = ids.filter((id) => {
      const w = this.wakeAt.get(id);
      const last = this.lastReconciled.get(id);
      return (
        all || w === undefined || w <= now || last === undefined || now - last >= this.everyMs || this.again.has(id) || this.hasNews(id)
      );
    });
    const limit = Math.max(1, this.opts.concurrency ?? 8);
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(limit, due.length) }, async () => {
        while (i < due.length) {
          const id = due[i++];
          await this.reconcile(id, fresh.get(id)).catch((e) => this.failed(e, id));
        }
      }),
    );
    let next: number | undefined;
    for (const id of ids) {
      const w = this.wakeAt.get(id);
      if (w !== undefined && (next === undefined || w < next)) next = w;
    }
    return next;
  }

  private hasNews(id: string): boolean {
    return (this.outcomes.get(id)?.size ?? 0) > 0;
  }

  /** Reconciles one rollout; concurrent calls for the same rollout coalesce. Returns when it wants to be called again. */
  reconcile(id: string, record?: RolloutRecord): Promise<number | undefined> {
    const cur = this.busy.get(id);
    if (cur) {
      this.again.add(id);
      return cur;
    }
    const p = (async () => {
      let wake: number | undefined;
      let rounds = 0;
      do {
        this.again.delete(id);
        wake = await this.reconcileOnce(id, rounds === 0 ? record : undefined);
      } while (this.again.has(id) && ++rounds < 20);
      return wake;
    })().finally(() => this.busy.delete(id));
    this.busy.set(id, p);
    return p;
  }

  /** The fence of this process's holding of a rollout's lease, if it still holds it as far as it can tell. */
  fenceOf(id: string): Fence | undefined {
    const h = this.holdings.get(id);
    if (!h || performance.now() >= h.localUntil) return undefined;
    return { lease: leaseName(id), holder: this.holder, token: h.token };
  }

  /** Rollouts this process holds the lease of. */
  get heldRollouts(): string[] {
    return [...this.holdings.keys()];
  }

  /** Takes or renews a rollout's lease; false if another controller holds it. A new token means the old holding was lost. */
  private async holdLease(id: string): Promise<boolean> {
    const t0 = performance.now();
    const g = await this.store.acquireLease(leaseName(id), this.holder, this.leaseMs);
    const h = this.holdings.get(id);
    if (!g) {
      if (h) this.lostLease(id, 'another controller holds it');
      return false;
    }
    if (h && h.token !== g.token) this.lostLease(id, 'it ran out before it was renewed');
    const cur = this.holdings.get(id);
    // The store judged `until` by its own clock at or after t0: t0 + ttl is a safe local bound.
    this.holdings.set(id, { token: g.token, localUntil: Math.max(cur?.token === g.token ? cur.localUntil : 0, t0 + this.leaseMs) });
    if (!h || h.token !== g.token) this.opts.onLease?.(id, 'acquired', g.token);
    return true;
  }

  /** Stops everything this process does for a rollout whose lease it no longer holds: no write, no driver call. */
  private lostLease(id: string, why: string): void {
    if (!this.holdings.delete(id)) return;
    let stopped = 0;
    for (const f of this.inflight.values()) {
      if (f.rolloutId === id) {
        f.ac.abort(); // kills the call's process group (exec driver)
        stopped++;
      }
    }
    this.log.warn({ rollout: id, why, stopped }, 'lost the lease of a rollout: stopped its driver calls; another controller may take it');
    this.opts.onLease?.(id, 'lost');
  }

  private watchLeases(): void {
    const now = performance.now();
    for (const [id, h] of this.holdings) {
      if (now >= h.localUntil) {
        this.lostLease(id, 'it ran out (this process was paused, or the store unreachable)');
        continue;
      }
      if (now >= h.localUntil - this.leaseMs / 2 && !this.renewing.has(id)) {
        this.renewing.add(id);
        void this.holdLease(id)
          .catch((e) => this.log.debug({ err: e, rollout: id }, 'lease renewal failed; retrying'))
          .finally(() => this.renewing.delete(id));
      }
    }
  }

  /** Extends the lease over a driver attempt and sets the call's deadline; the local epoch time the attempt must end by, or undefined. */
  private async arm(id: string, key: string, attemptMs: number): Promise<number | undefined> {
    const fence = this.fenceOf(id);
    if (!fence) return undefined;
    const t0 = performance.now();
    const wall = Date.now();
    let ok: boolean;
    try {
      ok = await this.store.armAttempt(key, fence, attemptMs);
    } catch (e) {
      this.log.warn({ err: e, key }, 'could not arm a driver attempt: not starting it');
      return undefined;
    }
    if (!ok) {
      this.lostLease(id, 'the store refused the next attempt');
      return undefined;
    }
    const h = this.holdings.get(id);
    if (h && h.token === fence.token) h.localUntil = Math.max(h.localUntil, t0 + attemptMs);
    return wall + attemptMs;
  }

  private async reconcileOnce(id: string, record?: RolloutRecord): Promise<number | undefined> {
    const started = performance.now();
    const now = this.clock.now();
    this.lastReconciled.set(id, now);
    // Take or renew the lease; renewing once half of it has run keeps a write off most reconciles.
    const h = this.holdings.get(id);
    if (!h || performance.now() >= h.localUntil - this.leaseMs / 2) {
      if (!(await this.holdLease(id))) {
        this.wakeAt.set(id, now + Math.min(this.leaseMs, this.everyMs * 2));
        return this.wakeAt.get(id);
      }
    }
    const fence = this.fenceOf(id);
    if (!fence) return now + this.everyMs;
    const rec = record ?? (await this.store.getRollout(id));
    if (!rec || isTerminal(rec.phase)) {
      this.forget(id);
      this.ended.add(id);
      return undefined;
    }
    let state: RolloutState;
    try {
      state = loadRolloutState(rec.state, id);
      this.invalid.delete(id);
    } catch (e) {
      // One rollout whose stored state does not fit is left alone (said once per revision); the others go on.
      if (!(e instanceof EtapeError) || e.code !== 'store.invalid_state') throw e;
      if (this.invalid.get(id) !== rec.revision) this.log.error({ rollout: id, err: e }, e.message);
      this.invalid.set(id, rec.revision);
      return now + Math.max(this.everyMs, 30_000);
    }
    const observations = await this.evidence(state, now);
    const outcomes = this.outcomes.get(id) ?? new Map<string, DriverOutcome>();
    const d = decide(state, { observations, outcomes, holds: this.opts.holds?.() ?? [] }, now, this.limits);
    const changed = d.events.length > 0;
    if (d.changed) {
      try {
        await this.store.saveRollout(
          id,
          rec.revision,
          { phase: d.nextState.phase, state: d.nextState, updatedAt: d.nextState.updatedAt },
          d.events,
          fence,
        );
      } catch (e) {
        if (isFenced(e)) {
          this.lostLease(id, 'the store refused a write with its token');
          return now + this.everyMs;
        }
        if (e instanceof EtapeError && e.code === 'store.conflict') {
          // A person's command (or another writer) came first: decide again on the new state.
          this.again.add(id);
          return now;
        }
        throw e;
      }
      for (const e of d.events) this.log.info({ rollout: id, type: e.type, ...(e.data as object) }, e.type);
    }
    // Outcomes the core has consumed are no longer needed.
    const wanted = new Set(
      Object.values(d.nextState.targets)
        .map((t) => t.key)
        .filter(Boolean),
    );
    for (const k of outcomes.keys()) if (!wanted.has(k)) outcomes.delete(k);
    if (outcomes.size === 0) this.outcomes.delete(id);

    for (const a of d.actions) {
      if (isDriverAction(a)) this.perform(d.nextState, a);
      else if (a.kind === 'observe') this.observe(id, a.target);
    }
    if (isTerminal(d.nextState.phase)) {
      this.forget(id);
      this.ended.add(id);
      this.holdings.delete(id);
      await this.store.releaseLease(leaseName(id), this.holder).catch(() => {});
    } else if (d.wakeAt !== undefined) this.wakeAt.set(id, d.wakeAt);
    else this.wakeAt.set(id, now + this.everyMs);
    // A state change may make the next step possible at once (next wave, rollback after halt).
    if (changed && !isTerminal(d.nextState.phase)) this.again.add(id);
    this.opts.onReconcile?.(id, performance.now() - started, d);
    return isTerminal(d.nextState.phase) ? undefined : this.wakeAt.get(id);
  }

  private forget(id: string): void {
    this.wakeAt.delete(id);
    this.lastReconciled.delete(id);
    this.outcomes.delete(id);
    this.holdings.delete(id);
  }

  private async evidence(state: RolloutState, now: number): Promise<Observation[]> {
    const specs = Object.values(state.gates).filter((g) => g.kind !== 'approval');
    // Without gates the versions targets report still prove a deploy (I9): a force has no gates.
    if (specs.length === 0 && !state.versionCheck) return [];
    const need = Math.max(
      0,
      ...specs.map((g) => Math.max(g.freshForMs, g.intervalMs * ((g.failAfter ?? g.failureLimit + 1) + g.consecutiveErrorLimit + 2))),
    );
    const window = Math.max(this.opts.evidenceWindowMs ?? 15 * 60_000, need);
    return this.store.queryObservations({ service: state.service, from: now - window });
  }

  /** Asks the driver what a target runs for a rollout proving a version, then reconciles the rollout again. */
  private observe(rolloutId: string, target: Target): void {
    void this.observeTarget(target).finally(() => {
      this.again.add(rolloutId);
      this.nudge();
    });
  }

  /**
   * Observes what a target runs through its driver and stores it as an observation (I9); one call at a time
   * per target (a caller while one runs shares it). Resolves once it is stored; never rejects.
   */
  observeTarget(target: Target): Promise<void> {
    const slot = `observe|${target.service}|${target.region}/${target.cell}`;
    const running = this.observing.get(slot);
    if (running) return running;
    const p = (async () => {
      const at = this.clock.now();
      let o: Observed;
      try {
        const driver = await this.driver(target.service);
        o = await driver.observe(target, AbortSignal.timeout(10_000));
      } catch (e) {
        o = { detail: `observe failed: ${(e as Error).message}` };
      }
      await this.store.recordObservations([
        {
          service: target.service,
          region: target.region,
          cell: target.cell,
          source: OBSERVE_SOURCE,
          at,
          verdict: o.version !== undefined ? 'pass' : 'error',
          ...(o.version !== undefined ? { version: o.version } : {}),
          detail: o.detail,
        },
      ]);
    })()
      .catch((e) => this.log.error({ err: e, target }, 'observe failed'))
      .finally(() => this.observing.delete(slot));
    this.observing.set(slot, p);
    return p;
  }

  private driver(service: string): Promise<Driver> {
    let d = this.drivers.get(service);
    if (!d) {
      const cfg = this.config.services.find((s) => s.name === service);
      d = (async () => {
        if (!cfg)
          throw new EtapeError('config.invalid', `service ${service} is no longer in the config; put it back to let its rollout finish`);
        const { createDriver, redactingDriver } = await import('../drivers/index.js');
        // What a driver reports goes to the event log that every viewer reads: never with a secret in it.
        const secrets = knownSecrets(this.config);
        if (this.opts.driverFor) return redactingDriver(await this.opts.driverFor(service, cfg), secrets);
        return createDriver(cfg, { clock: this.clock, log: this.log, fleet: this.config.fleet, secrets });
      })();
      this.drivers.set(service, d);
      d.catch(() => this.drivers.delete(service));
    }
    return d;
  }

  /** Performs one driver call at most once at a time per target; finished calls are answered from the store (I5). */
  private perform(state: RolloutState, a: DriverAction): void {
    const slot = `${a.rolloutId}|${a.target.region}/${a.target.cell}`;
    const prev = this.inflight.get(slot);
    if (prev?.key === a.key) return;
    const wait = this.notBefore.get(a.key);
    if (wait !== undefined && this.clock.now() < wait) return;
    const ac = new AbortController();
    const done = (async () => {
      if (prev) {
        // The core moved on (a rollback replaces a deploy in flight): stop the old call first.
        prev.ac.abort();
        await prev.done;
      }
      const outcome = await this.call(state, a, ac.signal);
      if (!outcome) return false;
      let m = this.outcomes.get(a.rolloutId);
      if (!m) this.outcomes.set(a.rolloutId, (m = new Map()));
      m.set(a.key, outcome);
      return true;
    })()
      .catch((e) => {
        this.log.error({ err: e, key: a.key }, 'driver call bookkeeping failed');
        return false;
      })
      .then((news) => {
        if (this.inflight.get(slot)?.key === a.key) this.inflight.delete(slot);
        if (news) {
          this.again.add(a.rolloutId);
          this.nudge();
        }
      });
    this.inflight.set(slot, { key: a.key, rolloutId: a.rolloutId, ac, done });
  }

  /** One driver call under the rollout's lease. Undefined when there is no outcome to give the core (fenced, stopped, or another holding's call may still run). */
  private async call(state: RolloutState, a: DriverAction, signal: AbortSignal): Promise<DriverOutcome | undefined> {
    const fence = this.fenceOf(a.rolloutId);
    if (!fence) return undefined;
    const target = `${a.target.region}/${a.target.cell}`;
    const driver = await this.driver(state.service).catch((e: Error) => e);
    let begun;
    try {
      begun = await this.store.beginAction(a.key, a.rolloutId, this.clock.now(), { fence, target });
      const b = begun.blocking;
      if (b && b.token != null && processGroupGone(b.place, b.pgid)) {
        // The other holding's attempt ran on this machine and its process group is gone: it is over.
        await this.store.attemptOver(b.key, b.token);
        begun = await this.store.beginAction(a.key, a.rolloutId, this.clock.now(), { fence, target });
      }
    } catch (e) {
      if (isFenced(e)) {
        this.lostLease(a.rolloutId, 'the store refused a driver call with its token');
        return undefined;
      }
      throw e;
    }
    const { record, created } = begun;
    if (begun.busyUntil !== undefined) {
      // Another controller's call on this target may still run (its attempt's timeout has not passed).
      const left = Math.max(0, begun.busyUntil - (await this.store.now()));
      this.notBefore.set(a.key, this.clock.now() + left);
      this.wakeAt.set(a.rolloutId, Math.min(this.wakeAt.get(a.rolloutId) ?? Infinity, this.clock.now() + left));
      this.log.info(
        { key: a.key, target, waitMs: left },
        'a call of another controller may still run on this target: waiting for its timeout',
      );
      return undefined;
    }
    this.notBefore.delete(a.key);
    if (record.status !== 'started') {
      const r = (record.result ?? {}) as Partial<DriverOutcome>;
      return { ok: record.status === 'succeeded', detail: r.detail ?? record.status, timedOut: r.timedOut };
    }
    const base = { key: a.key, target, version: a.version };
    try {
      await this.store.appendEvents(
        [
          {
            rolloutId: a.rolloutId,
            at: this.clock.now(),
            actor: 'controller',
            type: `driver.${a.kind}.started`,
            data: { ...base, repeated: !created },
          },
        ],
        fence,
      );
    } catch (e) {
      if (isFenced(e)) {
        this.lostLease(a.rolloutId, 'the store refused an event with its token');
        return undefined;
      }
      throw e;
    }
    const call: DriverCall = {
      key: a.key,
      rolloutId: a.rolloutId,
      target: a.target,
      version: a.version,
      fromVersion: a.fromVersion,
      leaseToken: fence.token,
      arm: (attemptMs) => this.arm(a.rolloutId, a.key, attemptMs),
      onSpawn: (pgid) => {
        const place = processPlace();
        if (place) void this.store.noteAttempt(a.key, fence.token, place, pgid).catch(() => {});
      },
    };
    let result: DriverResult;
    const started = performance.now();
    try {
      if (driver instanceof Error) throw driver;
      // A driver that does not arm each attempt is armed once for the whole call.
      if (!driver.armsAttempts && (await this.arm(a.rolloutId, a.key, driver.callMs ?? this.leaseMs)) === undefined) return undefined;
      const method = driver[a.kind]?.bind(driver);
      result = method
        ? await method(call, signal)
        : { ok: false, detail: `this driver cannot ${a.kind} (configure ${a.kind} for it)`, durationMs: 0, attempts: 0 };
    } catch (e) {
      // Drivers return failures as values; an exception is a bug or a missing driver, and still a failure.
      result = { ok: false, detail: `driver error: ${(e as Error).message}`, durationMs: 0, attempts: 1 };
    }
    this.opts.onDriverCall?.(a.kind, result, performance.now() - started);
    if (result.fenced) return undefined;
    if (signal.aborted && !result.ok) {
      // Stopped on purpose (the rollout moved on, the lease was lost, or shutdown): leave the action
      // `started` so that whoever holds the lease next repeats it if the core still wants it.
      return undefined;
    }
    const outcome: DriverOutcome = { ok: result.ok, detail: result.detail, timedOut: result.timedOut };
    try {
      // Recorded only if this holding still owns the call: the truth about a call that ran under its lease.
      await this.store.finishAction(
        a.key,
        result.ok ? 'succeeded' : 'failed',
        this.clock.now(),
        { ...outcome, durationMs: result.durationMs, attempts: result.attempts },
        fence,
      );
    } catch (e) {
      if (isFenced(e)) {
        this.lostLease(a.rolloutId, 'another controller took over the call');
        return undefined;
      }
      throw e;
    }
    await this.store
      .appendEvents(
        [
          {
            rolloutId: a.rolloutId,
            at: this.clock.now(),
            actor: 'controller',
            type: `driver.${a.kind}.${result.ok ? 'succeeded' : 'failed'}`,
            data: {
              ...base,
              detail: result.detail,
              timedOut: result.timedOut ?? false,
              durationMs: result.durationMs,
              attempts: result.attempts,
              output: result.output,
            },
          },
        ],
        fence,
      )
      .catch((e) => {
        // The result is in the call's record; the event is its echo in the history.
        if (!isFenced(e)) throw e;
      });
    return outcome;
  }

  /** Resolves when the rollout reaches a terminal phase (polling the store), or rejects after `timeoutMs` of this clock. */
  async waitFor(
    id: string,
    pred: (r: RolloutRecord) => boolean = (r) => isTerminal(r.phase),
    timeoutMs = 60 * 60_000,
  ): Promise<RolloutRecord> {
    const until = this.clock.now() + timeoutMs;
    for (;;) {
      const r = await this.store.getRollout(id);
      if (r && pred(r)) return r;
      if (this.clock.now() > until) throw new Error(`rollout ${id} did not reach the expected state in time`);
      await this.clock.sleep(Math.min(200, this.everyMs));
    }
  }
}

export type { DriverAction };
