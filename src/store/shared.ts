// Pieces both store backends share: row shapes, the "open incident" rule, and JSON handling.
import type { Observation } from '../core/types.js';
import { EtapeError } from '../core/errors.js';
import type { Fence, IncidentRecord, IncidentStatus, ObservationQuery } from './store.js';

/** The answer to a second start while a service has an active rollout (the one-active-rollout index said no). */
export function activeRolloutConflict(service: string, active: { id: string; phase: string } | undefined): EtapeError {
  return new EtapeError(
    'conflict',
    active
      ? `service ${service} already has rollout ${active.id} (${active.phase}); wait for it to end or abort it with \`etape rollout abort ${active.id}\``
      : `service ${service} already has an active rollout; see \`etape rollout status\``,
    { problems: active ? [{ path: 'service', message: `active rollout ${active.id}` }] : [] },
  );
}

/** A write refused because the lease holding it carried is no longer current (I5). */
export function fencedError(f: Fence, what = 'the write'): EtapeError {
  return new EtapeError(
    'store.fenced',
    `${what} was refused: ${f.holder} no longer holds lease ${f.lease} (token ${f.token}); another controller may be driving it now`,
  );
}

/** Incident states that are over: anything else is open. */
export const CLOSED_INCIDENT_STATUSES: readonly IncidentStatus[] = ['resolved', 'postmortem', 'completed'];

export function isOpenIncident(i: Pick<IncidentRecord, 'status'>): boolean {
  return !CLOSED_INCIDENT_STATUSES.includes(i.status);
}

/** JSON text for a stored document; `undefined` becomes `null`. NUL characters (which PostgreSQL's jsonb
 *  refuses, and which captured process output can contain) become U+FFFD. */
export function toJson(v: unknown): string {
  return JSON.stringify(v === undefined ? null : v, (_k, val) =>
    typeof val === 'string' && val.includes('\u0000') ? val.replaceAll('\u0000', '\uFFFD') : val,
  );
}

export interface ObservationRow {
  service: string;
  region: string;
  cell: string | null;
  source: string;
  at: number | string;
  verdict: string;
  latency_ms: number | null;
  value: number | null;
  version: string | null;
  requests: number | string | null;
  failures: number | string | null;
  detail: string | null;
  evidence_fraction?: number | string | null;
  timed_out?: number | boolean | null;
}

export function observationFromRow(r: ObservationRow): Observation {
  const o: Observation = {
    service: r.service,
    region: r.region,
    cell: r.cell ?? null,
    source: r.source,
    at: Number(r.at),
    verdict: r.verdict as Observation['verdict'],
  };
  if (r.latency_ms !== null && r.latency_ms !== undefined) o.latencyMs = Number(r.latency_ms);
  if (r.value !== null && r.value !== undefined) o.value = Number(r.value);
  if (r.version !== null && r.version !== undefined) o.version = r.version;
  if (r.requests !== null && r.requests !== undefined) o.requests = Number(r.requests);
  if (r.failures !== null && r.failures !== undefined) o.failures = Number(r.failures);
  if (r.detail !== null && r.detail !== undefined) o.detail = r.detail;
  if (r.evidence_fraction !== null && r.evidence_fraction !== undefined) o.evidenceFraction = Number(r.evidence_fraction);
  if (r.timed_out === true || r.timed_out === 1) o.timedOut = true;
  return o;
}

/** Column values of an observation, in the order of OBSERVATION_COLUMNS. */
export const OBSERVATION_COLUMNS = [
  'service',
  'region',
  'cell',
  'source',
  'at',
  'verdict',
  'latency_ms',
  'value',
  'version',
  'requests',
  'failures',
  'detail',
  'evidence_fraction',
  'timed_out',
] as const;

export function observationValues(o: Observation): (string | number | null)[] {
  return [
    o.service,
    o.region,
    o.cell ?? null,
    o.source,
    o.at,
    o.verdict,
    o.latencyMs ?? null,
    o.value ?? null,
    o.version ?? null,
    o.requests ?? null,
    o.failures ?? null,
    o.detail ?? null,
    o.evidenceFraction ?? null,
    o.timedOut ? 1 : null,
  ];
}

export function clampLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isFinite(limit) || limit < 0) return 0;
  return Math.floor(limit);
}

/**
 * The SELECT for an ObservationQuery, the same for both dialects but for how a parameter is written:
 * `placeholder(n)` gives the n-th (1-based) parameter, `?` for SQLite and `$n` for PostgreSQL.
 */
export function observationSelect(q: ObservationQuery, placeholder: (n: number) => string): { sql: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  const bind = (cond: string, v: unknown) => {
    args.push(v);
    where.push(`${cond} ${placeholder(args.length)}`);
  };
  if (q.service !== undefined) bind('service =', q.service);
  if (q.region !== undefined) bind('region =', q.region);
  if (q.source !== undefined) bind('source =', q.source);
  if (q.cell === null) where.push('cell IS NULL');
  else if (q.cell !== undefined) bind('cell =', q.cell);
  if (q.from !== undefined) bind('at >=', q.from);
  if (q.to !== undefined) bind('at <', q.to);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  let sql =
    `SELECT ${OBSERVATION_COLUMNS.join(', ')} FROM observations` +
    (where.length ? ' WHERE ' + where.join(' AND ') : '') +
    ` ORDER BY at ${dir}, id ${dir}`;
  const limit = clampLimit(q.limit);
  if (limit !== undefined) {
    args.push(limit);
    sql += ` LIMIT ${placeholder(args.length)}`;
  }
  return { sql, args };
}
