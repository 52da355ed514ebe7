// The Store contract. Every state change is an event appended here (I5); the same contract test suite
// runs against both backends (SQLite in one file, PostgreSQL).
import type { Observation } from '../core/types.js';
import type { NotificationStore } from './notifications.js';
import type { RetentionStore } from './retention.js';

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
  /** `region/cell` of the call, when the caller gave it. */
  target?: string | null;
  /** The lease token of the holding that runs (or last ran) it. */
  token?: number | null;
  /** Store-clock time by which its attempt in flight is surely over (its timeout has passed). */
  deadline?: number | null;
  /** Where its attempt in flight runs (see src/controller/process-place.ts) and its process group. */
  place?: string | null;
  pgid?: number | null;
}

/** A lease as granted: `token` grows with every new holding of the lease (not with a renewal). */
export interface LeaseGrant {
  name: string;
  holder: string;
  token: number;
  /** Store-clock time it runs out. */
  until: number;
}

/** What a fenced write carries: the store refuses it, in the same transaction, unless this is still the lease's current, unexpired holding. */
export interface Fence {
  lease: string;
  holder: string;
  token: number;
}

export interface BeginActionOptions {
  /** Check the lease in the same transaction and make this holding the call's owner. */
  fence?: Fence;
  /** `region/cell`: while another holding's call on the same target may still run, this one waits. */
  target?: string;
  /** How long the first attempt may run (its timeout and kill grace), ms. */
  holdMs?: number;
}

export interface BeginActionResult {
  record: ActionRecord;
  created: boolean;
  /**
   * Set when the call (or another call on the same target) is `started` by another holding whose attempt may
   * still run: do not call the driver before this store-clock time; ask again then.
   */
  busyUntil?: number;
  /** The call that makes it busy. */
  blocking?: ActionRecord;
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
  /** Subscribers, the outbox of messages and the delivery log (src/store/notifications.ts). */
  readonly notifications: NotificationStore;
  /** Rolled-up availability days, retention marks and pruning (src/store/retention.ts). */
  readonly retention: RetentionStore;
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
    fence?: Fence,
  ): Promise<number>;

  /** Appends events; with a fence, only while that lease holding is current (else store.fenced). */
  appendEvents(events: NewEvent[], fence?: Fence): Promise<void>;
  listEvents(filter?: { rolloutId?: string; afterSeq?: number; types?: string[]; limit?: number }): Promise<EventRecord[]>;

  /**
   * Marks a driver call as started unless it exists; returns the stored record either way. With a fence
   * (store.fenced if it is not current): a call `started` by another holding is taken over only once its
   * attempt is surely over (`deadline` passed), else the answer carries `busyUntil`.
   */
  beginAction(key: string, rolloutId: string, at: number, opts?: BeginActionOptions): Promise<BeginActionResult>;
  /**
   * Before each attempt of a call: checks the fence, extends the lease to outlive the attempt (`attemptMs`
   * from now on the store's clock) and sets the call's deadline. False (start nothing) if the lease or the
   * call is no longer this holding's.
   */
  armAttempt(key: string, fence: Fence, attemptMs: number): Promise<boolean>;
  /** Notes where a call's attempt runs (its owner `token`), so that a takeover on the same machine can tell when it is over. */
  noteAttempt(key: string, token: number, place: string, pgid: number): Promise<void>;
  /** Declares a call's attempt over (its process group is gone), if `token` still owns the call. */
  attemptOver(key: string, token: number): Promise<void>;
  /** Records a call's result; with a fence, only if that holding still owns the call (else store.fenced). */
  finishAction(key: string, status: 'succeeded' | 'failed', at: number, result: unknown, fence?: Fence): Promise<void>;
  getAction(key: string): Promise<ActionRecord | undefined>;

  recordObservations(obs: Observation[]): Promise<void>;
  queryObservations(q: ObservationQuery): Promise<Observation[]>;
  /** The newest observation for each (service, region, cell, source) at or after `since`. */
  latestObservations(q: { service?: string; since: number }): Promise<Observation[]>;

  /**
   * Takes a named lease for `ttlMs` if it is free or expired, or renews it if `holder` holds it; expiry is
   * judged by the store's clock. A new holding gets a greater token than any before; a renewal keeps it.
   * Undefined if another holder has it.
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined>;
  /** Ends `holder`'s holding at once (the token is kept, so the next holding's is greater). */
  releaseLease(name: string, holder: string): Promise<void>;
  /** The current holding of a lease, expired or not. */
  getLease(name: string): Promise<LeaseGrant | undefined>;
  /** The leases whose name starts with `prefix` that have not run out (by the store's clock), by name. */
  liveLeases(prefix: string): Promise<LeaseGrant[]>;
  /** The store's clock (ms since the epoch): what lease expiry and call deadlines are judged by. */
  now(): Promise<number>;

  /** Inserts or replaces an incident (the whole record, timeline included); with a fence, only while that lease holding is current (else store.fenced). */
  saveIncident(i: IncidentRecord, fence?: Fence): Promise<void>;
  getIncident(id: string): Promise<IncidentRecord | undefined>;
  /** Newest first. `open`: not resolved/postmortem/completed. `since`: created or updated at or after. */
  listIncidents(filter?: { open?: boolean; kind?: 'incident' | 'maintenance'; since?: number; limit?: number }): Promise<IncidentRecord[]>;
}
