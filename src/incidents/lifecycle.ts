// Incidents and announced maintenance: their states, the one place they change, and the time rules of
// the front page (banner, overdue updates). Pure: every function takes the time it is given.
//
// Incident statuses: investigating → identified → monitoring → resolved → postmortem. Any open status may
// follow any other (people learn things out of order); resolved and postmortem are closed, and an update
// may still move resolved → postmortem.
// Maintenance statuses: scheduled → in_progress → verifying → completed. Without a person saying so, a
// window starts at scheduledFor and completes at scheduledUntil (see effectiveMaintenanceStatus).
import { EtapeError } from '../core/errors.js';
import type { IncidentImpact, IncidentRecord, IncidentStatus, IncidentUpdate } from '../store/store.js';

export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved', 'postmortem'] as const;
export const MAINTENANCE_STATUSES = ['scheduled', 'in_progress', 'verifying', 'completed'] as const;
export const INCIDENT_IMPACTS = ['none', 'minor', 'major', 'critical'] as const;
export type IncidentOnlyStatus = (typeof INCIDENT_STATUSES)[number];
export type MaintenanceStatus = (typeof MAINTENANCE_STATUSES)[number];

const CLOSED: ReadonlySet<IncidentStatus> = new Set(['resolved', 'postmortem', 'completed']);

export function isClosedStatus(s: IncidentStatus): boolean {
  return CLOSED.has(s);
}

export const IMPACT_RANK: Record<IncidentImpact, number> = { none: 0, maintenance: 0, minor: 1, major: 2, critical: 3 };

/** Ids are time-ordered and readable in a URL: `inc-20261125-0107-3f9a`. */
export function newIncidentId(kind: 'incident' | 'maintenance', now: number, entropy: string): string {
  const d = new Date(now).toISOString();
  const stamp = `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}-${d.slice(11, 13)}${d.slice(14, 16)}`;
  return `${kind === 'incident' ? 'inc' : 'mnt'}-${stamp}-${entropy.slice(0, 6)}`;
}

export interface OpenIncidentInput {
  id: string;
  title: string;
  impact: IncidentImpact;
  components: string[];
  body: string;
  status?: IncidentOnlyStatus;
  actor: string;
  source: string;
  data?: Record<string, unknown>;
}

export function openIncident(input: OpenIncidentInput, now: number): IncidentRecord {
  if (!input.title.trim())
    throw new EtapeError('bad_request', 'an incident needs a title: say what people see, e.g. "Uploads fail in westeurope"');
  if (input.impact === 'maintenance')
    throw new EtapeError('bad_request', 'impact "maintenance" is for scheduled maintenance: use none, minor, major or critical');
  const status = input.status ?? 'investigating';
  if (isClosedStatus(status))
    throw new EtapeError('bad_request', `an incident cannot be opened as ${status}: open it as investigating, identified or monitoring`);
  return {
    id: input.id,
    kind: 'incident',
    title: input.title.trim(),
    status,
    impact: input.impact,
    components: [...new Set(input.components)].sort(),
    source: input.source,
    createdAt: now,
    updatedAt: now,
    resolvedAt: null,
    scheduledFor: null,
    scheduledUntil: null,
    updates: [{ id: `${input.id}-u1`, at: now, status, body: input.body.trim() || defaultBody(status), actor: input.actor }],
    data: input.data ?? {},
  };
}

export interface ScheduleMaintenanceInput {
  id: string;
  title: string;
  components: string[];
  body: string;
  scheduledFor: number;
  scheduledUntil: number;
  actor: string;
  data?: Record<string, unknown>;
}

export function scheduleMaintenance(input: ScheduleMaintenanceInput, now: number): IncidentRecord {
  if (!input.title.trim()) throw new EtapeError('bad_request', 'a maintenance needs a title, e.g. "Database upgrade in westeurope"');
  if (!(input.scheduledUntil > input.scheduledFor))
    throw new EtapeError('bad_request', 'the maintenance window must end after it starts: check --start and --end');
  if (input.components.length === 0) throw new EtapeError('bad_request', 'say which components the maintenance touches (service/region)');
  const rec: IncidentRecord = {
    id: input.id,
    kind: 'maintenance',
    title: input.title.trim(),
    status: 'scheduled',
    impact: 'maintenance',
    components: [...new Set(input.components)].sort(),
    source: 'manual',
    createdAt: now,
    updatedAt: now,
    resolvedAt: null,
    scheduledFor: input.scheduledFor,
    scheduledUntil: input.scheduledUntil,
    updates: [
      {
        id: `${input.id}-u1`,
        at: now,
        status: 'scheduled',
        body: input.body.trim() || `Maintenance scheduled from ${iso(input.scheduledFor)} to ${iso(input.scheduledUntil)}.`,
        actor: input.actor,
      },
    ],
    // announcedAt lets the SLA tell maintenance announced in advance from maintenance declared late (I8).
    data: { announcedAt: now, ...(input.data ?? {}) },
  };
  return rec;
}

export interface UpdateInput {
  status?: IncidentStatus;
  body: string;
  actor: string;
  impact?: IncidentImpact;
  components?: string[];
}

/** Adds a public update; moves status, impact and components when given. Returns a new record. */
export function addUpdate(i: IncidentRecord, u: UpdateInput, now: number): IncidentRecord {
  const status = u.status ?? i.status;
  const allowed: readonly string[] = i.kind === 'incident' ? INCIDENT_STATUSES : MAINTENANCE_STATUSES;
  if (!allowed.includes(status))
    throw new EtapeError(
      'bad_request',
      `"${status}" is not a status of ${i.kind === 'incident' ? 'an incident' : 'a maintenance'}: use one of ${allowed.join(', ')}`,
    );
  if (i.status === 'postmortem' && status !== 'postmortem')
    throw new EtapeError('conflict', `incident ${i.id} has its postmortem; it cannot go back to ${status}. Open a new incident instead.`);
  if (i.kind === 'maintenance' && i.status === 'completed' && status !== 'completed')
    throw new EtapeError('conflict', `maintenance ${i.id} is completed; schedule a new one instead`);
  if (u.impact !== undefined && i.kind === 'incident' && u.impact === 'maintenance')
    throw new EtapeError('bad_request', 'impact "maintenance" is for scheduled maintenance: use none, minor, major or critical');
  const body = u.body.trim() || defaultBody(status);
  const n = i.updates.length + 1;
  const update: IncidentUpdate = { id: `${i.id}-u${n}`, at: now, status, body, actor: u.actor };
  const closing = isClosedStatus(status) && !isClosedStatus(i.status);
  return {
    ...i,
    status,
    impact: u.impact ?? i.impact,
    components: u.components ? [...new Set(u.components)].sort() : i.components,
    updatedAt: now,
    resolvedAt: closing ? now : isClosedStatus(status) ? i.resolvedAt : null,
    updates: [...i.updates, update],
  };
}

export function resolveIncident(i: IncidentRecord, body: string, actor: string, now: number): IncidentRecord {
  if (isClosedStatus(i.status)) throw new EtapeError('conflict', `${i.id} is already ${i.status}`);
  return addUpdate(i, { status: i.kind === 'incident' ? 'resolved' : 'completed', body, actor }, now);
}

function defaultBody(status: IncidentStatus): string {
  switch (status) {
    case 'investigating':
      return 'We are investigating this issue.';
    case 'identified':
      return 'The cause has been identified and a fix is being put in place.';
    case 'monitoring':
      return 'A fix has been put in place and we are watching the results.';
    case 'resolved':
      return 'This incident has been resolved.';
    case 'postmortem':
      return 'A postmortem has been published.';
    case 'scheduled':
      return 'This maintenance is scheduled.';
    case 'in_progress':
      return 'This maintenance is in progress.';
    case 'verifying':
      return 'The maintenance work is done and is being verified.';
    case 'completed':
      return 'This maintenance has been completed.';
  }
}

/** What a maintenance window is at `now`: the stored status, moved on by the clock when nobody said otherwise. */
export function effectiveMaintenanceStatus(m: IncidentRecord, now: number): MaintenanceStatus {
  const s = m.status as MaintenanceStatus;
  if (s === 'completed') return 'completed';
  if (m.scheduledUntil !== null && now >= m.scheduledUntil && s !== 'verifying') return 'completed';
  if (s === 'verifying') return 'verifying';
  if (m.scheduledFor !== null && now >= m.scheduledFor) return 'in_progress';
  return s;
}

/** Open at `now`: an incident not resolved, or a maintenance in progress or being verified. */
export function isOpenAt(i: IncidentRecord, now: number): boolean {
  if (i.kind === 'maintenance') {
    const s = effectiveMaintenanceStatus(i, now);
    return s === 'in_progress' || s === 'verifying';
  }
  return !isClosedStatus(i.status);
}

export function isUpcomingMaintenance(i: IncidentRecord, now: number): boolean {
  return i.kind === 'maintenance' && effectiveMaintenanceStatus(i, now) === 'scheduled';
}

export function regionsOf(i: IncidentRecord): string[] {
  const rs = new Set<string>();
  for (const c of i.components) {
    const k = c.indexOf('/');
    rs.add(k < 0 ? c : c.slice(k + 1));
  }
  return [...rs].sort();
}

export function lastPublicUpdateAt(i: IncidentRecord): number {
  let t = i.createdAt;
  for (const u of i.updates) if (u.at > t) t = u.at;
  return t;
}

/** An open incident whose last public update is older than the cadence (I7). */
export function isOverdue(i: IncidentRecord, now: number, cadenceMs: number): boolean {
  return i.kind === 'incident' && !isClosedStatus(i.status) && now - lastPublicUpdateAt(i) > cadenceMs;
}

/** Goes on the banner (I7): an open incident touching two or more regions, or open longer than bannerAfter. */
export function isBanner(i: IncidentRecord, now: number, bannerAfterMs: number): boolean {
  if (i.kind !== 'incident' || isClosedStatus(i.status)) return false;
  return regionsOf(i).length >= 2 || now - i.createdAt > bannerAfterMs;
}

function iso(t: number): string {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}
