// Automatic incidents: opened when a rollout gate fails or a component stays away from operational
// longer than openAfter; moved to monitoring when the evidence is good again, and resolved with a closing
// update once it has stayed good for resolveAfter. Pure: state in, actions and the next state out.
// The state it keeps (when each component entered its current status) is small and is stored by the
// caller as `component.status_changed` events, so a restart does not forget how long a problem has lasted.
import type { IncidentImpact, IncidentRecord } from '../store/store.js';
import { ms } from '../config/common.js';
import type { IncidentRulesConfig } from '../config/statuspage.js';
import { STATUS_LABEL, type ComponentState, type ComponentStatus } from '../status/status.js';
import { addUpdate, effectiveMaintenanceStatus, IMPACT_RANK, isClosedStatus, newIncidentId, openIncident } from './lifecycle.js';
import { formatDuration } from '../core/duration.js';

export interface IncidentRules {
  openAfterMs: number;
  resolveAfterMs: number;
  openOnGateFailure: boolean;
  openOnUnknown: boolean;
}

export const DEFAULT_INCIDENT_RULES: IncidentRules = {
  openAfterMs: 5 * 60_000,
  resolveAfterMs: 15 * 60_000,
  openOnGateFailure: true,
  openOnUnknown: false,
};

export function incidentRulesFromConfig(c: IncidentRulesConfig): IncidentRules {
  return {
    openAfterMs: ms(c.openAfter),
    resolveAfterMs: ms(c.resolveAfter),
    openOnGateFailure: c.openOnGateFailure ?? true,
    openOnUnknown: c.openOnUnknown ?? false,
  };
}

/** ok: operational or in maintenance; bad: a problem the evidence shows; blind: no fresh evidence. */
export type HealthClass = 'ok' | 'bad' | 'blind';

export interface ComponentTrack {
  status: ComponentStatus;
  /** When it entered `status`. */
  since: number;
  health: HealthClass;
  /** When it entered its health class (a move from partial to major outage does not reset it). */
  healthSince: number;
}

export interface IncidentRuleState {
  /** Open incidents and maintenance, and recent closed ones (to not open twice for one failed rollout). */
  incidents: IncidentRecord[];
  components: Record<string, ComponentTrack>;
}

/** A failed gate or halted rollout, as read from the controller's events. */
export interface GateFailure {
  /** Dedupe key: the same key never opens two incidents (the rollout id, usually). */
  key: string;
  rolloutId?: string;
  service: string;
  version?: string;
  regions: string[];
  gate?: string;
  detail?: string;
  at: number;
}

export type IncidentAction =
  | { kind: 'open'; incident: IncidentRecord; why: string }
  | { kind: 'update'; incident: IncidentRecord; why: string }
  | { kind: 'resolve'; incident: IncidentRecord; why: string };

export interface ComponentChange {
  id: string;
  from: ComponentStatus | null;
  to: ComponentStatus;
  at: number;
  reason: string;
  /** The component's track from this change on (what is stored, so a restart remembers it). */
  track: ComponentTrack;
}

export interface IncidentDecision {
  actions: IncidentAction[];
  components: Record<string, ComponentTrack>;
  componentChanges: ComponentChange[];
}

function healthOf(s: ComponentStatus, rules: IncidentRules): HealthClass {
  if (s === 'operational' || s === 'under_maintenance') return 'ok';
  if (s === 'unknown') return rules.openOnUnknown ? 'bad' : 'blind';
  return 'bad';
}

function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

const ACTOR = 'etape';

function impactFor(states: ComponentState[]): IncidentImpact {
  const majorRegions = new Set(states.filter((s) => s.status === 'major_outage').map((s) => s.region));
  const partialRegions = new Set(states.filter((s) => s.status === 'partial_outage').map((s) => s.region));
  if (majorRegions.size >= 2) return 'critical';
  if (majorRegions.size === 1 || partialRegions.size >= 2) return 'major';
  return 'minor';
}

function maxImpact(a: IncidentImpact, b: IncidentImpact): IncidentImpact {
  return IMPACT_RANK[a] >= IMPACT_RANK[b] ? a : b;
}

function list(xs: string[]): string {
  return xs.length <= 4 ? xs.join(', ') : `${xs.slice(0, 4).join(', ')} and ${xs.length - 4} more`;
}

export function decideIncidents(
  state: IncidentRuleState,
  componentStatuses: ComponentState[],
  gateFailures: GateFailure[],
  now: number,
  rules: IncidentRules = DEFAULT_INCIDENT_RULES,
): IncidentDecision {
  const actions: IncidentAction[] = [];
  const changes: ComponentChange[] = [];
  const tracks: Record<string, ComponentTrack> = { ...state.components };
  const byId = new Map<string, ComponentState>();
  for (const c of componentStatuses) {
    byId.set(c.id, c);
    const prev = tracks[c.id];
    const health = healthOf(c.status, rules);
    if (!prev || prev.status !== c.status) {
      const track: ComponentTrack = {
        status: c.status,
        since: now,
        health,
        healthSince: prev && prev.health === health ? prev.healthSince : now,
      };
      changes.push({ id: c.id, from: prev?.status ?? null, to: c.status, at: now, reason: c.reason, track });
      tracks[c.id] = track;
    }
  }

  // Working copies: each incident is changed at most through these, then emitted once.
  const current = new Map<string, IncidentRecord>();
  const touched = new Map<string, { kind: 'open' | 'update' | 'resolve'; why: string[] }>();
  for (const i of state.incidents) current.set(i.id, i);
  const touch = (i: IncidentRecord, kind: 'open' | 'update' | 'resolve', why: string) => {
    current.set(i.id, i);
    const t = touched.get(i.id);
    if (!t) touched.set(i.id, { kind, why: [why] });
    else t.why.push(why);
  };
  const openIncidents = () => [...current.values()].filter((i) => i.kind === 'incident' && !isClosedStatus(i.status));

  // 1. Maintenance windows move with the clock; the move is written down as a public update.
  for (const m of state.incidents) {
    if (m.kind !== 'maintenance' || isClosedStatus(m.status)) continue;
    const eff = effectiveMaintenanceStatus(m, now);
    if (eff !== m.status) {
      const body = eff === 'in_progress' ? 'The maintenance window has started.' : 'The maintenance window has ended.';
      touch(addUpdate(m, { status: eff, body, actor: ACTOR }, now), eff === 'completed' ? 'resolve' : 'update', `maintenance ${eff}`);
    }
  }

  // 2. Failed gates.
  if (rules.openOnGateFailure) {
    const seen = new Set<string>();
    for (const i of current.values()) for (const k of (i.data.gateKeys as string[] | undefined) ?? []) seen.add(k);
    for (const g of [...gateFailures].sort((a, b) => a.at - b.at)) {
      if (seen.has(g.key)) continue;
      seen.add(g.key);
      const comps = g.regions.map((r) => `${g.service}/${r}`);
      const where = g.regions.length ? ` in ${list(g.regions)}` : '';
      const what = `${g.gate ? `Check ${g.gate}` : 'A rollout check'} failed${where}${g.detail ? ` (${g.detail})` : ''}`;
      const existing = openIncidents().find((i) => i.source.startsWith('auto:') && i.components.some((c) => c.startsWith(`${g.service}/`)));
      if (existing) {
        const keys = [...((existing.data.gateKeys as string[] | undefined) ?? []), g.key];
        const next = addUpdate(
          existing,
          {
            status: existing.status === 'monitoring' ? 'investigating' : existing.status,
            body: `${what}; the rollout${g.version ? ` of ${g.version}` : ''} was halted.`,
            actor: ACTOR,
            components: [...existing.components, ...comps],
          },
          now,
        );
        touch(withoutEnd({ ...next, data: { ...next.data, gateKeys: keys, lastGateAt: now } }), 'update', `gate failure ${g.key}`);
      } else {
        const id = newIncidentId('incident', now, fnv(`gate:${g.key}`));
        const inc = openIncident(
          {
            id,
            title: `${g.service}: rollout${g.version ? ` of ${g.version}` : ''} halted after a failed check${where}`,
            impact: 'minor',
            components: comps,
            body: `${what}. The rollout was halted automatically and is being rolled back; we are investigating.`,
            actor: ACTOR,
            source: 'auto:gate',
            data: { gateKeys: [g.key], rolloutId: g.rolloutId ?? null, gate: g.gate ?? null, version: g.version ?? null },
          },
          now,
        );
        touch(inc, 'open', `gate failure ${g.key}`);
      }
    }
  }

  // 3. Components away from operational for longer than openAfter.
  const longBad = componentStatuses.filter((c) => {
    const t = tracks[c.id];
    return t.health === 'bad' && now - t.healthSince >= rules.openAfterMs;
  });
  const byService = new Map<string, ComponentState[]>();
  for (const c of longBad) {
    const list = byService.get(c.service) ?? [];
    list.push(c);
    byService.set(c.service, list);
  }
  for (const [service, comps] of byService) {
    const open = openIncidents();
    // People are already on components a manual incident covers.
    const covered = new Set(open.filter((i) => !i.source.startsWith('auto:')).flatMap((i) => i.components));
    const auto = open.find((i) => i.source.startsWith('auto:') && i.components.some((c) => c.startsWith(`${service}/`)));
    const fresh = comps.filter((c) => !covered.has(c.id) && !(auto?.components.includes(c.id) ?? false));
    const autoStates = auto ? auto.components.map((id) => byId.get(id)).filter((s): s is ComponentState => !!s) : [];
    if (auto) {
      const all = [...autoStates, ...fresh];
      const impact = maxImpact(auto.impact, impactFor(all));
      const worse = IMPACT_RANK[impact] > IMPACT_RANK[auto.impact];
      const relapse = auto.status === 'monitoring' && autoStates.some((s) => healthOf(s.status, rules) === 'bad');
      if (fresh.length || worse || relapse) {
        const parts: string[] = [];
        if (fresh.length)
          parts.push(
            `Now also affecting ${list(fresh.map((c) => c.region))}: ${list(fresh.map((c) => `${c.region} ${STATUS_LABEL[c.status].toLowerCase()}`))}.`,
          );
        if (worse) parts.push(`Impact raised to ${impact}.`);
        if (relapse) parts.push('The problem is back; we are investigating again.');
        const next = addUpdate(
          auto,
          {
            status: relapse ? 'investigating' : auto.status,
            body: parts.join(' '),
            actor: ACTOR,
            impact,
            components: [...auto.components, ...fresh.map((c) => c.id)],
          },
          now,
        );
        touch(relapse ? withoutEnd(next) : next, 'update', `components ${fresh.map((c) => c.id).join(',') || 'worse'}`);
      }
      continue;
    }
    if (fresh.length === 0) continue;
    const regions = [...new Set(fresh.map((c) => c.region))].sort();
    const worst = fresh.reduce((a, b) => (rank(b.status) > rank(a.status) ? b : a));
    const since = Math.min(...fresh.map((c) => tracks[c.id].healthSince));
    // The id and the start come from the evidence (when the components went bad), so the same evidence
    // gives the same incident whenever the rules look at it.
    const id = newIncidentId('incident', since, fnv(`components:${service}:${since}`));
    const opened = openIncident(
      {
        id,
        title: `${service}: ${STATUS_LABEL[worst.status].toLowerCase()} in ${list(regions)}`,
        impact: impactFor(fresh),
        components: fresh.map((c) => c.id),
        body: `Our checks show ${list(fresh.map((c) => `${c.region}: ${c.reason}`))} for ${formatDuration(now - since)}. We are investigating.`,
        actor: ACTOR,
        source: 'auto:component',
        data: { since },
      },
      now,
    );
    touch({ ...opened, createdAt: since }, 'open', `components ${fresh.map((c) => c.id).join(',')}`);
  }

  // 4. Automatic incidents whose components are healthy again: monitoring, then resolved.
  for (const i of openIncidents()) {
    // Not in the tick it was opened or told of a new failure: "passing again" needs time to mean anything.
    if (!i.source.startsWith('auto:') || touched.has(i.id)) continue;
    const ts = i.components.map((c) => tracks[c]);
    if (ts.length === 0 || ts.some((t) => !t || t.health !== 'ok')) continue;
    const lastGateAt = typeof i.data.lastGateAt === 'number' ? i.data.lastGateAt : i.createdAt;
    const healthyFrom = Math.max(i.createdAt, lastGateAt, ...ts.map((t) => t.healthSince));
    if (now - healthyFrom >= rules.resolveAfterMs) {
      const next = addUpdate(
        i,
        {
          status: 'resolved',
          body: `Every affected component has had fresh passing evidence for ${formatDuration(now - healthyFrom)}. This incident is resolved. By our checks it lasted ${formatDuration(Math.max(0, healthyFrom - i.createdAt))}, from ${isoMinute(i.createdAt)} to ${isoMinute(healthyFrom)}.`,
          actor: ACTOR,
        },
        now,
      );
      touch({ ...next, data: { ...next.data, endedAt: healthyFrom } }, 'resolve', 'healthy');
    } else if (i.status !== 'monitoring') {
      const next = addUpdate(
        i,
        {
          status: 'monitoring',
          body: `The affected components are passing their checks again. We are watching them for ${formatDuration(rules.resolveAfterMs)} before resolving.`,
          actor: ACTOR,
        },
        now,
      );
      touch({ ...next, data: { ...next.data, endedAt: healthyFrom } }, 'update', 'recovering');
    }
  }

  for (const [id, t] of touched) {
    const incident = current.get(id)!;
    const kind = t.kind === 'open' ? 'open' : isClosedStatus(incident.status) ? 'resolve' : 'update';
    actions.push({ kind, incident, why: t.why.join('; ') });
  }
  return { actions, components: tracks, componentChanges: changes };
}

function isoMinute(t: number): string {
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Problems are back: the incident's end (data.endedAt, when its components passed again) no longer holds. */
function withoutEnd(i: IncidentRecord): IncidentRecord {
  if (!('endedAt' in i.data)) return i;
  const data = { ...i.data };
  delete data.endedAt;
  return { ...i, data };
}

function rank(s: ComponentStatus): number {
  return ['operational', 'under_maintenance', 'unknown', 'degraded_performance', 'partial_outage', 'major_outage'].indexOf(s);
}
