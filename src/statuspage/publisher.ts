// One status build against the store, and the loop `etape serve` runs: read evidence and incidents,
// apply the automatic incident rules (one process at a time, under a lease), flag overdue updates, build
// the static site, then run the publish command. Failures of one cycle are logged; the loop goes on.
import { createNotifier } from '../notify/outbox.js';
import type { Observation } from '../core/types.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ms } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Fence, IncidentRecord, NewEvent, Store } from '../store/store.js';
import { BackoffLog } from '../store/health.js';
import { EtapeError } from '../core/errors.js';
import { Elected } from '../controller/membership.js';
import { DAY_MS } from '../sla/availability.js';
import { availabilityEvidence, seriesOptionsFromConfig } from '../sla/from-store.js';
import { MeasurementTracker, type MeasurementStarts } from '../sla/measurement.js';
import { incidentImpactFromStore, type IncidentImpact } from '../sla/incident-impact.js';
import { isOverdue, lastPublicUpdateAt } from '../incidents/lifecycle.js';
import { incidentRulesFromConfig, type ComponentTrack, type GateFailure } from '../incidents/rules.js';
import { deriveIncidents } from '../incidents/derive.js';
import { StatusTimeline, type StatusChange } from '../status/timeline.js';
import { componentNotification, incidentNotification, type Notifier } from '../incidents/notify.js';
import { componentsFromConfig, statusRulesFromConfig, type ComponentDef, type ComponentState } from '../status/status.js';
import { StatusChangeWatch } from './on-change.js';
import { maintenanceFromIncidents, measureFromSlaConfig, StoreHistorySource, type HistorySource } from './history.js';
import { createSiteModel, maintenanceSchedule, newBuildState, renderSite, writeSite, type BuildState, type WriteResult } from './build.js';
import type { SiteModel } from './model.js';

export interface StatusBuildOptions {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
  log?: Logger;
  /** Output folder; default statuspage.out. */
  outDir?: string;
  /** Apply the automatic incident rules (default true). */
  applyRules?: boolean;
  /** Run statuspage.publish after the build (default true). */
  publish?: boolean;
  notifier?: Notifier;
  /** Replaces the store-backed history (tests, benchmarks). */
  history?: HistorySource;
  /** With several servers: the publisher's holding; the site is written and published only while it is current. */
  fence?: () => Fence | undefined;
}

export interface StatusBuildReport {
  at: number;
  outDir: string;
  write: WriteResult;
  ms: number;
  headline: SiteModel['headline'];
  components: ComponentState[];
  incidents: IncidentRecord[];
  overdue: string[];
  actions: { kind: string; id: string; why: string }[];
  publish?: { ok: boolean; code: number | null; output: string };
}

/** Lookback for "latest" evidence: enough to say "stale since …" rather than "no evidence". */
const LATEST_LOOKBACK_MS = DAY_MS;
/** How often the figures of a resolved incident are recomputed while a month it touched is not over. */
const IMPACT_REFRESH_MS = 10 * 60_000;
/** Gate failures older than this are history, not a reason to open an incident now. */
const GATE_FAILURE_HORIZON_MS = DAY_MS;
/** How far back a restarted publisher replays the evidence it did not see. */
const RULES_HORIZON_MS = DAY_MS;
/** Evidence is read for the rules this much at a time. */
const REPLAY_SLICE_MS = 60 * 60_000;

/** A status builder that keeps what it can between builds (history, hashes, rule state). */
export class StatusBuilder {
  private state: BuildState = newBuildState();
  private history: HistorySource;
  private tracks: Record<string, ComponentTrack> | undefined;
  /** The components' status over time from the evidence, built up to where the rules last looked. */
  private timeline: StatusTimeline | undefined;
  private heldLease = false;
  private gateCursor = 0;
  private gateCursorReady = false;
  private overdueLogged = new Map<string, number>();
  private readonly holder = `statuspage-${randomBytes(4).toString('hex')}`;
  private readonly defs: ComponentDef[];
  private readonly notifier: Notifier;
  private readonly log: Logger;
  /** Availability evidence only: the same filter the history and the SLA report apply. */
  private readonly counts: (o: Observation) => boolean;
  private readonly measurement: MeasurementTracker;
  private impacts = new Map<string, { key: string; at: number; impact: IncidentImpact }>();

  constructor(private readonly o: StatusBuildOptions) {
    this.counts = availabilityEvidence(o.config);
    this.measurement = new MeasurementTracker(o.store, o.config, this.counts, { record: o.applyRules !== false });
    this.log = o.log ?? silentLogger;
    this.defs = componentsFromConfig(o.config);
    // Evidence is read with exactly the options the SLA report uses.
    this.history =
      o.history ?? new StoreHistorySource(o.store, seriesOptionsFromConfig(o.config), { measure: measureFromSlaConfig(o.config.sla) });
    this.notifier = o.notifier ?? createNotifier({ config: o.config, store: o.store, clock: o.clock, log: this.log });
  }

  get outDir(): string {
    return resolve(this.o.outDir ?? this.o.config.statuspage.out);
  }

  /** Waits for webhook deliveries started so far. */
  idle(): Promise<void> {
    return this.notifier.idle();
  }

  /** Waits for deliveries and lets another process apply the incident rules at once. */
  async close(): Promise<void> {
    await this.notifier.idle();
    this.heldLease = false;
    await this.o.store.releaseLease('statuspage.incidents', this.holder).catch(() => {});
  }

  private async loadIncidents(now: number, days: number): Promise<IncidentRecord[]> {
    const [open, recent] = await Promise.all([
      this.o.store.listIncidents({ open: true }),
      this.o.store.listIncidents({ since: now - days * DAY_MS, limit: 1000 }),
    ]);
    const by = new Map<string, IncidentRecord>();
    for (const i of [...recent, ...open]) by.set(i.id, i);
    return [...by.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * Where the rules pick up after a restart, or after another process held the lease: the components' tracks
   * as the stored `component.status_changed` events left them, and the newest of those changes (the rules
   * have seen everything before it). Nothing older than RULES_HORIZON_MS is replayed.
   */
  private async resume(now: number, incidents: IncidentRecord[]): Promise<void> {
    const tracks: Record<string, ComponentTrack> = {};
    const at: Record<string, number> = {};
    let last = -Infinity;
    const evs = await this.o.store.listEvents({ types: ['component.status_changed'] });
    for (const e of evs) {
      const d = e.data as Partial<ComponentTrack> & { id?: string };
      if (!(d.id && d.status && typeof d.since === 'number' && d.health && typeof d.healthSince === 'number')) continue;
      // The newest by time: a replay may store a change after one it happened later than.
      if (at[d.id] !== undefined && e.at < at[d.id]) continue;
      at[d.id] = e.at;
      tracks[d.id] = { status: d.status, since: d.since, health: d.health, healthSince: d.healthSince };
      last = Math.max(last, e.at);
    }
    const from = Math.min(now, Math.max(last, now - RULES_HORIZON_MS));
    const rules = statusRulesFromConfig(this.o.config.statuspage.rules);
    const seed = (await this.o.store.queryObservations({ from: from - rules.freshForMs, to: from + 1 })).filter(this.counts);
    this.tracks = tracks;
    this.timeline = new StatusTimeline(this.defs, seed, from, rules, maintenanceSchedule(incidents, this.defs));
  }

  private async gateFailures(now: number): Promise<GateFailure[]> {
    const evs = await this.o.store.listEvents({ types: ['rollout.halted', 'gate.failed'], afterSeq: this.gateCursor });
    const out: GateFailure[] = [];
    for (const e of evs) {
      this.gateCursor = Math.max(this.gateCursor, e.seq);
      if (e.at < now - GATE_FAILURE_HORIZON_MS || !e.rolloutId) continue;
      const d = (e.data ?? {}) as { gate?: string; wave?: number; reason?: string; regions?: string[]; region?: string; service?: string };
      if (!d.gate) continue; // a halt for another reason (a driver that gave up) is not a failed check
      const r = await this.o.store.getRollout(e.rolloutId);
      const st = (r?.state ?? {}) as { waves?: { index: number; regions?: string[] }[] };
      const regions = d.regions ?? (d.region ? [d.region] : (st.waves?.find((w) => w.index === d.wave)?.regions ?? []));
      const service = d.service ?? r?.service;
      if (!service) continue;
      out.push({
        key: `rollout:${e.rolloutId}`,
        rolloutId: e.rolloutId,
        service,
        version: r?.version,
        regions,
        gate: d.gate,
        detail: d.reason,
        at: e.at,
      });
    }
    return out;
  }

  private async applyRules(
    now: number,
    components: ComponentState[],
    incidents: IncidentRecord[],
  ): Promise<{ incidents: IncidentRecord[]; actions: StatusBuildReport['actions'] }> {
    const { config, store } = this.o;
    const interval = ms(config.statuspage.buildEvery);
    const got = await store.acquireLease('statuspage.incidents', this.holder, Math.max(60_000, 4 * interval));
    if (!got) {
      // Another process applies the rules; when this one takes over, it picks up from what that one stored.
      this.heldLease = false;
      return { incidents, actions: [] };
    }
    if (!this.heldLease || !this.timeline || !this.tracks) await this.resume(now, incidents);
    this.heldLease = true;
    // The rules' writes carry this holding: a builder that lost it (paused, then woken) changes nothing.
    const fence: Fence = { lease: 'statuspage.incidents', holder: this.holder, token: got.token };
    if (!this.gateCursorReady) {
      this.gateCursorReady = true;
      // Start from the horizon: older failures are history.
      const evs = await store.listEvents({ types: ['rollout.halted', 'gate.failed'] });
      const firstRecent = evs.find((e) => e.at >= now - GATE_FAILURE_HORIZON_MS);
      this.gateCursor = firstRecent ? firstRecent.seq - 1 : (evs[evs.length - 1]?.seq ?? 0);
    }
    const gates = await this.gateFailures(now);
    // The evidence since the rules last looked, read a slice at a time (a restart may replay up to a day).
    const timeline = this.timeline!;
    const from = timeline.at;
    const initial = timeline.states();
    const maintenance = maintenanceSchedule(incidents, this.defs);
    const fresh = statusRulesFromConfig(config.statuspage.rules).freshForMs;
    const changes: StatusChange[] = [];
    for (let t = from; t < now;) {
      const to = Math.min(now, t + REPLAY_SLICE_MS);
      const obs = (await store.queryObservations({ from: t - fresh, to: to + 1 })).filter(this.counts);
      changes.push(...timeline.advance(obs, to, maintenance));
      t = to;
    }
    const decision = deriveIncidents({
      state: { incidents, components: this.tracks! },
      initial,
      changes,
      gateFailures: gates,
      fromMs: from,
      toMs: now,
      rules: incidentRulesFromConfig(config.incidents),
    });
    this.tracks = decision.components;
    const by = new Map(incidents.map((i) => [i.id, i]));
    const actions: StatusBuildReport['actions'] = [];
    // Each incident is saved as the last action left it; every action is an event at the time it was taken.
    const final = new Map(decision.actions.map((a) => [a.incident.id, a.incident]));
    // Until every write below is done the store is behind this builder: a failure makes the next build
    // pick up from what was stored.
    this.heldLease = false;
    this.gateCursorReady = false;
    for (const i of final.values()) await store.saveIncident(i, fence);
    for (const a of decision.actions) {
      const type = a.kind === 'open' ? 'incident.opened' : a.kind === 'resolve' ? 'incident.resolved' : 'incident.updated';
      await store.appendEvents(
        [
          {
            rolloutId: typeof a.incident.data.rolloutId === 'string' ? a.incident.data.rolloutId : null,
            at: a.at,
            actor: 'etape',
            type,
            data: {
              id: a.incident.id,
              kind: a.incident.kind,
              status: a.incident.status,
              impact: a.incident.impact,
              components: a.incident.components,
              why: a.why,
            },
          },
        ],
        fence,
      );
      this.log.info(
        { incident: a.incident.id, why: a.why, status: a.incident.status, at: new Date(a.at).toISOString() },
        `automatic ${type}`,
      );
      this.notifier.notify(incidentNotification(type, a.incident, config.statuspage.url));
      by.set(a.incident.id, a.incident);
      actions.push({ kind: a.kind, id: a.incident.id, why: a.why });
    }
    if (decision.componentChanges.length) {
      await store.appendEvents(
        decision.componentChanges.map((c) => ({
          rolloutId: null,
          at: c.at,
          actor: 'etape',
          type: 'component.status_changed',
          data: { ...c.track, id: c.id, from: c.from, reason: c.reason },
        })),
        fence,
      );
      // The first sight of a component is not a change worth telling subscribers about.
      for (const c of decision.componentChanges) if (c.from !== null) this.notifier.notify(componentNotification(c));
    }
    this.heldLease = true;
    this.gateCursorReady = true;
    return { incidents: [...by.values()].sort((a, b) => b.createdAt - a.createdAt), actions };
  }

  /**
   * Measurements and credits of resolved incidents. Kept while the incident is unchanged; recomputed every
   * IMPACT_REFRESH_MS while a month it touched is not over (later downtime in that month moves its credit).
   * A failure leaves the page without them for that incident, and is logged.
   */
  private async resolvedImpacts(incidents: IncidentRecord[], now: number, starts: MeasurementStarts): Promise<Map<string, IncidentImpact>> {
    const out = new Map<string, IncidentImpact>();
    const maintenance = incidents.filter((i) => i.kind === 'maintenance');
    for (const i of incidents) {
      if (i.kind !== 'incident' || i.resolvedAt === null) continue;
      const key = `${i.updatedAt}|${i.components.join(',')}`;
      const hit = this.impacts.get(i.id);
      const settled = hit?.impact.months.every((m) => m.complete);
      if (hit && hit.key === key && (settled || now - hit.at < IMPACT_REFRESH_MS)) {
        out.set(i.id, hit.impact);
        continue;
      }
      try {
        const impact = await incidentImpactFromStore({
          config: this.o.config,
          store: this.o.store,
          incident: i,
          nowMs: now,
          starts,
          maintenance,
        });
        this.impacts.set(i.id, { key, at: now, impact });
        out.set(i.id, impact);
      } catch (e) {
        this.log.error({ err: e, incident: i.id }, 'could not measure a resolved incident; its page shows no figures this time');
      }
    }
    return out;
  }

  async build(): Promise<StatusBuildReport> {
    const started = performance.now();
    const { config, store, clock } = this.o;
    const sp = config.statuspage;
    const now = clock.now();
    let incidents = await this.loadIncidents(now, sp.historyDays);
    const latest = (await store.latestObservations({ since: now - LATEST_LOOKBACK_MS })).filter(this.counts);
    const components = createSiteModel({ statuspage: sp, defs: this.defs, observations: latest, incidents, now }).components;
    let actions: StatusBuildReport['actions'] = [];
    if (this.o.applyRules !== false) ({ incidents, actions } = await this.applyRules(now, components, incidents));

    const cadence = ms(sp.updateCadence);
    const overdue = incidents.filter((i) => isOverdue(i, now, cadence));
    for (const i of overdue) {
      const last = lastPublicUpdateAt(i);
      if (this.overdueLogged.get(i.id) === last) continue;
      this.overdueLogged.set(i.id, last);
      // An event operators can be notified of (notifications.operators: incident.update_overdue).
      if (this.o.applyRules !== false)
        await store.appendEvents([
          {
            rolloutId: typeof i.data.rolloutId === 'string' ? i.data.rolloutId : null,
            at: now,
            actor: 'etape',
            type: 'incident.update_overdue',
            data: { id: i.id, title: i.title, lastUpdateAt: last, reason: `no public update for ${Math.round((now - last) / 60_000)} min` },
          },
        ]);
      this.log.warn(
        { incident: i.id, lastUpdateAt: new Date(last).toISOString(), cadence: sp.updateCadence },
        `incident ${i.id} is overdue for a public update (last one ${Math.round((now - last) / 60_000)} min ago): etape incident update ${i.id} --message "…"`,
      );
    }

    const maintFn = maintenanceFromIncidents(incidents, config.sla);
    const starts: MeasurementStarts = await this.measurement.starts(this.defs, now);
    const measuredSince = new Map([...starts].map(([id, s]) => [id, s.atMs]));
    if (this.history instanceof StoreHistorySource) {
      this.history.setMaintenance(maintFn);
      this.history.setMeasuredSince((id) => measuredSince.get(id));
    }
    const history = await this.history.history(this.defs, now, sp.historyDays);

    // The model again, with the incidents the rules just changed and the history.
    const impacts = await this.resolvedImpacts(incidents, now, starts);
    const model = createSiteModel({
      statuspage: sp,
      defs: this.defs,
      observations: latest,
      incidents,
      history,
      now,
      measuredSince,
      impacts,
      signupBaseUrl: config.notifications.email?.publicUrl,
    });
    const files = renderSite(model, this.state);
    if (this.o.fence && !this.o.fence())
      throw new EtapeError('store.fenced', 'this server no longer publishes the status page: another server holds statuspage.publisher');
    const write = await writeSite(this.outDir, files, now, this.state, ms(sp.staleAfter) / 2);
    const report: StatusBuildReport = {
      at: now,
      outDir: this.outDir,
      write,
      ms: Math.round(performance.now() - started),
      headline: model.headline,
      components: model.components,
      incidents,
      overdue: overdue.map((i) => i.id),
      actions,
    };
    if (sp.publish && this.o.publish !== false) {
      report.publish = await runPublish(sp.publish, this.outDir);
      if (!report.publish.ok)
        this.log.error({ code: report.publish.code, output: report.publish.output }, 'statuspage.publish command failed');
    }
    return report;
  }
}

/** Runs the publish command with ETAPE_STATUS_DIR set; output is kept short for the log. */
export function runPublish(
  command: string,
  dir: string,
  timeoutMs = 5 * 60_000,
): Promise<{ ok: boolean; code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, { shell: true, env: { ...process.env, ETAPE_STATUS_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (b: Buffer) => {
      out = (out + b.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(t);
      done({ ok: false, code: null, output: e.message });
    });
    child.on('close', (code) => {
      clearTimeout(t);
      done({ ok: code === 0, code, output: out.trim() });
    });
  });
}

/** The lease whose holder builds and publishes the status page when several servers share a store. */
export const PUBLISHER_LEASE = 'statuspage.publisher';

export interface StatusPublisher {
  /** Builds now (after any build in progress) and returns its report. */
  buildNow(): Promise<StatusBuildReport>;
  /** New evidence (what the probes and runners record): a component status it changes is published at once. */
  evidence(obs: readonly Observation[]): void;
  /** Events the controller recorded: a halt or a failed gate lets the incident rules open an incident at once. */
  events(evs: readonly Pick<NewEvent, 'type'>[]): void;
  readonly lastReport: StatusBuildReport | undefined;
  stop(): Promise<void>;
}

/** Events after which the incident rules may open or update an incident. */
const RULE_EVENTS: ReadonlySet<string> = new Set(['rollout.halted', 'gate.failed']);
/** How long a change waits for more before the build it asks for (a burst of probe failures is one build). */
const DEFAULT_DEBOUNCE_MS = 250;

/**
 * Builds the status page every `intervalMs` (default statuspage.buildEvery) until stopped: the heartbeat that
 * keeps generated_at fresh. In between, evidence that changes a component's status and controller events the
 * incident rules act on (`evidence`, `events`) build and publish at once, `debounceMs` after the first of them.
 */
export function startStatusPublisher(o: {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
  log?: Logger;
  intervalMs?: number;
  debounceMs?: number;
  outDir?: string;
  notifier?: Notifier;
  /**
   * Several servers on one store: only the one holding the `statuspage.publisher` lease (for `leaseMs`,
   * renewed every fifth of it) builds and publishes; another takes over within the lease time after it stops.
   */
  elect?: { holder: string; leaseMs: number };
  /** Told of each build once its files are written (benchmarks: when the page showed a change). */
  onBuilt?: (r: StatusBuildReport) => void;
}): StatusPublisher {
  const log = o.log ?? silentLogger;
  let wake: AbortController | undefined;
  const elected = o.elect
    ? new Elected({
        store: o.store,
        lease: PUBLISHER_LEASE,
        holder: o.elect.holder,
        leaseMs: o.elect.leaseMs,
        log,
        onGain: () => wake?.abort(),
      })
    : undefined;
  const builder = new StatusBuilder({
    store: o.store,
    config: o.config,
    clock: o.clock,
    log,
    outDir: o.outDir,
    notifier: o.notifier,
    ...(elected ? { fence: () => elected.fence() } : {}),
  });
  const interval = o.intervalMs ?? ms(o.config.statuspage.buildEvery);
  const debounceMs = o.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const ac = new AbortController();
  elected?.start();
  let last: StatusBuildReport | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const once = (): Promise<StatusBuildReport> => {
    const p = chain.then(() => builder.build());
    chain = p.catch(() => {});
    return p.then((r) => {
      last = r;
      o.onBuilt?.(r);
      return r;
    });
  };
  // A build that keeps failing (a store that cannot be written) is said once, then with backoff.
  const failures = new BackoffLog(log, 'status page build (the previous page stays published and will show its age)');
  const built = (r: StatusBuildReport, why: string) => {
    failures.ok();
    log.debug({ why, written: r.write.written, files: r.write.files, ms: r.ms, status: r.headline.status }, 'status page built');
  };
  const failed = (e: unknown) => {
    // Another server took the publisher's lease: not a failure of the build.
    if (e instanceof EtapeError && e.code === 'store.fenced') log.warn(e.message);
    else failures.failed(e);
  };

  // Publish on change, debounced: one build per burst, started after any build in progress.
  const watch = new StatusChangeWatch(
    componentsFromConfig(o.config),
    statusRulesFromConfig(o.config.statuspage.rules),
    availabilityEvidence(o.config),
  );
  let seeded = false;
  const early: Observation[] = [];
  const seeding = o.store
    .latestObservations({ since: o.clock.now() - LATEST_LOOKBACK_MS })
    .then((obs) => watch.seed(obs))
    .catch((e: unknown) =>
      log.warn({ err: e }, 'could not read the latest evidence: changes are published by the timed build only until it can'),
    )
    .finally(() => {
      seeded = true;
      watch.seed(early.splice(0));
    });
  let pending: { timer: NodeJS.Timeout; why: string } | undefined;
  const soon = (why: string) => {
    // With several servers only the publisher builds; a change seen by another is published at its next timed build.
    if (ac.signal.aborted || pending || (elected && !elected.fence())) return;
    const timer = setTimeout(() => {
      pending = undefined;
      once().then((r) => built(r, why), failed);
    }, debounceMs);
    pending = { timer, why };
  };

  const loop = (async () => {
    while (!ac.signal.aborted) {
      if (!elected || elected.fence()) {
        try {
          built(await once(), 'heartbeat');
        } catch (e) {
          failed(e);
        }
      }
      // A server that takes the publisher's lease builds at once (onGain ends this sleep).
      wake = new AbortController();
      await o.clock.sleep(interval, AbortSignal.any([ac.signal, wake.signal]));
      wake = undefined;
    }
  })();
  return {
    buildNow: once,
    evidence(obs) {
      if (!seeded) {
        early.push(...obs);
        return;
      }
      const changed = watch.offer(obs, o.clock.now());
      if (changed.length) soon(`status of ${changed.join(', ')} changed`);
    },
    events(evs) {
      const hit = evs.find((e) => RULE_EVENTS.has(e.type));
      if (hit) soon(hit.type);
    },
    get lastReport() {
      return last;
    },
    async stop() {
      ac.abort();
      if (pending) clearTimeout(pending.timer);
      pending = undefined;
      await seeding;
      await loop;
      await chain;
      await builder.close();
      await elected?.stop();
    },
  };
}
