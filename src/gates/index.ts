// Gate kinds by name: the built-in ones (probe, metric, judge), and any others a caller passes in (the
// `gateKinds` of the rollout Limits and of the operations context). No global registry: what a rollout can
// evaluate is what its caller hands it. The rollout core only ever calls `compileGate` and `evaluateGate`.
import { EtapeError } from '../core/errors.js';
import type { GateConfig, ServiceConfig } from '../config/service.js';
import type { GateInput, GateKind, GateResult, GateSpec } from './gate.js';
import { probeGate } from './probe-gate.js';
import { metricGate } from './metric-gate.js';
import { judgeGate } from './judge-gate.js';

export * from './gate.js';

const kinds: ReadonlyMap<string, GateKind> = new Map<string, GateKind>([
  [probeGate.kind, probeGate],
  [metricGate.kind, metricGate],
  [judgeGate.kind, judgeGate],
]);

/**
 * Resolves a configured gate. Approval gates have no evidence: the rollout core handles them itself
 * (a wave with one is verified only once a person approves it).
 */
export function compileGate(gate: GateConfig, service: ServiceConfig, extra?: ReadonlyMap<string, GateKind>): GateSpec {
  if (gate.kind === 'approval') {
    return {
      name: gate.name,
      kind: 'approval',
      sources: [],
      intervalMs: 0,
      freshForMs: 0,
      failureLimit: 0,
      consecutiveErrorLimit: 0,
      inconclusiveLimit: 0,
      config: gate,
    };
  }
  const k = extra?.get(gate.kind) ?? kinds.get(gate.kind);
  if (!k) {
    throw new EtapeError(
      'config.invalid',
      `gate "${gate.name}" of service "${service.name}" is of kind "${gate.kind}", which this etape cannot evaluate`,
    );
  }
  return k.compile(gate, service);
}

/** A verdict for one gate. A kind that is not registered is an `error` (never a pass), and halts. */
export function evaluateGate(input: GateInput, extra?: ReadonlyMap<string, GateKind>): GateResult {
  const k = extra?.get(input.spec.kind) ?? kinds.get(input.spec.kind);
  if (!k) {
    return {
      gate: input.spec.name,
      kind: input.spec.kind,
      verdict: 'error',
      reason: `no evaluator for gate kind "${input.spec.kind}"`,
      halt: true,
      targets: [],
    };
  }
  return k.evaluate(input);
}
