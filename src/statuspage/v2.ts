// Statuspage v2 JSON: the public shapes, field names and enum values, so tools that read such pages read
// etape's. etape's own `unknown` component status has no v2 value: it is published as
// `degraded_performance` (never `operational`), with the truth in the extra fields `etape_status` and
// `evidence`. Every document carries a top-level `generated_at`.
import type { IncidentRecord } from '../store/store.js';
import { publicCredits } from '../sla/incident-impact.js';
import { STATUS_LABEL, worseStatus, type ComponentState, type ComponentStatus } from '../status/status.js';
import {
  activeMaintenances,
  byService,
  incidentPath,
  isoTime,
  shownStatus,
  unresolvedIncidents,
  upcomingMaintenances,
  type SiteModel,
} from './model.js';

export const V2_COMPONENT_STATUSES = [
  'operational',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'under_maintenance',
] as const;
/** status.indicator: maintenance is not among them (it is in scheduled_maintenances). */
export const V2_INDICATORS = ['none', 'minor', 'major', 'critical'] as const;
export const V2_INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved', 'postmortem'] as const;
export const V2_MAINTENANCE_STATUSES = ['scheduled', 'in_progress', 'verifying', 'completed'] as const;
export const V2_IMPACTS = ['none', 'minor', 'major', 'critical', 'maintenance'] as const;

export type V2ComponentStatus = (typeof V2_COMPONENT_STATUSES)[number];

export function v2Status(s: ComponentStatus): V2ComponentStatus {
  return s === 'unknown' ? 'degraded_performance' : s;
}

/** Placeholder the writer replaces with the build time (see build.ts); keeps unchanged files unchanged. */
export const GENERATED_AT_ISO = '\uE000generated_at_iso\uE000';
export const GENERATED_AT_TEXT = '\uE000generated_at_text\uE000';

function link(m: SiteModel, path: string): string {
  return m.url ? `${m.url}/${path}` : path;
}

export function v2Page(m: SiteModel) {
  return { id: m.pageId, name: m.title, url: m.url ?? '', time_zone: 'Etc/UTC', updated_at: GENERATED_AT_ISO };
}

/**
 * created_at and start_date of a component: when measurement of it began (its first evidence, or the
 * configured services[].measuredSince). One not measured yet is created now and has no start date.
 */
function startFields(m: SiteModel, ids: string[]): { created_at: string; start_date: string | null } {
  let first: number | undefined;
  for (const id of ids) {
    const t = m.measuredSince?.get(id);
    if (t !== undefined && (first === undefined || t < first)) first = t;
  }
  return first === undefined
    ? { created_at: GENERATED_AT_ISO, start_date: null }
    : { created_at: isoTime(first), start_date: isoTime(first).slice(0, 10) };
}

export function v2Components(m: SiteModel): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let position = 1;
  for (const [service, comps] of byService(m.components)) {
    const worst = comps.reduce<ComponentStatus>((w, c) => worseStatus(w, c.status), 'operational');
    const start = startFields(
      m,
      comps.map((c) => c.id),
    );
    out.push({
      id: service,
      name: service,
      status: v2Status(worst),
      created_at: start.created_at,
      updated_at: GENERATED_AT_ISO,
      position: position++,
      description: comps[0]?.description ?? null,
      showcase: false,
      start_date: start.start_date,
      group_id: null,
      page_id: m.pageId,
      group: true,
      only_show_if_degraded: false,
      components: comps.map((c) => c.id),
      etape_status: worst,
    });
    for (const c of comps) out.push(v2Component(m, c, position++));
  }
  return out;
}

function v2Component(m: SiteModel, c: ComponentState, position: number): Record<string, unknown> {
  const start = startFields(m, [c.id]);
  return {
    id: c.id,
    name: c.regionName,
    status: v2Status(c.status),
    created_at: start.created_at,
    updated_at: GENERATED_AT_ISO,
    position,
    description: `${STATUS_LABEL[c.status]}: ${c.reason}`,
    showcase: false,
    start_date: start.start_date,
    group_id: c.service,
    page_id: m.pageId,
    group: false,
    only_show_if_degraded: false,
    etape_status: c.status,
    evidence: { state: c.evidence, last_at: c.lastEvidenceAt === null ? null : isoTime(c.lastEvidenceAt), reason: c.reason },
    geography: c.geography,
    region: c.region,
    service: c.service,
  };
}

export function v2Incident(m: SiteModel, i: IncidentRecord): Record<string, unknown> {
  const status = shownStatus(i, m.generatedAt);
  const comps = new Map(m.components.map((c) => [c.id, c]));
  const monitoring = i.updates.find((u) => u.status === 'monitoring');
  const started = i.kind === 'maintenance' ? i.updates.find((u) => u.status === 'in_progress') : undefined;
  const updates = [...i.updates].reverse().map((u) => ({
    id: u.id,
    status: u.status,
    body: u.body,
    incident_id: i.id,
    created_at: isoTime(u.at),
    updated_at: isoTime(u.at),
    display_at: isoTime(u.at),
    affected_components: i.components.map((id) => {
      const c = comps.get(id);
      const s = c ? v2Status(c.status) : 'degraded_performance';
      return { code: id, name: c ? `${c.service} - ${c.regionName}` : id, old_status: s, new_status: s };
    }),
    deliver_notifications: true,
    custom_tweet: null,
    tweet_id: null,
  }));
  const base: Record<string, unknown> = {
    id: i.id,
    name: i.title,
    status,
    created_at: isoTime(i.createdAt),
    updated_at: isoTime(i.updatedAt),
    monitoring_at: monitoring ? isoTime(monitoring.at) : null,
    resolved_at: i.resolvedAt === null ? null : isoTime(i.resolvedAt),
    impact: i.impact,
    shortlink: link(m, incidentPath(i.id)),
    started_at: isoTime(i.kind === 'maintenance' ? (i.scheduledFor ?? i.createdAt) : i.createdAt),
    page_id: m.pageId,
    incident_updates: updates,
    components: i.components.map((id, k) => {
      const c = comps.get(id);
      return c
        ? v2Component(m, c, k + 1)
        : {
            id,
            name: id,
            status: 'degraded_performance',
            group_id: id.split('/')[0],
            page_id: m.pageId,
            group: false,
            etape_status: 'unknown',
          };
    }),
    reminder_intervals: null,
    postmortem_body: typeof i.data.postmortem === 'string' ? i.data.postmortem : null,
    postmortem_published_at: typeof i.data.postmortemPublishedAt === 'number' ? isoTime(i.data.postmortemPublishedAt) : null,
  };
  const impact = m.impacts?.get(i.id);
  if (impact)
    base.etape_measured = {
      from: isoTime(impact.fromMs),
      to: isoTime(impact.toMs),
      duration_s: Math.round(impact.durationMs / 1000),
      regions: impact.regions,
      components: impact.components.map((c) => ({
        id: c.id,
        measure: c.measure,
        availability: c.shown,
        availability_exact: c.uptime.minutes === 0 ? null : c.uptime.percent,
        down_minutes: c.uptime.downMinutes,
        unknown_minutes: c.uptime.unknownMinutes,
        counted_minutes: c.uptime.minutes,
      })),
      // Public: which customers (by service and region) are owed which credit, never who or how much.
      sla: {
        months: impact.months,
        credits: publicCredits(impact).map((g) => ({
          month: g.month,
          complete: g.complete,
          service: g.service,
          regions: g.regions,
          credit_percent: g.creditPercent,
        })),
      },
    };
  if (i.kind === 'maintenance') {
    base.scheduled_for = i.scheduledFor === null ? null : isoTime(i.scheduledFor);
    base.scheduled_until = i.scheduledUntil === null ? null : isoTime(i.scheduledUntil);
    base.scheduled_remind_prior = false;
    base.scheduled_reminded_at = null;
    base.impact_override = null;
    base.scheduled_auto_in_progress = true;
    base.scheduled_auto_completed = true;
    if (started) base.started_at = isoTime(started.at);
  }
  return base;
}

export function v2StatusObject(m: SiteModel) {
  return { indicator: m.headline.indicator, description: m.headline.description };
}

/** A v2 document; `raw` members are JSON already (the component list, shared by two files). */
function doc(m: SiteModel, body: Record<string, unknown>, raw: Record<string, string> = {}): string {
  const head = JSON.stringify({ generated_at: GENERATED_AT_ISO, page: v2Page(m), ...body });
  const extra = Object.entries(raw)
    .map(([k, v]) => `,${JSON.stringify(k)}:${v}`)
    .join('');
  return head.slice(0, -1) + extra + '}\n';
}

/** Every v2 file, path (under the site root) → content with the generated_at placeholder. */
export function v2Files(m: SiteModel): Map<string, string> {
  const components = JSON.stringify(v2Components(m));
  const unresolved = unresolvedIncidents(m).map((i) => v2Incident(m, i));
  const incidents = m.incidents
    .filter((i) => i.kind === 'incident')
    .slice(0, 50)
    .map((i) => v2Incident(m, i));
  const allMaint = m.incidents.filter((i) => i.kind === 'maintenance').slice(0, 50);
  const upcoming = upcomingMaintenances(m).map((i) => v2Incident(m, i));
  const active = activeMaintenances(m).map((i) => v2Incident(m, i));
  const status = v2StatusObject(m);
  const files = new Map<string, string>();
  files.set(
    'api/v2/summary.json',
    doc(
      m,
      {
        incidents: unresolved,
        scheduled_maintenances: [...active, ...upcoming],
        status,
        etape: { no_evidence: m.headline.noEvidence, headline_status: m.headline.status },
      },
      { components },
    ),
  );
  files.set('api/v2/status.json', doc(m, { status }));
  files.set('api/v2/components.json', doc(m, {}, { components }));
  files.set('api/v2/incidents.json', doc(m, { incidents }));
  files.set('api/v2/incidents/unresolved.json', doc(m, { incidents: unresolved }));
  files.set('api/v2/scheduled-maintenances.json', doc(m, { scheduled_maintenances: allMaint.map((i) => v2Incident(m, i)) }));
  files.set('api/v2/scheduled-maintenances/upcoming.json', doc(m, { scheduled_maintenances: upcoming }));
  files.set('api/v2/scheduled-maintenances/active.json', doc(m, { scheduled_maintenances: active }));
  return files;
}
