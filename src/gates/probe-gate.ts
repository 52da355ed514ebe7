// Probe gate: judges each target on the latest results of one HTTP probe. k consecutive failures fail the
// gate; stale or missing evidence is not a pass; consecutive errors over the limit halt the rollout (I3).
import { EtapeError } from '../core/errors.js';
import type { GateConfig, ServiceConfig } from '../config/service.js';
import {
  foldTargets,
  measuredGateSpec,
  judgeSeries,
  seriesPerTarget,
  type GateInput,
  type GateKind,
  type GateResult,
  type GateSpec,
} from './gate.js';

export const probeGate: GateKind = {
  kind: 'probe',
  compile(gate: GateConfig, service: ServiceConfig): GateSpec {
    if (gate.kind !== 'probe') throw new Error(`probe gate compiler given a ${gate.kind} gate`);
    const probe = service.probes.find((p) => p.name === gate.probe);
    if (!probe) {
      throw new EtapeError(
        'config.invalid',
        `gate "${gate.name}" of service "${service.name}" reads probe "${gate.probe}", which the service does not define; add it under services[].probes or fix the name`,
      );
    }
    return measuredGateSpec(gate, {
      kind: 'probe',
      sources: [probe.name],
      interval: probe.interval,
      timeout: probe.timeout,
      failAfter: gate.failAfter,
    });
  },
  evaluate(input: GateInput): GateResult {
    const series = seriesPerTarget(input);
    return foldTargets(
      input.spec,
      input.targets.map((t) => judgeSeries(input.spec, t.id, series.get(t.id) ?? [], input.now)),
    );
  },
};
