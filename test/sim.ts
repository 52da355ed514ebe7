// An in-memory harness around the pure core, on a virtual clock: targets that answer probes according to
// the version they run, a driver whose outcomes a test chooses, and a loop that asks the core, performs
// its actions and advances time to when it wants to look again. Used by the core tests; not part of the build.
import { VirtualClock } from '../src/core/clock.js';
import { OBSERVE_SOURCE, type Observation, type Verdict } from '../src/core/types.js';
import type { NewEvent } from '../src/store/store.js';
import type { Plan, Wave } from '../src/plan/types.js';
import type { GateSpec } from '../src/gates/gate.js';
import {
  decide,
  DEFAULT_LIMITS,
  isDriverAction,
  type Decision,
  type DriverAction,
  type DriverOutcome,
  type Limits,
} from '../src/rollout/decide.js';
import { applyCommand, type Command } from '../src/rollout/commands.js';
import { isTerminal } from '../src/rollout/phases.js';
import { newRolloutState, type RolloutState } from '../src/rollout/state.js';

export function handPlan(service: string, waves: { targets: string[]; bakeMs: number; gates?: string[]; approval?: boolean }[]): Plan {
  const ws: Wave[] = waves.map((w, i) => {
    const targets = w.targets.map((id) => {
      const [region, cell] = id.split('/');
      return { region, cell, weight: 1 };
    });
    return {
      index: i + 1,
      kind: i === 0 ? 'canary' : i === 1 ? 'first' : 'later',
      targets,
      regions: [...new Set(targets.map((t) => t.region))],
      weight: targets.length,
      bakeMs: w.bakeMs,
      gates: w.gates ?? [],
      approval: w.approval ?? false,
    };
  });
  return {
    service,
    waves: ws,
    totalWeight: ws.reduce((a, w) => a + w.weight, 0),
    minDurationMs: ws.reduce((a, w) => a + w.bakeMs, 0),
    growth: 2,
  };
}

export function probeGateSpec(name = 'health', opts: Partial<GateSpec> = {}): GateSpec {
  return {
    name,
    kind: 'probe',
    sources: ['http'],
    intervalMs: 10_000,
    freshForMs: 30_000,
    failureLimit: 0,
    failAfter: 3,
    consecutiveErrorLimit: 4,
    inconclusiveLimit: 10,
    config: { kind: 'probe', name, probe: 'http', failAfter: 3, failureLimit: 0, consecutiveErrorLimit: 4, inconclusiveLimit: 10 },
    ...opts,
  };
}

export interface SimOptions {
  plan: Plan;
  gates?: GateSpec[];
  version?: string;
  fromVersion?: string;
  limits?: Partial<Limits>;
  start?: number;
  /** What a probe of `target` running `version` finds at `now`; undefined records nothing (no evidence). */
  probe?: (
    target: string,
    version: string,
    now: number,
  ) => { verdict: Verdict; detail?: string; source?: string; value?: number; evidenceFraction?: number; timedOut?: boolean } | undefined;
  /** Outcome of a driver call. */
  driver?: (a: DriverAction, sim: Sim) => DriverOutcome;
  /** How often the simulated prober measures. */
  probeEveryMs?: number;
  /** Pair edges between the plan's regions. */
  pairs?: [string, string][];
  /** How targets prove their version (I9); observe actions are answered from what the sim's targets run. */
  versionCheck?: RolloutState['versionCheck'];
  /** The driver drains and restores (RolloutState.drain). */
  drain?: boolean;
  /** Whether a successful driver call really changes what the target runs (default: yes; drain and restore never do). */
  takesEffect?: (a: DriverAction) => boolean;
}

export class Sim {
  readonly clock: VirtualClock;
  state: RolloutState;
  readonly events: NewEvent[] = [];
  readonly calls: DriverAction[] = [];
  readonly versions = new Map<string, string>();
  observations: Observation[] = [];
  private outcomes = new Map<string, DriverOutcome>();
  private lastProbe = -Infinity;
  readonly limits: Limits;
  last?: Decision;

  constructor(readonly opts: SimOptions) {
    this.clock = new VirtualClock(opts.start ?? Date.UTC(2026, 0, 1));
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const from = opts.fromVersion ?? 'v1';
    this.state = newRolloutState({
      id: 'r1',
      plan: opts.plan,
      version: opts.version ?? 'v2',
      fromVersion: from,
      gates: opts.gates ?? [],
      createdAt: this.clock.now(),
      createdBy: 'test',
      pairs: opts.pairs,
      versionCheck: opts.versionCheck,
      drain: opts.drain,
    });
    for (const id of Object.keys(this.state.targets)) this.versions.set(id, from);
  }

  /** One decision; driver actions are performed at once and their outcomes kept for the next decision. */
  tick(): Decision {
    const now = this.clock.now();
    this.measure(now);
    const d = decide(this.state, { observations: this.observations, outcomes: this.outcomes }, now, this.limits);
    this.state = d.nextState;
    this.events.push(...d.events);
    for (const a of d.actions) {
      if (a.kind === 'observe') {
        const id = `${a.target.region}/${a.target.cell}`;
        this.observations.push({ ...a.target, source: OBSERVE_SOURCE, at: now, verdict: 'pass', version: this.versions.get(id) });
        continue;
      }
      if (!isDriverAction(a) || this.outcomes.has(a.key)) continue;
      this.calls.push(a);
      const o = this.opts.driver ? this.opts.driver(a, this) : { ok: true, detail: 'ok' };
      const changesVersion = a.kind !== 'drain' && a.kind !== 'restore';
      if (o.ok && changesVersion && (this.opts.takesEffect?.(a) ?? true))
        this.versions.set(`${a.target.region}/${a.target.cell}`, a.version);
      this.outcomes.set(a.key, o);
    }
    this.last = d;
    return d;
  }

  command(cmd: Command, actor = 'cli:test'): void {
    const r = applyCommand(this.state, cmd, this.clock.now(), actor);
    this.state = r.nextState;
    this.events.push(...r.events);
  }

  /** Ticks until the rollout ends, `until` holds, or virtual time passes `maxMs`. */
  run(opts: { until?: (s: RolloutState) => boolean; maxMs?: number } = {}): void {
    const deadline = this.clock.now() + (opts.maxMs ?? 30 * 86_400_000);
    const every = this.opts.probeEveryMs ?? 10_000;
    for (let i = 0; i < 10_000_000; i++) {
      const callsBefore = this.calls.length;
      const d = this.tick();
      if (isTerminal(this.state.phase) || opts.until?.(this.state)) return;
      if (this.calls.length > callsBefore || d.events.length > 0) continue; // news to act on at the same instant
      const next = Math.min(d.wakeAt ?? Infinity, this.clock.now() + every);
      if (next > deadline) return;
      this.clock.set(Math.max(next, this.clock.now() + 1));
    }
    throw new Error('simulation did not settle');
  }

  private measure(now: number): void {
    const every = this.opts.probeEveryMs ?? 10_000;
    if (!this.opts.probe || now - this.lastProbe < every) return;
    this.lastProbe = now;
    for (const [id, version] of this.versions) {
      const r = this.opts.probe(id, version, now);
      if (!r) continue;
      const [region, cell] = id.split('/');
      this.observations.push({
        service: this.state.service,
        region,
        cell,
        source: r.source ?? 'http',
        at: now,
        verdict: r.verdict,
        detail: r.detail,
        version,
        ...(r.value !== undefined ? { value: r.value } : {}),
        ...(r.evidenceFraction !== undefined ? { evidenceFraction: r.evidenceFraction } : {}),
        ...(r.timedOut ? { timedOut: true } : {}),
      });
    }
    // Keep what gates can still use.
    if (this.observations.length > 400) this.observations = this.observations.filter((o) => now - o.at < 300_000);
  }

  eventsOf(type: string): NewEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}
