// Publish on change: which new evidence changes what the status page says. The publisher keeps the newest
// observation of every (component, unit, source) it has seen and, for each batch the probes record, judges
// the components that batch touches before and after it, with the same function the page is built with.
// A change asks for a build at once (debounced); the timed build stays as the heartbeat.
import type { Observation } from '../core/types.js';
import { componentStatuses, type ComponentDef, type StatusRules } from '../status/status.js';

export class StatusChangeWatch {
  /** Per component id: the newest observation per `cell|source`. */
  private readonly latest = new Map<string, Map<string, Observation>>();
  private readonly defs: Map<string, ComponentDef>;

  constructor(
    defs: readonly ComponentDef[],
    private readonly rules: StatusRules,
    /** Which observations are availability evidence (the filter the page applies). */
    private readonly counts: (o: Observation) => boolean,
  ) {
    this.defs = new Map(defs.map((d) => [d.id, d]));
  }

  /** Takes observations in without judging them (what the store held when the publisher started). */
  seed(obs: Iterable<Observation>): void {
    for (const o of obs) this.keep(o);
  }

  /** Takes new observations in; returns the ids of the components whose status they change at `now`. */
  offer(obs: readonly Observation[], now: number): string[] {
    const touched = new Set<string>();
    for (const o of obs) if (this.counts(o) && this.defs.has(`${o.service}/${o.region}`)) touched.add(`${o.service}/${o.region}`);
    if (touched.size === 0) return [];
    const before = this.statuses(touched, now);
    for (const o of obs) this.keep(o);
    const after = this.statuses(touched, now);
    return [...touched].filter((id) => before.get(id) !== after.get(id));
  }

  private keep(o: Observation): void {
    const id = `${o.service}/${o.region}`;
    if (!this.counts(o) || !this.defs.has(id)) return;
    let units = this.latest.get(id);
    if (!units) this.latest.set(id, (units = new Map()));
    const key = `${o.cell ?? ''}|${o.source}`;
    const prev = units.get(key);
    if (!prev || o.at >= prev.at) units.set(key, o);
  }

  private statuses(ids: ReadonlySet<string>, now: number): Map<string, string> {
    const defs = [...ids].map((id) => this.defs.get(id)!);
    const obs = [...ids].flatMap((id) => [...(this.latest.get(id)?.values() ?? [])]);
    return new Map(componentStatuses(defs, obs, now, this.rules).map((c) => [c.id, c.status]));
  }
}
