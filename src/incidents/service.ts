// Incident operations over the store, shared by the CLI and the HTTP API: open, update, resolve, schedule
// maintenance, list with overdue flags. Each change saves the whole record, appends an `incident.*` event
// and notifies webhook subscribers.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { EtapeError } from '../core/errors.js';
import { API_LIMITS } from '../core/limits.js';
import { silentLogger, type Logger } from '../core/log.js';
import { didYouMean } from '../core/suggest.js';
import type { IncidentImpact, IncidentRecord, IncidentStatus, Store } from '../store/store.js';
import {
  addUpdate,
  INCIDENT_IMPACTS,
  INCIDENT_STATUSES,
  isOverdue,
  lastPublicUpdateAt,
  MAINTENANCE_STATUSES,
  newIncidentId,
  openIncident,
  resolveIncident,
  scheduleMaintenance,
  type IncidentOnlyStatus,
} from './lifecycle.js';
import { incidentNotification, nullNotifier, type Notifier, type NotificationType } from './notify.js';

export interface IncidentDeps {
  store: Store;
  clock: Clock;
  log?: Logger;
  notifier?: Notifier;
  /** statuspage.updateCadence in ms: open incidents without a public update for longer are overdue (I7). */
  updateCadenceMs: number;
  /** Component ids (`service/region`) and services that exist; names outside it are refused. */
  known?: { components: Set<string>; services: Set<string> };
  baseUrl?: string;
}

export interface IncidentView extends IncidentRecord {
  overdue: boolean;
  lastUpdateAt: number;
}

/** Titles, messages and component lists within the limits: whatever is stored here is published on every build. */
function checkSizes(input: { title?: string; body?: string; components?: string[] }): void {
  const L = API_LIMITS;
  const too = (field: string, message: string) =>
    new EtapeError('bad_request', `${field}: ${message}`, { problems: [{ path: field, message }] });
  if (input.title !== undefined && input.title.length > L.titleChars)
    throw too('title', `at most ${L.titleChars} characters (this one has ${input.title.length}): say in a line what people see`);
  if (input.body !== undefined && input.body.length > L.textChars)
    throw too('message', `at most ${L.textChars} characters (this one has ${input.body.length}); link to the details instead`);
  if (input.components !== undefined) {
    if (input.components.length > L.listItems)
      throw too('components', `at most ${L.listItems} (got ${input.components.length}); a bare service stands for all its regions`);
    const long = input.components.find((c) => c.length > L.nameChars);
    if (long !== undefined) throw too('components', `a component is service/region, at most ${L.nameChars} characters`);
  }
}

function checkComponents(deps: IncidentDeps, components: string[], o: { required?: boolean } = {}): string[] {
  checkSizes({ components });
  if (o.required && components.every((c) => !c.trim()))
    throw new EtapeError(
      'bad_request',
      'components: say which components are affected (--component service/region, or a bare service for all its regions)',
      { problems: [{ path: 'components', message: 'at least one component' }] },
    );
  const out: string[] = [];
  for (const raw of components) {
    const c = raw.trim();
    if (!c) continue;
    if (deps.known && !deps.known.components.has(c)) {
      if (!c.includes('/') && deps.known.services.has(c)) {
        // A whole service: every region it runs in.
        for (const id of deps.known.components) if (id.startsWith(`${c}/`)) out.push(id);
        continue;
      }
      throw new EtapeError(
        'bad_request',
        `unknown component "${c}": components are service/region, as configured${didYouMean(c, deps.known.components)}`,
      );
    }
    out.push(c);
  }
  return [...new Set(out)];
}

export function checkImpact(s: string | undefined): IncidentImpact | undefined {
  if (s === undefined) return undefined;
  if (!(INCIDENT_IMPACTS as readonly string[]).includes(s))
    throw new EtapeError('bad_request', `impact "${s}" is not one of ${INCIDENT_IMPACTS.join(', ')}${didYouMean(s, INCIDENT_IMPACTS)}`);
  return s as IncidentImpact;
}

export function checkStatus(s: string | undefined): IncidentStatus | undefined {
  if (s === undefined) return undefined;
  const all = [...INCIDENT_STATUSES, ...MAINTENANCE_STATUSES] as readonly string[];
  if (!all.includes(s)) throw new EtapeError('bad_request', `status "${s}" is not one of ${all.join(', ')}${didYouMean(s, all)}`);
  return s as IncidentStatus;
}

async function save(deps: IncidentDeps, i: IncidentRecord, type: NotificationType, actor: string): Promise<IncidentRecord> {
  await deps.store.saveIncident(i);
  await deps.store.appendEvents([
    {
      rolloutId: typeof i.data.rolloutId === 'string' ? i.data.rolloutId : null,
      at: i.updatedAt,
      actor,
      type,
      data: {
        id: i.id,
        kind: i.kind,
        status: i.status,
        impact: i.impact,
        components: i.components,
        update: i.updates[i.updates.length - 1]?.id,
      },
    },
  ]);
  (deps.log ?? silentLogger).info({ incident: i.id, status: i.status, impact: i.impact }, type);
  (deps.notifier ?? nullNotifier).notify(incidentNotification(type, i, deps.baseUrl));
  return i;
}

export function view(i: IncidentRecord, now: number, cadenceMs: number): IncidentView {
  return { ...i, overdue: isOverdue(i, now, cadenceMs), lastUpdateAt: lastPublicUpdateAt(i) };
}

export async function openIncidentOp(
  deps: IncidentDeps,
  input: { title: string; impact?: string; components: string[]; body?: string; status?: string; actor: string },
): Promise<IncidentView> {
  const now = deps.clock.now();
  checkSizes({ title: input.title, body: input.body });
  const status = checkStatus(input.status);
  if (status !== undefined && !(INCIDENT_STATUSES as readonly string[]).includes(status))
    throw new EtapeError('bad_request', `an incident opens as investigating, identified or monitoring, not ${status}`);
  const rec = openIncident(
    {
      id: newIncidentId('incident', now, randomBytes(4).toString('hex')),
      title: input.title,
      impact: checkImpact(input.impact) ?? 'minor',
      components: checkComponents(deps, input.components, { required: true }),
      body: input.body ?? '',
      status: status as IncidentOnlyStatus | undefined,
      actor: input.actor,
      source: 'manual',
    },
    now,
  );
  return view(await save(deps, rec, 'incident.opened', input.actor), now, deps.updateCadenceMs);
}

async function load(deps: IncidentDeps, id: string): Promise<IncidentRecord> {
  const i = await deps.store.getIncident(id);
  if (!i) throw new EtapeError('not_found', `no incident or maintenance "${id}": list them with \`etape incident list\``);
  return i;
}

export async function updateIncidentOp(
  deps: IncidentDeps,
  id: string,
  input: { status?: string; body: string; impact?: string; components?: string[]; actor: string },
): Promise<IncidentView> {
  const now = deps.clock.now();
  checkSizes({ body: input.body });
  const i = await load(deps, id);
  if (!input.body.trim() && input.status === undefined)
    throw new EtapeError('bad_request', 'an update needs a message (--message) or a new status (--status)');
  if (input.status === 'postmortem' && i.kind === 'incident' && i.resolvedAt === null)
    throw new EtapeError(
      'conflict',
      `incident ${i.id} is still ${i.status}: a postmortem follows the resolution. Resolve it first (etape incident resolve ${i.id}, or POST /api/incidents/${i.id}/resolve), then add the postmortem`,
    );
  const next = addUpdate(
    i,
    {
      status: checkStatus(input.status),
      body: input.body,
      impact: checkImpact(input.impact),
      components: input.components ? checkComponents(deps, input.components) : undefined,
      actor: input.actor,
    },
    now,
  );
  const closed = next.resolvedAt !== null && i.resolvedAt === null;
  // Moving to postmortem with a message publishes that message as the postmortem.
  if (next.status === 'postmortem' && input.body.trim()) {
    next.data = { ...next.data, postmortem: input.body.trim(), postmortemPublishedAt: i.data.postmortemPublishedAt ?? now };
  }
  return view(await save(deps, next, closed ? 'incident.resolved' : 'incident.updated', input.actor), now, deps.updateCadenceMs);
}

export async function resolveIncidentOp(deps: IncidentDeps, id: string, input: { body?: string; actor: string }): Promise<IncidentView> {
  const now = deps.clock.now();
  checkSizes({ body: input.body });
  const i = await load(deps, id);
  const next = resolveIncident(i, input.body ?? '', input.actor, now);
  return view(await save(deps, next, 'incident.resolved', input.actor), now, deps.updateCadenceMs);
}

/**
 * Publishes (or revises) the postmortem of a resolved incident: its text goes on the incident's page, in the
 * v2 JSON (`postmortem_body`) and the feed, and the incident moves to `postmortem`.
 */
export async function publishPostmortemOp(deps: IncidentDeps, id: string, input: { text: string; actor: string }): Promise<IncidentView> {
  const now = deps.clock.now();
  const i = await load(deps, id);
  const text = input.text.trim();
  if (!text) throw new EtapeError('bad_request', 'a postmortem needs its text (--message or --file)');
  if (i.kind !== 'incident') throw new EtapeError('bad_request', `${id} is a maintenance: a postmortem is published on an incident`);
  if (i.status !== 'resolved' && i.status !== 'postmortem')
    throw new EtapeError(
      'conflict',
      `incident ${id} is ${i.status}: resolve it first (etape incident resolve ${id}), then publish its postmortem`,
    );
  const revised = i.status === 'postmortem';
  const next = addUpdate(
    i,
    { status: 'postmortem', body: revised ? 'The postmortem has been revised.' : 'A postmortem has been published.', actor: input.actor },
    now,
  );
  next.data = {
    ...next.data,
    postmortem: text,
    postmortemPublishedAt: typeof i.data.postmortemPublishedAt === 'number' ? i.data.postmortemPublishedAt : now,
    ...(revised ? { postmortemRevisedAt: now } : {}),
  };
  return view(await save(deps, next, 'incident.updated', input.actor), now, deps.updateCadenceMs);
}

export async function scheduleMaintenanceOp(
  deps: IncidentDeps,
  input: { title: string; components: string[]; body?: string; start: number; end: number; actor: string },
): Promise<IncidentView> {
  const now = deps.clock.now();
  checkSizes({ title: input.title, body: input.body });
  const rec = scheduleMaintenance(
    {
      id: newIncidentId('maintenance', now, randomBytes(4).toString('hex')),
      title: input.title,
      components: checkComponents(deps, input.components),
      body: input.body ?? '',
      scheduledFor: input.start,
      scheduledUntil: input.end,
      actor: input.actor,
    },
    now,
  );
  return view(await save(deps, rec, 'incident.opened', input.actor), now, deps.updateCadenceMs);
}

export async function getIncidentOp(deps: IncidentDeps, id: string): Promise<IncidentView> {
  return view(await load(deps, id), deps.clock.now(), deps.updateCadenceMs);
}

export async function listIncidentsOp(
  deps: IncidentDeps,
  filter: { open?: boolean; kind?: 'incident' | 'maintenance'; limit?: number; overdue?: boolean } = {},
): Promise<IncidentView[]> {
  const now = deps.clock.now();
  const list = await deps.store.listIncidents({ open: filter.open, kind: filter.kind, limit: filter.limit });
  const views = list.map((i) => view(i, now, deps.updateCadenceMs));
  return filter.overdue ? views.filter((v) => v.overdue) : views;
}

/** Known components from the config, for checking names. */
export function knownFrom(defs: { id: string; service: string }[]): { components: Set<string>; services: Set<string> } {
  return { components: new Set(defs.map((d) => d.id)), services: new Set(defs.map((d) => d.service)) };
}
