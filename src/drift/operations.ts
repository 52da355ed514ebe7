// Drift as the store knows it, for the watcher, the API, the CLI and the dashboard: the marks folded from the
// stored drift events, and per service what etape last verified, where the service runs and which sources'
// versions count. Reads the store on purpose (the core's edge, like rollout/operations.ts).
import type { EtapeConfig } from '../config/schema.js';
import type { ServiceConfig } from '../config/service.js';
import type { Store } from '../store/store.js';
import { serviceTargets } from '../evidence/prometheus.js';
import { lastVerifiedVersion, versionCheckOf } from '../rollout/operations.js';
import { DRIFT_EVENTS, foldDriftEvents, marksOf, type DriftMark, type DriftMode } from './drift.js';

/** Every drift mark in force, keyed `service|region/cell`, and the seq of the newest drift event read. */
export async function readDriftMarks(
  store: Pick<Store, 'listEvents'>,
  from: { marks?: Map<string, DriftMark>; afterSeq?: number } = {},
): Promise<{ marks: Map<string, DriftMark>; seq: number }> {
  const marks = from.marks ?? new Map<string, DriftMark>();
  let seq = from.afterSeq ?? 0;
  for (;;) {
    const evs = await store.listEvents({ types: [...DRIFT_EVENTS], afterSeq: seq, limit: 500 });
    foldDriftEvents(marks, evs);
    if (evs.length) seq = evs[evs.length - 1].seq;
    if (evs.length < 500) break;
  }
  return { marks, seq };
}

/** The targets a service runs on. */
export function driftTargets(config: EtapeConfig, svc: ServiceConfig): { region: string; cell: string }[] {
  return serviceTargets(config.fleet, svc).map((t) => ({ region: t.region, cell: t.cell }));
}

/** Sources whose reported versions count for drift (`services[].version.from`); null: any. */
export function driftSources(svc: ServiceConfig): string[] | null {
  return versionCheckOf(svc).sources;
}

export interface DriftMarkView extends DriftMark {
  /** The automatic revert and where it is now. */
  revert?: { rolloutId: string; at: number; phase?: string };
}

export interface ServiceDrift {
  service: string;
  /** `services[].drift`: alert, or revert. */
  mode: DriftMode;
  /** What etape last verified for the service (null: not known, drift is not judged). */
  verified: string | null;
  /** Targets in drift now. */
  drift: DriftMarkView[];
}

/** Drift per service of the config, with the phase of each automatic revert. */
export async function driftReport(store: Store, config: EtapeConfig, only?: string): Promise<ServiceDrift[]> {
  const { marks } = await readDriftMarks(store);
  const out: ServiceDrift[] = [];
  for (const svc of config.services) {
    if (only !== undefined && svc.name !== only) continue;
    const drift: DriftMarkView[] = [];
    for (const m of [...marksOf(marks, svc.name).values()].sort((a, b) => (a.target < b.target ? -1 : 1))) {
      const phase = m.revert ? (await store.getRollout(m.revert.rolloutId))?.phase : undefined;
      drift.push({ ...m, ...(m.revert ? { revert: { ...m.revert, ...(phase ? { phase } : {}) } } : {}) });
    }
    out.push({ service: svc.name, mode: svc.drift, verified: (await lastVerifiedVersion(store, svc)) ?? null, drift });
  }
  return out;
}

/** One line per target in drift, for `etape rollout status` and the service status. */
export function renderDrift(report: readonly ServiceDrift[]): string[] {
  const lines: string[] = [];
  for (const s of report) {
    for (const m of s.drift) {
      const revert = m.revert ? `; revert ${m.revert.rolloutId}${m.revert.phase ? ` ${m.revert.phase}` : ''}` : '';
      lines.push(
        `DRIFT ${s.service} ${m.target}: runs ${m.version}, etape verified ${m.expected} (since ${new Date(m.since).toISOString()}, reported by ${m.reportedBy}; ${s.mode}${revert})`,
      );
    }
  }
  return lines;
}
