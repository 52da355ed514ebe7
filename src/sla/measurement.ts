// When measurement of each component (service × region) began (I8). Before it, the history shows "not
// monitored" and the SLA counts nothing; after it, time without evidence counts against the provider. The
// start is `services[].measuredSince` when configured, else the component's first availability evidence in
// the store. The status builder records a first-evidence start as a `measurement.started` event, so pruning
// or rolling up old observations never moves it.
import type { Observation } from '../core/types.js';
import { parseInstant } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { componentId } from './availability.js';

export interface MeasurementStart {
  atMs: number;
  /** `configured`: services[].measuredSince; `evidence`: the first availability evidence stored. */
  source: 'configured' | 'evidence';
}

/** Component id -> start; a component missing from the map has never been measured. */
export type MeasurementStarts = Map<string, MeasurementStart>;

export const MEASUREMENT_STARTED_EVENT = 'measurement.started';

/** The configured start of a service, if any. */
export function configuredStart(config: Pick<EtapeConfig, 'services'>, service: string): number | undefined {
  const s = config.services.find((x) => x.name === service) as { measuredSince?: string } | undefined;
  return s?.measuredSince === undefined ? undefined : parseInstant(s.measuredSince);
}

/** The time of the first observation of a component that `counts` (availability evidence), at or after `from`. */
export async function firstEvidenceAt(
  store: Store,
  service: string,
  region: string,
  counts: (o: Observation) => boolean,
  from?: number,
): Promise<number | undefined> {
  // Rolled-up days remember their first evidence, so pruning raw observations does not move the start.
  const rolled = await store.retention.firstEvidence(service, region);
  if (rolled !== undefined && (from === undefined || rolled >= from)) return rolled;
  const page = 200;
  let cursor = from;
  for (;;) {
    const obs = await store.queryObservations({ service, region, from: cursor, order: 'asc', limit: page });
    const hit = obs.find(counts);
    if (hit) return hit.at;
    if (obs.length < page) return undefined;
    cursor = obs[obs.length - 1].at + 1;
  }
}

/** Starts recorded earlier as events (the first one per component wins). */
export async function recordedStarts(store: Store): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await store.listEvents({ types: [MEASUREMENT_STARTED_EVENT] })) {
    const d = (e.data ?? {}) as { component?: string; at?: number };
    if (typeof d.component === 'string' && typeof d.at === 'number') {
      const known = out.get(d.component);
      if (known === undefined || d.at < known) out.set(d.component, d.at);
    }
  }
  return out;
}

/**
 * Keeps the measurement start of components between calls: a configured start is read from the config, a
 * recorded one from the events once, and a component with neither is looked up in the observations (from
 * where the last look ended) until its first evidence appears. With `record`, a start found in the
 * observations is appended as an event.
 */
export class MeasurementTracker {
  private known = new Map<string, MeasurementStart>();
  private recorded: Map<string, number> | undefined;
  private lookedTo = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly config: Pick<EtapeConfig, 'services'>,
    private readonly counts: (o: Observation) => boolean,
    private readonly opts: { record?: boolean } = {},
  ) {}

  async starts(components: ReadonlyArray<{ service: string; region: string }>, nowMs?: number): Promise<MeasurementStarts> {
    this.recorded ??= await recordedStarts(this.store);
    const out: MeasurementStarts = new Map();
    const found: Array<{ component: string; at: number }> = [];
    for (const c of components) {
      const id = componentId(c.service, c.region);
      const conf = configuredStart(this.config, c.service);
      if (conf !== undefined) {
        out.set(id, { atMs: conf, source: 'configured' });
        continue;
      }
      let s = this.known.get(id);
      if (!s) {
        const rec = this.recorded.get(id);
        if (rec !== undefined) s = { atMs: rec, source: 'evidence' };
        else {
          const at = await firstEvidenceAt(this.store, c.service, c.region, this.counts, this.lookedTo.get(id));
          if (at !== undefined) {
            s = { atMs: at, source: 'evidence' };
            found.push({ component: id, at });
          } else if (nowMs !== undefined) this.lookedTo.set(id, nowMs - 10 * 60_000); // late writes: look back a little
        }
        if (s) this.known.set(id, s);
      }
      if (s) out.set(id, s);
    }
    if (this.opts.record && found.length) {
      await this.store.appendEvents(
        found.map((f) => ({ rolloutId: null, at: f.at, actor: 'etape', type: MEASUREMENT_STARTED_EVENT, data: f })),
      );
      for (const f of found) this.recorded.set(f.component, f.at);
    }
    return out;
  }
}

/** One-shot: the starts of these components (the CLI's SLA report). Records nothing. */
export function measurementStartsFromStore(
  store: Store,
  config: Pick<EtapeConfig, 'services'>,
  counts: (o: Observation) => boolean,
  components: ReadonlyArray<{ service: string; region: string }>,
): Promise<MeasurementStarts> {
  return new MeasurementTracker(store, config, counts).starts(components);
}

/** `2026-12-01 09:40 UTC (first evidence)` */
export function describeStart(s: MeasurementStart | undefined): string {
  if (!s) return 'not monitored yet (no evidence, no services[].measuredSince)';
  const t = new Date(s.atMs).toISOString();
  return `${t.slice(0, 10)} ${t.slice(11, 16)} UTC (${s.source === 'configured' ? 'services[].measuredSince' : 'first evidence'})`;
}
