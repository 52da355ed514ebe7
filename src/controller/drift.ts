// The drift watcher of `etape serve` (I9): every `services[].version.every` it asks each target's driver what
// it runs (where the driver can observe), reads the versions the probes report, and hands both with what the
// store says (what etape last verified, the active rollout, the drift marks) to the pure core
// (src/drift/drift.ts). It appends the drift events (the operator notifier routes them as `drift.*`), logs
// one line per change, and with `drift: revert` starts the revert: a rollout that only rolls back, which the
// controller drives along the pair-safe order. One server watches at a time (a lease); nothing that matters
// is held in memory: marks are folded from the stored events.
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import { EtapeError } from '../core/errors.js';
import { ms } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import type { ServiceConfig } from '../config/service.js';
import type { Target } from '../core/types.js';
import type { Store } from '../store/store.js';
import { buildFleet, pairEdges } from '../fleet/fleet.js';
import { compileGate } from '../gates/index.js';
import { isActive, isTerminal } from '../rollout/phases.js';
import { touchedTargets } from '../rollout/state.js';
import { stateIfValid } from '../rollout/state-schema.js';
import { driverObserves, newRolloutId, verifiedVersions, versionCheckOf } from '../rollout/operations.js';
import { decideDrift, DRIFT_ACTOR, marksOf, revertRolloutState, type DriftDecision, type DriftMark } from '../drift/drift.js';
import { driftSources, driftTargets, readDriftMarks } from '../drift/operations.js';

const LEASE = 'drift:watch';
/** Observe calls at once per service. */
const OBSERVE_PARALLEL = 8;

export interface DriftWatcherOptions {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
  log?: Logger;
  /** Lease holder name (the controller's). */
  holder: string;
  /** Asks a target's driver what it runs and stores the answer (the controller's observe). */
  observe: (target: Target) => Promise<void>;
  /** A revert rollout was created: the controller should pick it up at once. */
  onRevert?: () => void;
}

/** How often a service is looked at: its `version.every` (default 30 s). */
function everyOf(svc: ServiceConfig): number {
  return ms(svc.version?.every ?? '30s');
}

export class DriftWatcher {
  private readonly o: DriftWatcherOptions;
  private readonly log: Logger;
  private marks = new Map<string, DriftMark>();
  private seq = 0;
  /** When each service was last looked at (this clock): only the schedule lives here. */
  private lookedAt = new Map<string, number>();
  /** The last reason a revert waits, per service, so that it is logged once. */
  private waits = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly tickMs: number;

  constructor(o: DriftWatcherOptions) {
    this.o = o;
    this.log = o.log ?? silentLogger;
    const watched = o.config.services.filter(watches);
    this.tickMs = Math.max(250, Math.min(...watched.map(everyOf), 30_000) / 4);
  }

  start(): void {
    if (!this.o.config.services.some(watches)) return;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((e: unknown) => this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'drift: look failed; trying again'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Looks at every service that is due; returns the decisions made (tests). */
  async tick(): Promise<DriftDecision[]> {
    const { store, config, clock } = this.o;
    const watched = config.services.filter(watches);
    const leaseMs = Math.max(10_000, 3 * Math.max(...watched.map(everyOf)));
    if (!(await store.acquireLease(LEASE, this.o.holder, leaseMs))) return [];
    const read = await readDriftMarks(store, { marks: this.marks, afterSeq: this.seq });
    this.seq = read.seq;
    const out: DriftDecision[] = [];
    for (const svc of watched) {
      const at = this.lookedAt.get(svc.name);
      if (at !== undefined && clock.now() - at < everyOf(svc)) continue;
      this.lookedAt.set(svc.name, clock.now());
      out.push(await this.look(svc));
    }
    return out;
  }

  private async look(svc: ServiceConfig): Promise<DriftDecision> {
    const { store, config, clock } = this.o;
    const every = everyOf(svc);
    // Rollouts first, then the verified version: a rollout that completes in between is still seen active,
    // so its targets are its own, and the version it verified is not compared with what ran before it.
    const recent = await store.listRollouts({ service: svc.name, limit: 20 });
    const targets = driftTargets(config, svc);
    const activeRec = recent.find((r) => isActive(r.phase));
    const active = activeRec
      ? { id: activeRec.id, touched: touchedOf(activeRec.state, activeRec.id) ?? targets.map((t) => `${t.region}/${t.cell}`) }
      : undefined;
    const lastEnded = recent.find((r) => isTerminal(r.phase));
    const lastState = lastEnded ? stateIfValid(lastEnded.state, lastEnded.id) : undefined;
    const left =
      lastEnded?.phase === 'failed' && lastState
        ? {
            id: lastEnded.id,
            targets: touchedTargets(lastState)
              .filter((t) => t.status === 'failed' || t.held)
              .map((t) => t.id),
          }
        : undefined;
    const { version: verified, targets: verifiedFor } = await verifiedVersions(store, svc);
    if ((verified !== undefined || Object.keys(verifiedFor).length > 0) && versionCheckOf(svc).observe) {
      const ask = targets
        .filter((t) => !active?.touched.includes(`${t.region}/${t.cell}`))
        .map((t) => ({ service: svc.name, region: t.region, cell: t.cell }));
      for (let i = 0; i < ask.length; i += OBSERVE_PARALLEL) await Promise.all(ask.slice(i, i + OBSERVE_PARALLEL).map(this.o.observe));
    }
    const now = clock.now();
    const ended = recent.filter((r) => isTerminal(r.phase)).map((r) => stateIfValid(r.state, r.id)?.endedAt ?? r.updatedAt);
    const since = Math.max(now - Math.max(4 * every, 120_000), ...ended);
    const observations = await store.latestObservations({ service: svc.name, since });
    const d = decideDrift({
      service: svc.name,
      mode: svc.drift,
      targets,
      verified,
      verifiedFor,
      observations,
      sources: driftSources(svc),
      since,
      ...(active ? { active } : {}),
      ...(left ? { left } : {}),
      marks: marksOf(this.marks, svc.name),
      now,
    });
    if (d.events.length) {
      await store.appendEvents(d.events);
      for (const e of d.events) {
        const data = e.data as { reason: string; targets: unknown[] };
        if (e.type === 'drift.detected')
          this.log.warn({ service: svc.name, targets: data.targets, mode: svc.drift }, `drift: ${svc.name}: ${data.reason}`);
        else this.log.info({ service: svc.name, targets: data.targets }, `drift cleared: ${svc.name}: ${data.reason}`);
      }
      // The store is the truth; read back what was appended (by this server) before the next look.
      const read = await readDriftMarks(store, { marks: this.marks, afterSeq: this.seq });
      this.seq = read.seq;
    }
    const wait = d.revertWaits ?? '';
    if (wait !== (this.waits.get(svc.name) ?? '')) {
      if (wait) this.log.info({ service: svc.name }, `drift: ${svc.name}: no automatic revert now: ${wait}`);
      this.waits.set(svc.name, wait);
    }
    if (d.revert) await this.revert(svc, d.revert, now);
    return d;
  }

  /** Creates the revert rollout (halted, so the core rolls it back) with its drift.revert_started event, in one transaction. */
  private async revert(svc: ServiceConfig, r: NonNullable<DriftDecision['revert']>, now: number): Promise<void> {
    const { store, config } = this.o;
    const id = newRolloutId(`${svc.name}-drift`, now);
    const state = revertRolloutState({
      id,
      service: svc.name,
      version: r.version,
      expected: r.expected,
      targets: r.targets,
      gates: svc.gates.filter((g) => g.kind === 'probe').map((g) => compileGate(g, svc)),
      pairs: pairEdges(buildFleet(config.fleet)),
      versionCheck: versionCheckOf(svc),
      now,
    });
    const targets = r.targets.map((m) => ({ target: m.target, region: m.region, cell: m.cell, version: m.version }));
    const reason = state.stop!.reason;
    try {
      await store.createRollout({ id, service: svc.name, version: r.version, phase: state.phase, state, createdAt: now, updatedAt: now }, [
        {
          rolloutId: id,
          at: now,
          actor: DRIFT_ACTOR,
          type: 'rollout.created',
          data: {
            service: svc.name,
            version: r.version,
            fromVersion: r.expected,
            drift: true,
            targets: targets.map((t) => t.target),
            reason,
          },
        },
        {
          rolloutId: id,
          at: now,
          actor: DRIFT_ACTOR,
          type: 'drift.revert_started',
          data: { service: svc.name, expected: r.expected, targets, reason },
        },
      ]);
    } catch (e) {
      // A person started a rollout in between (one active rollout per service): the next look decides again.
      if (e instanceof EtapeError && e.code === 'conflict') return;
      throw e;
    }
    this.log.warn({ service: svc.name, rollout: id, targets: targets.map((t) => t.target) }, `drift: ${svc.name}: reverting: ${reason}`);
    const read = await readDriftMarks(store, { marks: this.marks, afterSeq: this.seq });
    this.seq = read.seq;
    this.o.onRevert?.();
  }
}

/** The targets an active rollout touched; undefined when its state does not load (then none is judged). */
function touchedOf(raw: unknown, id: string): string[] | undefined {
  const s = stateIfValid(raw, id);
  return s ? touchedTargets(s).map((t) => t.id) : undefined;
}

/** A service whose versions can be read: by its driver's observe, or by its probes. */
function watches(svc: ServiceConfig): boolean {
  return driverObserves(svc) || svc.probes.length > 0;
}
