// Announced maintenance: which windows are excluded from a component's availability, which are not and why.
// Pure.
import type { IncidentRecord } from '../store/store.js';
import { MINUTE_MS } from './series.js';

export interface MaintenanceWindow {
  fromMs: number;
  toMs: number;
  /** The maintenance record it came from. */
  id?: string;
}

function maintenanceCovers(m: IncidentRecord, component: string): boolean {
  return m.components.includes(component) || m.components.includes(component.split('/')[0]);
}

/**
 * The maintenance windows that may be excluded for a component: maintenance records (kind 'maintenance')
 * naming the component (or its whole service), with an announced start and end, created at least
 * `minNoticeMs` (default 0: strictly) before the announced start. Only the announced window is excluded:
 * work that overran it counts.
 */
export function announcedMaintenance(
  incidents: readonly IncidentRecord[],
  component: string,
  opts: { minNoticeMs?: number } = {},
): MaintenanceWindow[] {
  const notice = opts.minNoticeMs ?? 0;
  const out: MaintenanceWindow[] = [];
  for (const m of incidents) {
    if (m.kind !== 'maintenance' || !maintenanceCovers(m, component)) continue;
    if (m.scheduledFor === null || m.scheduledUntil === null || m.scheduledUntil <= m.scheduledFor) continue;
    if (!(m.createdAt < m.scheduledFor && m.scheduledFor - m.createdAt >= notice)) continue;
    out.push({ fromMs: m.scheduledFor, toMs: m.scheduledUntil, id: m.id });
  }
  return out.sort((x, y) => x.fromMs - y.fromMs);
}

/** Maintenance for a component that is not excluded, with the reason (shown in the report). */
export function rejectedMaintenance(
  incidents: readonly IncidentRecord[],
  component: string,
  opts: { minNoticeMs?: number } = {},
): Array<{ id: string; reason: string }> {
  const notice = opts.minNoticeMs ?? 0;
  const out: Array<{ id: string; reason: string }> = [];
  for (const m of incidents) {
    if (m.kind !== 'maintenance' || !maintenanceCovers(m, component)) continue;
    if (m.scheduledFor === null || m.scheduledUntil === null || m.scheduledUntil <= m.scheduledFor)
      out.push({ id: m.id, reason: 'no announced start and end' });
    else if (!(m.createdAt < m.scheduledFor)) out.push({ id: m.id, reason: 'announced after it started' });
    else if (m.scheduledFor - m.createdAt < notice) out.push({ id: m.id, reason: 'announced with too little notice' });
  }
  return out;
}

/** 1 for each of the `n` minutes from `fromMs` that lies entirely inside one of the windows; undefined if none. */
export function maintenanceMask(fromMs: number, n: number, windows: readonly MaintenanceWindow[] | undefined): Uint8Array | undefined {
  if (!windows || windows.length === 0) return undefined;
  let mask: Uint8Array | undefined;
  for (const w of windows) {
    // Minutes entirely inside [w.fromMs, w.toMs).
    const first = Math.max(0, Math.ceil((w.fromMs - fromMs) / MINUTE_MS));
    const last = Math.min(n, Math.floor((w.toMs - fromMs) / MINUTE_MS)); // exclusive
    if (last <= first) continue;
    mask ??= new Uint8Array(n);
    mask.fill(1, first, last);
  }
  return mask;
}
