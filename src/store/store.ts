// The Store contract. Every state change is an event appended here (I5); the same contract test suite
// runs against both backends (SQLite in one file, PostgreSQL).
import type { Observation } from '../core/types.js';

/** A rollout as stored: its identity, its phase, and the core's state as JSON. */
export interface RolloutRecord {
  id: string;
  service: string;
  version: string;
  /** The phase as the core sees it (see src/rollout/phases.ts). */
  phase: string;
  /** The rollout core's state (plan, per-wave and per-target progress), serialised as JSON. */
  state: unknown;
  /** Optimistic concurrency: bumped by every save. */
  revision: number;
  createdAt: number;
  updatedAt: number;
}

export interface NewEvent {
  rolloutId: string | null;
  at: number;
  /** Who caused it: `controller`, `cli:alice`, `api:token-name`, `probe`. Never a secret. */
  actor: string;
  /** Dotted kind, e.g. `rollout.started`, `wave.baking`, `driver.deploy.succeeded`. */
  type: string;
  data: unknown;
}

export interface EventRecord extends NewEvent {
  /** Store-wide, strictly increasing. */
  seq: number;
}

export type ActionStatus = 'started' | 'succeeded' | 'failed';

/** A driver call, keyed by its idempotency key (rollout, target, step, attempt) (I5). */
export interface ActionRecord {
  key: string;
  rolloutId: string;
  status: ActionStatus;
  startedAt: number;
  finishedAt: number | null;
  result: unknown;
}

export interface ObservationQuery {
  service?: string;
  region?: string;
  cell?: string | null;
  source?: string;
  /** Inclusive lower bound on `at`. */
  from?: number;
  /** Exclusive upper bound on `at`. */
  to?: number;
  limit?: number;
  /** Order by `at` (ties by insertion): `asc` (default, oldest first) or `desc` (newest first, so
   *  `limit` keeps the most recent). */
  order?: 'asc' | 'desc';
}

export type IncidentStatus =
  | 'investigating'
  | 'identified'
  | 'monitoring'
  | 'resolved'
  | 'postmortem'
  // scheduled maintenance, as Statuspage v2 names its states
  | 'scheduled'
  | 'in_progress'
  | 'verifying'
  | 'completed';
export type IncidentImpact = 'none' | 'minor' | 'major' | 'critical' | 'maintenance';

export interface IncidentUpdate {
  id: string;
  at: number;
  status: IncidentStatus;
  body: string;
  actor: string;
}

/** An incident or an announced maintenance window, stored whole with its timeline. */
export interface IncidentRecord {
  id: string;
  kind: 'incident' | 'maintenance';
  title: string;
  status: IncidentStatus;
  impact: IncidentImpact;
  /** Component ids, `service/region`. */
  components: string[];
  /** How it was opened: `manual`, `auto:gate`, `auto:component`. */
  source: string;
  createdAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  /** For maintenance: the announced window. */
  scheduledFor: number | null;
  scheduledUntil: number | null;
  updates: IncidentUpdate[];
  /** Free-form extra fields (the rollout that caused it, the postmortem link, …). */
  data: Record<string, unknown>;
}

export interface RolloutListFilter {
  service?: string;
  phases?: string[];
  limit?: number;
  /** A page's last rollout: the next page starts after it. */
  before?: { createdAt: number; id: string };
}

export interface Store {
  /** Applies numbered migrations that have not run yet. Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Creates a rollout and appends its first events in one transaction. */
  createRollout(r: Omit<RolloutRecord, 'revision'>, events: NewEvent[]): Promise<RolloutRecord>;
  getRollout(id: string): Promise<RolloutRecord | undefined>;
  /** Newest first (created_at, then id, descending). `before`: only rollouts after this one in that order (keyset paging). */
  listRollouts(filter?: RolloutListFilter): Promise<RolloutRecord[]>;
  /**
   * Saves a new phase and state and appends events, atomically, if the stored revision is still
   * `expectedRevision`; otherwise throws EtapeError('store.conflict'). Returns the new revision.
   */
  saveRollout(
    id: string,
    expectedRevision: number,
    next: { phase: string; state: unknown; updatedAt: number },
    events: NewEvent[],
  ): Promise<number>;

  appendEvents(events: NewEvent[]): Promise<void>;
  listEvents(filter?: { rolloutId?: string; afterSeq?: number; types?: string[]; limit?: number }): Promise<EventRecord[]>;

  /** Marks a driver call as started unless it exists; returns the stored record either way. */
  beginAction(key: string, rolloutId: string, at: number): Promise<{ record: ActionRecord; created: boolean }>;
  finishAction(key: string, status: 'succeeded' | 'failed', at: number, result: unknown): Promise<void>;
  getAction(key: string): Promise<ActionRecord | undefined>;

  recordObservations(obs: Observation[]): Promise<void>;
  queryObservations(q: ObservationQuery): Promise<Observation[]>;
  /** The newest observation for each (service, region, cell, source) at or after `since`. */
  latestObservations(q: { service?: string; since: number }): Promise<Observation[]>;

  /** Takes or renews a named lease until `until` if it is free, expired, or already `holder`'s. */
  acquireLease(name: string, holder: string, now: number, until: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;

  /** Inserts or replaces an incident (the whole record, timeline included). */
  saveIncident(i: IncidentRecord): Promise<void>;
  getIncident(id: string): Promise<IncidentRecord | undefined>;
  /** Newest first. `open`: not resolved/postmortem/completed. `since`: created or updated at or after. */
  listIncidents(filter?: { open?: boolean; kind?: 'incident' | 'maintenance'; since?: number; limit?: number }): Promise<IncidentRecord[]>;
}
