// Canary judge gate: reads the judge's stored measurements (one per canary target per look, source = the
// gate name, written by the evidence side: evidence/prometheus.ts `measureJudge`). Each look judges all
// the data since the wave started, with a test valid under repeated looks, so the newest look decides;
// early looks without enough data are inconclusive without counting against the inconclusive limit.
import type { GateConfig, ServiceConfig } from '../config/service.js';
import type { Observation } from '../core/types.js';
import {
  foldTargets,
  judgeSeries,
  measuredGateSpec,
  seriesPerTarget,
  type GateInput,
  type GateKind,
  type GateResult,
  type GateSpec,
} from './gate.js';

/** A judge gate's result: the usual gate result plus the newest score and evidence fraction. */
export interface JudgeGateResult extends GateResult {
  /** Lowest newest score over the targets (0..100), when there is one. */
  score?: number;
  /** Lowest newest evidence fraction (0..1): a rollout should accrue bake time only as this reaches 1. */
  evidenceFraction: number;
}

/** Early looks without enough data (evidenceFraction < 1) are inconclusive without counting against the limit. */
const withEnoughData = (o: Observation) => (o.evidenceFraction ?? 1) >= 1;

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
      input.targets.map((t) => judgeSeries(input.spec, t.id, series.get(t.id) ?? [], input.now, { countsAsInconclusive: withEnoughData })),
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
