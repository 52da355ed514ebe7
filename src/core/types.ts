// Domain words shared by every part of etape: targets, verdicts and evidence.

/** What a gate or a measurement concluded. `error` (could not measure) is never a pass (I3). */
export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error';

/**
 * The `source` of observations made by a driver's `observe` (the version a target runs, I9). They say what
 * runs, not whether it is up: not availability evidence, not gate evidence.
 */
export const OBSERVE_SOURCE = 'etape:observe';

/** The smallest thing a driver deploys to: one cell of one region, for one service. */
export interface Target {
  service: string;
  region: string;
  cell: string;
}

/** `region/cell`, the id a target goes by inside one service. */
export function targetId(t: { region: string; cell: string }): string {
  return `${t.region}/${t.cell}`;
}

/** The idempotency key of one driver call: `${rolloutId}:${region}/${cell}:${step}:${attempt}` (I5). */
export function idempotencyKey(rolloutId: string, target: { region: string; cell: string }, step: string, attempt: number): string {
  return `${rolloutId}:${target.region}/${target.cell}:${step}:${attempt}`;
}

/**
 * One stored measurement: a probe result or a metric reading about one target (or a whole region when
 * `cell` is null). Gates, the status page and the SLA report all read these (I3, I6, I8).
 */
export interface Observation {
  service: string;
  region: string;
  cell: string | null;
  /** Which probe or metric gate produced it. */
  source: string;
  /** When it was measured (ms since epoch). */
  at: number;
  verdict: Verdict;
  /** Round-trip time of a probe; for a timeout, the timeout. */
  latencyMs?: number;
  /** A metric value, when the source is a metric. */
  value?: number;
  /** Version the target was running when measured, when known. */
  version?: string;
  /** Requests served and failed in the period this observation covers (for request-based SLAs). */
  requests?: number;
  failures?: number;
  /** Canary judge: share (0..1) of the minimum data volume behind this measurement; bake accrues with it. */
  evidenceFraction?: number;
  /**
   * The target gave no complete answer in time (a probe or connect timeout): what a hang looks like. Set by
   * whatever measured it, never read from `detail`; a rollback of a target whose gate says hung is forced (I4).
   */
  timedOut?: boolean;
  /** Short human explanation: "timeout after 2s", "HTTP 503", "p99 +38% …". */
  detail?: string;
}
