// From etape.yaml to the planner: the policy and services in the planner's terms (durations in ms), and the
// plan of a service of a validated config. The planner itself (plan/) knows nothing of the config.
import { EtapeError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { buildFleet, type Fleet } from '../fleet/fleet.js';
import { checkPlan } from '../plan/check.js';
import { explicitPlanFor, planFleet, type PlanOutcome } from '../plan/planner.js';
import type { Plan, PlanPolicy, PlanService, PlanWave } from '../plan/types.js';
import { ms } from './common.js';
import type { PathProblem } from './load.js';
import type { PlanWaveConfig, PolicyConfig } from './policy.js';
import type { EtapeConfig } from './schema.js';

/** A service as the config gives it (or the whole fleet, `(fleet)`, when there are no services). */
export interface ConfigService {
  name: string;
  regions: 'all' | string[];
  gates: ReadonlyArray<{ kind: string; name: string }>;
  plan?: PlanWaveConfig[];
}

/** The policy in the planner's terms. */
export function planPolicy(p: PolicyConfig): PlanPolicy {
  return {
    canary: p.canary,
    bakeMs: { canary: ms(p.bake.canary), first: ms(p.bake.first), later: ms(p.bake.later) },
    growth: p.growth,
    firstRegion: p.firstRegion,
    maxRegionsPerWave: p.maxRegionsPerWave,
    maxPerGeographyPerWave: p.maxPerGeographyPerWave,
    approvals: p.approvals,
  };
}

/** The waves of a plan written by hand, in the planner's terms. */
export function planWaves(plan: readonly PlanWaveConfig[]): PlanWave[] {
  return plan.map((w) => ({
    regions: w.regions,
    targets: w.targets,
    bakeMs: w.bake !== undefined ? ms(w.bake) : undefined,
    approval: w.approval,
  }));
}

/** A service in the planner's terms. */
export function planService(s: ConfigService): PlanService {
  const out: PlanService = { name: s.name, regions: s.regions, gates: s.gates };
  if (s.plan) out.plan = planWaves(s.plan);
  return out;
}

/** The explicit plan of a service of a validated config (`problems` paths relative to `services[i].plan`). */
export function explicitPlan(config: EtapeConfig, fleet: Fleet, svc: ConfigService): PlanOutcome {
  if (!svc.plan) throw new Error(`service ${svc.name} has no explicit plan`);
  return explicitPlanFor(fleet, planPolicy(config.policy), { ...planService(svc), plan: planWaves(svc.plan) });
}

/** Why the policy cannot be met for a service (empty when it can). */
export function planProblems(config: EtapeConfig, fleet: Fleet, svc: ConfigService): PathProblem[] {
  const out = planFleet(fleet, planPolicy(config.policy), planService(svc));
  return 'problems' in out ? out.problems : [];
}

/** The plan of one service of a validated config: its explicit plan when it has one, else the planner's. */
export function planRollout(config: EtapeConfig, service: string): Plan {
  const svc = config.services.find((s) => s.name === service);
  if (!svc) {
    const names = config.services.map((s) => s.name);
    throw new EtapeError(
      'not_found',
      `no service "${service}" in the config${didYouMean(service, names)}; services: ${names.join(', ') || 'none (add one under services)'}`,
    );
  }
  const fleet = buildFleet(config.fleet);
  if (svc.plan) {
    const built = explicitPlan(config, fleet, svc);
    if ('problems' in built)
      throw new EtapeError('plan.invalid', `the plan of service "${service}" names targets that do not exist`, {
        problems: built.problems.map((p) => ({ message: p.message, path: `plan[${p.path[0]}]` })),
      });
    const violations = checkPlan(built.plan, fleet, config.policy, svc.regions);
    if (violations.length > 0)
      throw new EtapeError(
        'plan.invalid',
        `the plan of service "${service}" breaks ${violations.length} rule${violations.length === 1 ? '' : 's'}: fix the waves`,
        {
          problems: violations.map((v) => ({
            message: `wave ${v.wave}${v.region ? `, region ${v.region}` : ''}: ${v.rule}: ${v.message}`,
          })),
        },
      );
    return built.plan;
  }
  const out = planFleet(fleet, planPolicy(config.policy), planService(svc));
  if ('problems' in out)
    throw new EtapeError('plan.unsatisfiable', `the policy cannot be met for service "${service}"`, {
      problems: out.problems.map((p) => ({ message: p.message, path: p.path.map(String).join('.') })),
    });
  return out.plan;
}
