// The line-stop supervisor of `etape serve`: reads the health signals' evidence, the active rollouts and the
// freezes from the store, asks the pure core (src/linestop/line.ts) what to do, and does it: pauses,
// rolls back the rollout to blame, resumes the others, opens an incident when no change explains a fault.
// It keeps nothing that matters in memory: every tick decides afresh from the store.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Observation, Target } from '../core/types.js';
import { ms } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import type { HealthSignalConfig } from '../config/health.js';
import type { Store } from '../store/store.js';
import type { ProbeCheck } from '../evidence/prober.js';
import { targetVars } from '../evidence/probe.js';
import { measuredGateSpec } from '../gates/gate.js';
import { regionHealth, REGION_SERVICE, type HealthSignal, type RegionHealth } from '../linestop/health.js';
import { decideLine, LINE_STOP_ACTOR, type Hold, type LineDecision } from '../linestop/line.js';
import type { RolloutFootprint } from '../linestop/blame.js';
import { ACTIVE_PHASES } from '../rollout/phases.js';
import { command } from '../rollout/operations.js';
import { BackoffLog } from '../store/health.js';
import { activeFreezes, rolloutRegions } from '../rollout/freeze-operations.js';
import type { RolloutState } from '../rollout/state.js';
import { stateIfValid } from '../rollout/state-schema.js';
import { newIncidentId, openIncident, resolveIncident } from '../incidents/lifecycle.js';

/** The observation source a health signal's probe writes. */
export function healthSource(name: string): string {
  return `health.${name}`;
}

function signalRegions(config: EtapeConfig, h: HealthSignalConfig) {
  const svc = h.service ? config.services.find((s) => s.name === h.service) : undefined;
  let regions = config.fleet.regions;
  if (svc && svc.regions !== 'all') regions = regions.filter((r) => (svc.regions as string[]).includes(r.id));
  if (h.regions !== 'all') regions = regions.filter((r) => (h.regions as string[]).includes(r.id));
  return regions;
}

/** Probe checks of every health signal, for the prober (one per target the signal measures). */
export function healthProbeChecks(config: EtapeConfig): ProbeCheck[] {
  const out: ProbeCheck[] = [];
  for (const h of config.health.signals) {
    for (const region of signalRegions(config, h)) {
      for (const cell of region.cells) {
        const target: Target = { service: h.service ?? REGION_SERVICE, region: region.id, cell: cell.id };
        out.push({ target, probe: { ...h.probe, name: healthSource(h.name) }, vars: targetVars(config.fleet, target) });
      }
    }
  }
  return out;
}

/** The health signals as the pure core reads them. */
export function healthSignals(config: EtapeConfig): HealthSignal[] {
  return config.health.signals.map((h) => ({
    name: h.name,
    source: healthSource(h.name),
    ...(h.service ? { service: h.service } : {}),
    targets: signalRegions(config, h).flatMap((r) => r.cells.map((c) => ({ id: `${r.id}/${c.id}`, region: r.id, cell: c.id }))),
    spec: measuredGateSpec(
      {
        kind: 'probe',
        name: h.name,
        probe: h.name,
        failAfter: h.failAfter,
        failureLimit: 0,
        consecutiveErrorLimit: 4,
        inconclusiveLimit: 1e9,
        ...(h.freshFor ? { freshFor: h.freshFor } : {}),
      },
      { kind: 'probe', sources: [healthSource(h.name)], interval: h.probe.interval, timeout: h.probe.timeout, failAfter: h.failAfter },
    ),
  }));
}

/** What a rollout changed, from its stored state. */
export function footprintOf(id: string, s: RolloutState): RolloutFootprint & { regions: string[] } {
  const changes: RolloutFootprint['changes'] = [];
  for (const t of Object.values(s.targets)) {
    if (t.status === 'pending') continue;
    // A deploy in flight is a change already: the new version may be running before the call returns.
    const at = t.deployedAt ?? s.waves.find((w) => w.index === t.wave)?.startedAt;
    if (at === undefined) continue;
    // Until its rollback is done, a target still runs (or may run) the new version.
    const onNewVersion = t.status !== 'rolled_back' && !(t.status === 'failed' && t.deployedAt === undefined);
    changes.push({ target: t.id, region: t.region, at, onNewVersion });
  }
  return {
    id,
    service: s.service,
    version: s.version,
    phase: s.phase,
    ...(s.pausedBy !== undefined ? { pausedBy: s.pausedBy } : {}),
    changes,
    regions: rolloutRegions(s),
  };
}

export interface LineStopOptions {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
  log?: Logger;
  /** Called when holds or rollouts changed, so the controller looks at once. */
  onChange?: () => void;
}

export class LineStop {
  private readonly opts: LineStopOptions;
  private readonly log: Logger;
  private readonly signals: HealthSignal[];
  private holdsNow: Hold[] = [];
  private lastDecision: LineDecision | undefined;
  private lastHealth: RegionHealth[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The newest line event per region, read incrementally from the store. */
  private lineEvents = new Map<string, { type: string; since?: number; blamed?: string }>();
  private lineSeq = 0;
  /** Faults already blamed, per region (from line.blamed events). */
  private explained = new Map<string, { region: string; since: number; rolloutId: string }>();

  constructor(opts: LineStopOptions) {
    this.opts = opts;
    this.log = opts.log ?? silentLogger;
    this.signals = healthSignals(opts.config);
  }

  /** Freezes and failing regions in force, as of the last tick. */
  holds(): readonly Hold[] {
    return this.holdsNow;
  }

  /** The last decision and region health, for status and the API. */
  status(): { health: RegionHealth[]; decision?: LineDecision } {
    return { health: this.lastHealth, ...(this.lastDecision ? { decision: this.lastDecision } : {}) };
  }

  start(): void {
    const every = Math.max(100, ms(this.opts.config.health.every));
    const failures = new BackoffLog(this.log, 'line-stop: tick');
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .then(() => undefined)
        .then(() => failures.ok())
        .catch((e: unknown) => failures.failed(e))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, every);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One look at the line: decide from the store and act. */
  async tick(): Promise<LineDecision> {
    const { store, config, clock } = this.opts;
    const now = clock.now();
    const windowMs = ms(config.health.window);
    const observations: Observation[] = [];
    for (const s of this.signals) {
      const from = now - Math.max(windowMs, 4 * s.spec.freshForMs);
      observations.push(...(await store.queryObservations({ service: s.service ?? REGION_SERVICE, source: s.source, from })));
    }
    const health = regionHealth(this.signals, observations, now);
    const records = await store.listRollouts({ phases: [...ACTIVE_PHASES] });
    const rollouts = records.flatMap((r) => {
      const s = stateIfValid(r.state, r.id);
      return s ? [footprintOf(r.id, s)] : [];
    });
    const freezes = await activeFreezes(store);
    await this.readLineEvents();
    const d = decideLine({
      now,
      regions: health,
      rollouts,
      freezes,
      settings: { windowMs, confidence: config.health.confidence },
      explained: [...this.explained.values()],
    });
    const before = JSON.stringify(this.holdsNow);
    this.holdsNow = d.holds;
    let changed = JSON.stringify(d.holds) !== before;
    await this.record(d, now);
    const ctx = { store, clock };
    for (const p of d.pause) {
      changed = true;
      this.log.warn({ rollout: p.rolloutId, by: p.actor }, p.reason);
      await command(ctx, p.rolloutId, { kind: 'pause', reason: p.reason }, p.actor).catch((e: unknown) =>
        this.fail('pause', p.rolloutId, e),
      );
    }
    for (const b of d.rollBack) {
      changed = true;
      this.log.warn({ rollout: b.rolloutId, region: b.region, confidence: b.confidence }, b.reason);
      await command(ctx, b.rolloutId, { kind: 'abort', reason: b.reason }, LINE_STOP_ACTOR).catch((e: unknown) =>
        this.fail('abort', b.rolloutId, e),
      );
    }
    for (const r of d.resume) {
      changed = true;
      this.log.info({ rollout: r.rolloutId }, `line-stop: resuming: ${r.reason}`);
      await command(ctx, r.rolloutId, { kind: 'resume' }, LINE_STOP_ACTOR).catch((e: unknown) => this.fail('resume', r.rolloutId, e));
    }
    await this.incidents(d, now);
    this.lastDecision = d;
    this.lastHealth = health;
    if (changed) this.opts.onChange?.();
    return d;
  }

  private fail(what: string, id: string, e: unknown): void {
    this.log.warn({ rollout: id, err: e instanceof Error ? e.message : String(e) }, `line-stop: could not ${what}`);
  }

  /** Reads the line events appended since the last look (by this or another server). */
  private async readLineEvents(): Promise<void> {
    const last = this.lineEvents;
    for (const e of await this.opts.store.listEvents({ types: ['line.stopped', 'line.blamed', 'line.cleared'], afterSeq: this.lineSeq })) {
      this.lineSeq = Math.max(this.lineSeq, e.seq);
      const data = e.data as { region: string; since?: number; blamed?: string };
      if (e.type === 'line.blamed') {
        const prev = last.get(data.region);
        if (prev) prev.blamed = data.blamed;
        if (data.blamed !== undefined && data.since !== undefined)
          this.explained.set(data.region, { region: data.region, since: data.since, rolloutId: data.blamed });
        continue;
      }
      last.set(data.region, { type: e.type, since: data.since });
      if (e.type === 'line.cleared') this.explained.delete(data.region);
    }
  }

  /** Events when a region stops or clears the line, once per fault (the newest such event says which). */
  private async record(d: LineDecision, now: number): Promise<void> {
    const { store } = this.opts;
    const last = this.lineEvents;
    const events = [];
    for (const s of d.stopped) {
      const prev = last.get(s.region);
      if (!prev || prev.type !== 'line.stopped' || prev.since !== s.since) {
        events.push({
          rolloutId: null,
          at: now,
          actor: LINE_STOP_ACTOR,
          type: 'line.stopped',
          data: {
            region: s.region,
            since: s.since,
            failingTargets: s.failingTargets,
            suspects: s.suspects.map((x) => ({ rollout: x.rolloutId, confidence: x.confidence, explanation: x.explanation })),
            explanation: s.explanation,
          },
        });
      }
      if (s.blamed && prev?.blamed !== s.blamed) {
        events.push({
          rolloutId: s.blamed,
          at: now,
          actor: LINE_STOP_ACTOR,
          type: 'line.blamed',
          data: { region: s.region, since: s.since, blamed: s.blamed, explanation: s.explanation },
        });
        this.explained.set(s.region, { region: s.region, since: s.since, rolloutId: s.blamed });
      }
    }
    const stoppedNow = new Set(d.stopped.map((s) => s.region));
    for (const [region, prev] of last) {
      if (prev.type === 'line.stopped' && !stoppedNow.has(region))
        events.push({ rolloutId: null, at: now, actor: LINE_STOP_ACTOR, type: 'line.cleared', data: { region, since: prev.since } });
    }
    if (events.length) await store.appendEvents(events);
  }

  /** An incident for every stopped region that no change explains; resolved when the region is healthy. */
  private async incidents(d: LineDecision, now: number): Promise<void> {
    const { store, config } = this.opts;
    const open = (await store.listIncidents({ open: true, kind: 'incident' })).filter((i) => i.source === 'auto:line-stop');
    for (const s of d.stopped) {
      if (s.blamed) continue;
      if (open.some((i) => i.data.region === s.region)) continue;
      const components = config.services
        .filter((svc) => svc.regions === 'all' || (svc.regions as string[]).includes(s.region))
        .map((svc) => `${svc.name}/${s.region}`);
      const inc = openIncident(
        {
          id: newIncidentId('incident', now, randomBytes(3).toString('hex')),
          title: `${s.region}: failing health signals that no rollout explains`,
          impact: 'major',
          components,
          source: 'auto:line-stop',
          body: `${s.failingTargets.length} target(s) in ${s.region} fail their health signals since ${new Date(s.since).toISOString()}. Rollouts that changed the region are paused, and no wave starts there until it is healthy. ${s.explanation}.`,
          actor: LINE_STOP_ACTOR,
          data: { region: s.region },
        },
        now,
      );
      await store.saveIncident(inc);
    }
    const stopped = new Set(d.stopped.map((s) => s.region));
    for (const i of open) {
      const region = i.data.region as string;
      if (stopped.has(region)) continue;
      await store.saveIncident(
        resolveIncident(i, `${region} passes its health signals again; paused rollouts resume.`, LINE_STOP_ACTOR, now),
      );
    }
  }
}
