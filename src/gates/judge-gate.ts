// Canary judge gate: reads the judge's stored measurements (one per canary target per look, source = the
// gate name, written by the evidence side: evidence/prometheus.ts `measureJudge`). Each look judges all
// the data since the wave started, with a test valid under repeated looks, so the newest look decides;
// early looks without enough data are inconclusive without counting against the inconclusive limit.
import type { GateConfig, ServiceConfig } from '../config/service.js';
import type { Observation } from '../core/types.js';
import {
  foldTargets,
  measuredGateSpec,
  seriesPerTarget,
  type GateInput,
  type GateKind,
  type GateResult,
  type GateSpec,
  type TargetVerdict,
} from './gate.js';

/** A judge gate's result: the usual gate result plus the newest score and evidence fraction. */
export interface JudgeGateResult extends GateResult {
  /** Lowest newest score over the targets (0..100), when there is one. */
  score?: number;
  /** Lowest newest evidence fraction (0..1): a rollout should accrue bake time only as this reaches 1. */
  evidenceFraction: number;
}

export function judgeTargetVerdict(spec: GateSpec, target: string, series: Observation[], now: number): TargetVerdict {
  if (series.length === 0) return { target, verdict: 'inconclusive', reason: 'no judgment yet' };
  const sorted = [...series].sort((a, b) => a.at - b.at);
  const latest = sorted[sorted.length - 1];
  let errors = 0;
  for (let i = sorted.length - 1; i >= 0 && sorted[i].verdict === 'error'; i--) errors++;
  if (errors > spec.consecutiveErrorLimit) {
    return {
      target,
      verdict: 'error',
      halt: true,
      reason: `${errors} consecutive judge errors, limit ${spec.consecutiveErrorLimit}: ${latest.detail ?? ''}`,
    };
  }
  const fails = sorted.filter((o) => o.verdict === 'fail');
  if (fails.length > spec.failureLimit) {
    return { target, verdict: 'fail', reason: fails[fails.length - 1].detail ?? 'judge failed' };
  }
  const stuck = sorted.filter((o) => o.verdict === 'inconclusive' && (o.evidenceFraction ?? 1) >= 1).length;
  if (stuck > spec.inconclusiveLimit) {
    return {
      target,
      verdict: 'fail',
      reason: `${stuck} inconclusive judgments with enough data, limit ${spec.inconclusiveLimit}: ${latest.detail ?? ''}`,
    };
  }
  const age = now - latest.at;
  if (age > spec.freshForMs) return { target, verdict: 'inconclusive', reason: `stale: newest judgment is ${Math.round(age / 1000)}s old` };
  switch (latest.verdict) {
    case 'pass':
      return { target, verdict: 'pass', reason: latest.detail ?? 'passing' };
    case 'error':
      return { target, verdict: 'error', reason: `${errors} error(s), limit ${spec.consecutiveErrorLimit}: ${latest.detail ?? ''}` };
    case 'fail':
      return {
        target,
        verdict: 'inconclusive',
        reason: `${fails.length} failed judgment(s), fails after ${spec.failureLimit + 1}: ${latest.detail ?? ''}`,
      };
    default:
      return { target, verdict: 'inconclusive', reason: latest.detail ?? 'inconclusive' };
  }
}

export const judgeGate: GateKind = {
  kind: 'judge',
  compile(gate: GateConfig, _service: ServiceConfig): GateSpec {
    if (gate.kind !== 'judge') throw new Error(`judge gate compiler given a ${gate.kind} gate`);
    return measuredGateSpec(gate, { kind: 'judge', sources: [gate.name], interval: gate.interval, timeout: gate.timeout });
  },
  evaluate(input: GateInput): JudgeGateResult {
    const series = seriesPerTarget(input);
    const result = foldTargets(
      input.spec,
      input.targets.map((t) => judgeTargetVerdict(input.spec, t.id, series.get(t.id) ?? [], input.now)),
    );
    let evidenceFraction = input.targets.length === 0 ? 0 : 1;
    let score: number | undefined;
    for (const t of input.targets) {
      const obs = series.get(t.id) ?? [];
      const latest = obs.reduce<Observation | undefined>((a, o) => (!a || o.at > a.at ? o : a), undefined);
      evidenceFraction = Math.min(evidenceFraction, latest?.evidenceFraction ?? 0);
      if (latest?.value !== undefined) score = score === undefined ? latest.value : Math.min(score, latest.value);
    }
    return { ...result, score, evidenceFraction };
  },
};
