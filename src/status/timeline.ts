// Component status over time, from the stored evidence: when each component changed status, at the time the
// evidence says (an observation arriving, or the last one going stale), not when someone looked. The
// incident rules step through these changes (src/incidents/derive.ts), so a status build that ran late, or
// not at all for a while, still sees every change in between. Pure: evidence and times are handed in.
//
// A StatusTimeline is fed observations in batches, each up to a time (`advance`); it keeps the newest
// observation per unit and source, as componentStatuses does, so feeding a batch that overlaps the last
// one is harmless: what it has already seen, or anything older, changes nothing.
import type { Observation } from '../core/types.js';
import { componentStatuses, DEFAULT_STATUS_RULES, type ComponentDef, type ComponentState, type StatusRules } from './status.js';

export interface StatusChange {
  at: number;
  state: ComponentState;
}

/** Which components are in maintenance at a time, and the times that set changes (window starts and ends). */
export interface MaintenanceSchedule {
  at(t: number): ReadonlySet<string>;
  boundaries: number[];
}

const NO_MAINTENANCE: MaintenanceSchedule = { at: () => new Set(), boundaries: [] };

interface Tracked {
  def: ComponentDef;
  /** Newest observation per unit and source. */
  latest: Map<string, Observation>;
  state: ComponentState;
}

export class StatusTimeline {
  private readonly comps = new Map<string, Tracked>();
  private until: number;

  /**
   * The timeline starts at `fromMs`, with the status the observations at or before it give (pass those from
   * fromMs − freshFor on; older ones cannot make a status).
   */
  constructor(
    defs: ComponentDef[],
    seed: Iterable<Observation>,
    fromMs: number,
    private readonly rules: StatusRules = DEFAULT_STATUS_RULES,
    maintenance: MaintenanceSchedule = NO_MAINTENANCE,
  ) {
    this.until = fromMs;
    const byId = new Map<string, Observation[]>();
    for (const o of seed) {
      if (o.at > fromMs) continue;
      const id = `${o.service}/${o.region}`;
      let l = byId.get(id);
      if (!l) byId.set(id, (l = []));
      l.push(o);
    }
    const inMaint = maintenance.at(fromMs);
    for (const def of defs) {
      const latest = new Map<string, Observation>();
      for (const o of byId.get(def.id) ?? []) keepNewest(latest, o);
      const [state] = componentStatuses([def], latest.values(), fromMs, rules, inMaint);
      this.comps.set(def.id, { def, latest, state });
    }
  }

  /** The time up to which the timeline has been built. */
  get at(): number {
    return this.until;
  }

  /** The status of every component at `at`, in the order of the definitions. */
  states(): ComponentState[] {
    return [...this.comps.values()].map((c) => c.state);
  }

  /**
   * Moves the timeline to `toMs` with new observations (any order; those after toMs are ignored) and returns
   * every status change in [at, toMs], oldest first. An observation older than the timeline's present that it
   * had not seen (stored late) takes effect at the present: the timeline does not rewrite what it has said.
   */
  advance(observations: Iterable<Observation>, toMs: number, maintenance: MaintenanceSchedule = NO_MAINTENANCE): StatusChange[] {
    const from = this.until;
    if (toMs < from) return [];
    const fresh = this.rules.freshForMs;
    // Each new observation with the time it takes effect: when it was made, or the present for one stored
    // late (at the present itself: one made at the very moment of the last advance, stored after it).
    const byId = new Map<string, Array<{ o: Observation; t: number }>>();
    for (const o of observations) {
      if (o.at > toMs) continue;
      const c = this.comps.get(`${o.service}/${o.region}`);
      if (!c) continue;
      const prev = c.latest.get(unitSource(o));
      if (prev && o.at <= prev.at) continue; // seen, or superseded by what was seen
      let l = byId.get(c.def.id);
      if (!l) byId.set(c.def.id, (l = []));
      l.push({ o, t: Math.max(o.at, from) });
    }
    const bounds = maintenance.boundaries.filter((t) => t > from && t <= toMs);
    const changes: StatusChange[] = [];
    for (const c of this.comps.values()) {
      const obs = (byId.get(c.def.id) ?? []).sort((a, b) => a.t - b.t || a.o.at - b.o.at);
      // Times the status may change: an observation arrives, one goes stale, a maintenance window moves.
      const times: number[] = [...bounds];
      for (const { o, t } of obs) times.push(t, o.at + fresh + 1);
      for (const o of c.latest.values()) times.push(o.at + fresh + 1);
      const sorted = [...new Set(times.filter((t) => t >= from && t <= toMs))].sort((a, b) => a - b);
      let j = 0;
      for (const t of sorted) {
        while (j < obs.length && obs[j].t <= t) keepNewest(c.latest, obs[j++].o);
        const [state] = componentStatuses([c.def], c.latest.values(), t, this.rules, maintenance.at(t));
        if (state.status !== c.state.status || state.reason !== c.state.reason) changes.push({ at: t, state });
        c.state = state;
      }
      while (j < obs.length) keepNewest(c.latest, obs[j++].o);
    }
    this.until = toMs;
    return changes.sort((a, b) => a.at - b.at);
  }
}

function unitSource(o: Observation): string {
  return `${o.cell ?? ''}\u0000${o.source}`;
}

function keepNewest(latest: Map<string, Observation>, o: Observation): void {
  const k = unitSource(o);
  const prev = latest.get(k);
  if (!prev || o.at >= prev.at) latest.set(k, o);
}
