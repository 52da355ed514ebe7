// What one build of the status page shows: computed once from evidence and incidents, then rendered to
// HTML, Statuspage v2 JSON, Atom and SVG. Pure.
import type { IncidentRecord } from '../store/store.js';
import { effectiveMaintenanceStatus, isBanner, isOpenAt, isUpcomingMaintenance } from '../incidents/lifecycle.js';
import type { ComponentHistory } from './history.js';
import type { IncidentImpact } from '../sla/incident-impact.js';
import type { ComponentState, Headline } from '../status/status.js';

export interface SiteModel {
  generatedAt: number;
  title: string;
  /** Public base URL, without a trailing slash, when configured. */
  url?: string;
  /** Stable page id for the JSON (derived from the title unless configured). */
  pageId: string;
  staleAfterMs: number;
  bannerAfterMs: number;
  updateCadenceMs: number;
  components: ComponentState[];
  headline: Headline;
  /** Incidents and maintenance to publish: open ones and those of the history window, newest first. */
  incidents: IncidentRecord[];
  history?: Map<string, ComponentHistory>;
  historyDays: number;
  /** When measurement of each component began (ms); a component not in it has not been measured yet. */
  measuredSince?: Map<string, number>;
  /** Where the sign-up form posts (notifications.email.publicUrl + /subscribe), when email is configured. */
  signupUrl?: string;
  /** What each resolved incident measured and what it means under the SLA, by incident id. */
  impacts?: Map<string, IncidentImpact>;
}

export function pageIdFor(title: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < title.length; i++) {
    h ^= title.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36).padStart(7, '0');
}

/** Incidents (not maintenance) still open, newest first. */
export function unresolvedIncidents(m: SiteModel): IncidentRecord[] {
  return m.incidents.filter((i) => i.kind === 'incident' && isOpenAt(i, m.generatedAt));
}

export function bannerIncidents(m: SiteModel): IncidentRecord[] {
  return m.incidents.filter((i) => isBanner(i, m.generatedAt, m.bannerAfterMs));
}

export function maintenances(m: SiteModel): IncidentRecord[] {
  return m.incidents.filter((i) => i.kind === 'maintenance');
}

export function activeMaintenances(m: SiteModel): IncidentRecord[] {
  return maintenances(m).filter((i) => isOpenAt(i, m.generatedAt));
}

export function upcomingMaintenances(m: SiteModel): IncidentRecord[] {
  return maintenances(m)
    .filter((i) => isUpcomingMaintenance(i, m.generatedAt))
    .sort((a, b) => (a.scheduledFor ?? 0) - (b.scheduledFor ?? 0));
}

/** The status a record shows now (maintenance moves with the clock). */
export function shownStatus(i: IncidentRecord, now: number): IncidentRecord['status'] {
  return i.kind === 'maintenance' ? effectiveMaintenanceStatus(i, now) : i.status;
}

/** Services in page order, each with its components. */
export function byService(components: ComponentState[]): Map<string, ComponentState[]> {
  const out = new Map<string, ComponentState[]>();
  for (const c of components) {
    let l = out.get(c.service);
    if (!l) out.set(c.service, (l = []));
    l.push(c);
  }
  return out;
}

export function byGeography(components: ComponentState[]): Map<string, ComponentState[]> {
  const out = new Map<string, ComponentState[]>();
  for (const c of [...components].sort((a, b) => a.geography.localeCompare(b.geography))) {
    let l = out.get(c.geography);
    if (!l) out.set(c.geography, (l = []));
    l.push(c);
  }
  return out;
}

export function isoTime(t: number): string {
  return new Date(t).toISOString();
}

/** `2026-11-25 01:07 UTC` */
export function humanTime(t: number): string {
  const s = new Date(t).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 16)} UTC`;
}

export function incidentPath(id: string): string {
  return `incidents/${encodeURIComponent(id)}.html`;
}

export function badgePath(componentId: string): string {
  return `badges/${componentId.split('/').map(encodeURIComponent).join('/')}.svg`;
}

export function historyPath(service: string): string {
  return `history/${encodeURIComponent(service)}.html`;
}
