// The gate contract: a gate kind turns the observations of its sources into a verdict with a reason.
// Pure: no I/O, no clock but the `now` it is given. The built-in kinds are in gates/index.ts;
// others come in through the rollout's Limits (`gateKinds`).
import type { Observation, Verdict } from '../core/types.js';
import type { GateConfig, ServiceConfig } from '../config/service.js';
import { ms } from '../config/common.js';

/** A gate as a rollout keeps it: resolved once at start and stored with the rollout, so config edits mid-rollout change nothing. */
export interface GateSpec {
  name: string;
  kind: string;
  /** Observation `source` names this gate reads (probe names for probe gates, the gate name for metric gates). */
  sources: string[];
  /** How often new evidence arrives; the controller evaluates at least this often while a wave bakes. */
  intervalMs: number;
  /** Evidence older than this is stale and never a pass (I3). */
  freshForMs: number;
  /** Failed measurements tolerated before the gate fails (kinds without `failAfter`). */
  failureLimit: number;
  /** Consecutive failed measurements that fail the gate (probe gates: k). */
  failAfter?: number;
  /** Consecutive errored measurements tolerated; one more halts the rollout (I3). */
  consecutiveErrorLimit: number;
  /** Inconclusive measurements tolerated before the gate fails. */
  inconclusiveLimit: number;
  /** The gate's whole config, for kinds that need more than the limits above. */
  config: GateConfig;
}

/** One target a gate judges; evidence before `since` describes another version and is ignored. */
export interface GateTarget {
  id: string;
  region: string;
  cell: string;
  since: number;
}

export interface GateInput {
  spec: GateSpec;
  targets: GateTarget[];
  /** Observations of the gate's sources for the service, in any order. */
  observations: Observation[];
  now: number;
}

export interface TargetVerdict {
  target: string;
  verdict: Verdict;
  reason: string;
  /** Errors went over the limit: the rollout halts (I3). */
  halt?: boolean;
  /** The latest evidence is a failure that timed out (`Observation.timedOut`): a hang, so rollback goes straight to force (I4). */
  hung?: boolean;
}

export interface GateResult {
  gate: string;
  kind: string;
  verdict: Verdict;
  reason: string;
  /** The rollout must halt: a failed gate, or a source that kept erroring. */
  halt: boolean;
  targets: TargetVerdict[];
}

export interface GateKind {
  kind: string;
  /** Resolves a configured gate against its service (probe intervals, defaults). Throws EtapeError on bad config. */
  compile(gate: GateConfig, service: ServiceConfig): GateSpec;
  evaluate(input: GateInput): GateResult;
}

/** The limits a measuring gate's config carries (probe, metric and judge gates share them). */
interface MeasuredGateLimits {
  name: string;
  freshFor?: string;
  failureLimit: number;
  consecutiveErrorLimit: number;
  inconclusiveLimit: number;
}

/**
 * A GateSpec for a gate that measures every `interval` with a `timeout`: evidence is fresh for the
 * configured `freshFor`, or by default three intervals plus one timeout.
 */
export function measuredGateSpec(
  gate: GateConfig & MeasuredGateLimits,
  m: { kind: string; sources: string[]; interval: string; timeout: string; failAfter?: number },
): GateSpec {
  const intervalMs = ms(m.interval);
  return {
    name: gate.name,
    kind: m.kind,
    sources: m.sources,
    intervalMs,
    freshForMs: gate.freshFor ? ms(gate.freshFor) : 3 * intervalMs + ms(m.timeout),
    failureLimit: gate.failureLimit,
    ...(m.failAfter === undefined ? {} : { failAfter: m.failAfter }),
    consecutiveErrorLimit: gate.consecutiveErrorLimit,
    inconclusiveLimit: gate.inconclusiveLimit,
    config: gate,
  };
}

/**
 * The verdict of one target from its own series of measurements, with the spec's limits. Shared by the
 * gate kinds: measurements are already verdicts (`pass`/`fail`/`inconclusive`/`error`).
 */
export function judgeSeries(
  spec: GateSpec,
  target: string,
  series: Observation[],
  now: number,
  opts: {
    /** Which inconclusive measurements count against `inconclusiveLimit` (default: all). */
    countsAsInconclusive?: (o: Observation) => boolean;
  } = {},
): TargetVerdict {
  if (series.length === 0) return { target, verdict: 'inconclusive', reason: 'no evidence yet' };
  const sorted = [...series].sort((a, b) => a.at - b.at);
  const latest = sorted[sorted.length - 1];
  const trailing = (v: Verdict) => {
    let n = 0;
    for (let i = sorted.length - 1; i >= 0 && sorted[i].verdict === v; i--) n++;
    return n;
  };
  const hung = (latest.verdict === 'fail' || latest.verdict === 'error') && latest.timedOut === true;
  const detail = latest.detail ? ` (${latest.detail})` : '';
  const errors = trailing('error');
  if (errors > spec.consecutiveErrorLimit) {
    return {
      target,
      verdict: 'error',
      halt: true,
      hung,
      reason: `${errors} consecutive errors, limit ${spec.consecutiveErrorLimit}${detail}`,
    };
  }
  if (spec.failAfter !== undefined) {
    const fails = trailing('fail');
    if (fails >= spec.failAfter) return { target, verdict: 'fail', hung, reason: `${fails} consecutive failures${detail}` };
  } else {
    const fails = sorted.filter((o) => o.verdict === 'fail').length;
    if (fails > spec.failureLimit)
      return { target, verdict: 'fail', hung, reason: `${fails} failures, limit ${spec.failureLimit}${detail}` };
  }
  const counted = opts.countsAsInconclusive ?? (() => true);
  const inconclusive = sorted.filter((o) => o.verdict === 'inconclusive' && counted(o)).length;
  if (inconclusive > spec.inconclusiveLimit) {
    return { target, verdict: 'fail', reason: `${inconclusive} inconclusive measurements, limit ${spec.inconclusiveLimit}${detail}` };
  }
  const age = now - latest.at;
  if (age > spec.freshForMs) {
    return { target, verdict: 'inconclusive', hung, reason: `stale: newest evidence is ${Math.round(age / 1000)}s old` };
  }
  switch (latest.verdict) {
    case 'pass':
      return { target, verdict: 'pass', reason: latest.detail ?? 'passing' };
    case 'fail':
      return {
        target,
        verdict: 'inconclusive',
        hung,
        reason: `${trailing('fail')} failure(s), fails after ${spec.failAfter ?? spec.failureLimit + 1}${detail}`,
      };
    case 'error':
      return { target, verdict: 'error', hung, reason: `${errors} error(s), limit ${spec.consecutiveErrorLimit}${detail}` };
    default:
      return { target, verdict: 'inconclusive', reason: latest.detail ?? 'inconclusive' };
  }
}

const RANK: Record<Verdict, number> = { pass: 0, inconclusive: 1, error: 2, fail: 3 };

/** Folds per-target verdicts into the gate's verdict: the worst one wins; no targets is not a pass. */
export function foldTargets(spec: GateSpec, targets: TargetVerdict[]): GateResult {
  if (targets.length === 0) {
    return { gate: spec.name, kind: spec.kind, verdict: 'inconclusive', reason: 'no targets to judge', halt: false, targets };
  }
  let worst = targets[0];
  for (const t of targets) if (RANK[t.verdict] > RANK[worst.verdict] || (t.halt && !worst.halt && t.verdict === worst.verdict)) worst = t;
  const halting = targets.find((t) => t.verdict === 'fail') ?? targets.find((t) => t.halt);
  const shown = halting ?? worst;
  const passing = targets.filter((t) => t.verdict === 'pass').length;
  const reason = shown.verdict === 'pass' ? `${passing}/${targets.length} targets passing` : `${shown.target}: ${shown.reason}`;
  return {
    gate: spec.name,
    kind: spec.kind,
    verdict: halting ? halting.verdict : worst.verdict,
    reason,
    halt: halting !== undefined,
    targets,
  };
}

/** Groups observations per `region/cell`, keeping those of the given sources at or after each target's `since`. */
export function seriesPerTarget(input: GateInput): Map<string, Observation[]> {
  const wanted = new Set(input.spec.sources);
  const byId = new Map<string, GateTarget>(input.targets.map((t) => [t.id, t]));
  const out = new Map<string, Observation[]>(input.targets.map((t) => [t.id, []]));
  for (const o of input.observations) {
    if (!wanted.has(o.source) || o.cell === null) continue;
    const id = `${o.region}/${o.cell}`;
    const t = byId.get(id);
    if (!t || o.at < t.since) continue;
    out.get(id)!.push(o);
  }
  return out;
}
