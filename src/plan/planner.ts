// The wave planner (pure): fleet + policy + service -> waves that keep I1 (blast radius) and I2 (pairs).
// How waves are formed, and why, is written down in docs/planning.md.
// It takes domain inputs (plan/types.ts); config/plan.ts turns etape.yaml into them.
import { didYouMean } from '../core/suggest.js';
import { resolveCanary, serviceRegions, type Cell, type Fleet, type Region } from '../fleet/fleet.js';
import type { Plan, PlannedTarget, PlanPolicy, PlanProblem, PlanService, PlanWave, Wave, WaveKind } from './types.js';

export type PlanOutcome = { plan: Plan } | { problems: PlanProblem[] };

/** Relative slack for comparing sums of floating-point weights against the growth limit. */
const EPS = 1e-9;
export function fitsBudget(weight: number, budget: number): boolean {
  return weight <= budget * (1 + EPS) + 1e-12;
}

export function fmtWeight(w: number): string {
  return Number.isInteger(w) ? String(w) : String(Number(w.toPrecision(4)));
}

function waveDefaults(policy: PlanPolicy, svc: PlanService) {
  const gates = svc.gates.filter((g) => g.kind !== 'approval').map((g) => g.name);
  const approvalGate = svc.gates.some((g) => g.kind === 'approval');
  const bake = policy.bakeMs;
  const approval = (index: number, kind: WaveKind) =>
    approvalGate || policy.approvals.some((a) => a === index || a === kind || a === 'all');
  return { gates, bake, approval };
}

function makeWave(index: number, kind: WaveKind, cells: readonly Cell[], bakeMs: number, gates: string[], approval: boolean): Wave {
  const targets: PlannedTarget[] = new Array(cells.length);
  const regions: string[] = [];
  let last = '';
  let weight = 0;
  const seen = new Set<string>();
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    targets[i] = { region: c.region, cell: c.id, weight: c.weight };
    weight += c.weight;
    if (c.region !== last && !seen.has(c.region)) {
      seen.add(c.region);
      regions.push(c.region);
    }
    last = c.region;
  }
  return { index, kind, targets, regions, weight, bakeMs, gates: [...gates], approval };
}

function finishPlan(service: string, waves: Wave[], regions: readonly Region[], growth: number): Plan {
  return {
    service,
    waves,
    totalWeight: regions.reduce((s, r) => s + r.weight, 0),
    minDurationMs: waves.reduce((s, w) => s + w.bakeMs, 0),
    growth,
  };
}

/**
 * Plans a service's rollout over a fleet. Returns the problems instead when the policy cannot be met;
 * each names the constraint (a path into etape.yaml such as `policy.growth`).
 */
export function planFleet(fleet: Fleet, policy: PlanPolicy, svc: PlanService): PlanOutcome {
  const problems: PlanProblem[] = [];
  const regions = serviceRegions(fleet, svc.regions);
  if (regions.length === 0) return { problems: [{ path: [], message: 'the service runs in no region of the fleet' }] };
  const growth = policy.growth;
  if (!(growth >= 1)) return { problems: [{ path: ['policy', 'growth'], message: `growth must be at least 1, got ${growth}` }] };
  const { gates, bake, approval } = waveDefaults(policy, svc);
  const canaryPath: PlanProblem['path'] = policy.canary !== undefined ? ['policy', 'canary'] : ['fleet', 'regions'];
  const maxRegions = policy.maxRegionsPerWave ?? Infinity;
  const maxGeo = policy.maxPerGeographyPerWave ?? Infinity;

  // ---- wave 1: the canary set, limited to the service's regions ----
  const canarySet = resolveCanary(fleet, policy);
  const canaryCells: Cell[] = [];
  const remaining = new Map<string, Cell[]>();
  const remWeight = new Map<string, number>();
  for (const r of regions) {
    const rest: Cell[] = [];
    let w = 0;
    for (const c of r.cells) {
      if (canarySet.has(`${r.id}/${c.id}`)) canaryCells.push(c);
      else {
        rest.push(c);
        w += c.weight;
      }
    }
    remaining.set(r.id, rest);
    remWeight.set(r.id, w);
  }
  if (canaryCells.length === 0) {
    return {
      problems: [
        {
          path: canaryPath,
          message: `the canary set has no cell in the regions the service runs in (${regions
            .slice(0, 5)
            .map((r) => r.id)
            .join(', ')}${regions.length > 5 ? ', …' : ''}): add one of them to the canary set`,
        },
      ],
    };
  }
  const canaryRegions = [...new Set(canaryCells.map((c) => c.region))];
  if (canaryRegions.length > maxRegions)
    problems.push({
      path: ['policy', 'maxRegionsPerWave'],
      message: `the canary set spans ${canaryRegions.length} regions (${canaryRegions.join(', ')}) but maxRegionsPerWave is ${maxRegions}, and wave 1 must be the whole canary set: raise the limit or shrink the canary set`,
    });
  const geoCount = new Map<string, string[]>();
  for (const id of canaryRegions) {
    const g = fleet.byId.get(id)!.geography;
    geoCount.set(g, [...(geoCount.get(g) ?? []), id]);
  }
  for (const [g, ids] of geoCount)
    if (ids.length > maxGeo)
      problems.push({
        path: ['policy', 'maxPerGeographyPerWave'],
        message: `the canary set has ${ids.length} regions in geography "${g}" (${ids.join(', ')}) but maxPerGeographyPerWave is ${maxGeo}, and wave 1 must be the whole canary set: raise the limit or shrink the canary set`,
      });
  const inCanary = new Set(canaryRegions);
  for (const a of canaryRegions)
    for (const b of fleet.partners.get(a) ?? [])
      if (a < b && inCanary.has(b))
        problems.push({
          path: canaryPath,
          message: `regions "${a}" and "${b}" are paired but both are in the canary set: paired regions never share a wave (I2); keep one of them`,
        });
  if (problems.length > 0) return { problems };

  const waves: Wave[] = [];
  const inProgress = new Set<string>();
  const done = new Set<string>();
  const startedPerGeo = new Map<string, number>();
  let verified = 0;
  let todo = 0;
  for (const r of regions) todo += remaining.get(r.id)!.length;

  const emit = (kind: WaveKind, cells: Cell[]) => {
    const index = waves.length + 1;
    const wave = makeWave(index, kind, cells, bake[kind], gates, approval(index, kind));
    waves.push(wave);
    verified += wave.weight;
    const taken = new Set(cells);
    for (const id of wave.regions) {
      const before = remaining.get(id)!;
      const rest = before.filter((c) => !taken.has(c));
      todo -= before.length - rest.length;
      remaining.set(id, rest);
      remWeight.set(
        id,
        rest.reduce((s, c) => s + c.weight, 0),
      );
      if (!inProgress.has(id) && !done.has(id)) {
        const g = fleet.byId.get(id)!.geography;
        startedPerGeo.set(g, (startedPerGeo.get(g) ?? 0) + 1);
      }
      if (rest.length === 0) {
        inProgress.delete(id);
        done.add(id);
      } else inProgress.add(id);
    }
  };
  emit('canary', canaryCells);
  // Regions outside the service count as done: they carry no target of it.
  const blockedBy = (id: string): string | undefined => {
    for (const p of fleet.partners.get(id) ?? []) if (inProgress.has(p)) return p;
    return undefined;
  };
  const firstFit = (cells: readonly Cell[], budget: number): Cell[] => {
    const out: Cell[] = [];
    let left = budget;
    for (const c of cells)
      if (fitsBudget(c.weight, left)) {
        out.push(c);
        left -= c.weight;
      }
    return out;
  };
  const cannotGrow = (cells: readonly Cell[]): PlanProblem => {
    const smallest = cells.reduce((a, b) => (b.weight < a.weight ? b : a));
    return {
      path: ['policy', 'growth'],
      message: `cell "${smallest.region}/${smallest.id}" weighs ${fmtWeight(smallest.weight)}, more than growth (${growth}) × the weight verified before it (${fmtWeight(verified)}) = ${fmtWeight(growth * verified)}, and no smaller target is left to grow the verified weight (I1): raise growth, add weight to the canary set, or split the region into more cells`,
    };
  };
  if (todo === 0) return { plan: finishPlan(svc.name, waves, regions, growth) };

  // ---- wave 2 (and more while it does not fit): a single region ----
  let first: Region | undefined;
  if (policy.firstRegion !== 'smallest' && remaining.has(policy.firstRegion)) {
    first = fleet.byId.get(policy.firstRegion)!;
    if (remaining.get(first.id)!.length === 0)
      return {
        problems: [
          {
            path: ['policy', 'firstRegion'],
            message: `firstRegion "${first.id}" is entirely in the canary set: name another region, or write "smallest"`,
          },
        ],
      };
    const b = blockedBy(first.id);
    if (b !== undefined)
      return {
        problems: [
          {
            path: ['policy', 'firstRegion'],
            message: `firstRegion "${first.id}" is paired with "${b}", which is only partly in the canary set, so "${first.id}" cannot start before "${b}" has finished (I2): name another region or put all of "${b}" in the canary set`,
          },
        ],
      };
  } else {
    // The smallest region that fits whole under growth × verified; else the smallest with a cell that fits.
    const cands = regions
      .filter((r) => remaining.get(r.id)!.length > 0 && blockedBy(r.id) === undefined)
      .sort((a, b) => remWeight.get(a.id)! - remWeight.get(b.id)! || cmp(a.id, b.id));
    const budget = growth * verified;
    first =
      cands.find((r) => fitsBudget(remWeight.get(r.id)!, budget)) ??
      cands.find((r) => remaining.get(r.id)!.some((c) => fitsBudget(c.weight, budget))) ??
      cands[0];
  }
  if (!first) throw new Error('planner: no region can start after the canary wave');
  while (remaining.get(first.id)!.length > 0) {
    const take = firstFit(remaining.get(first.id)!, growth * verified);
    if (take.length === 0) return { problems: [cannotGrow(remaining.get(first.id)!)] };
    emit('first', take);
  }

  // ---- later waves ----
  while (todo > 0) {
    const budget = growth * verified;
    const ordered = orderCandidates(regions, remaining, remWeight, inProgress, startedPerGeo, blockedBy);
    const cells: Cell[] = [];
    const inWave = new Set<string>();
    const perGeo = new Map<string, number>();
    let left = budget;
    for (const r of ordered) {
      if (inWave.size >= maxRegions) break;
      if ((perGeo.get(r.geography) ?? 0) >= maxGeo) continue;
      const w = remWeight.get(r.id)!;
      if (!fitsBudget(w, left)) continue;
      let paired = false;
      for (const p of fleet.partners.get(r.id) ?? []) if (inWave.has(p)) paired = true;
      if (paired) continue;
      inWave.add(r.id);
      perGeo.set(r.geography, (perGeo.get(r.geography) ?? 0) + 1);
      for (const c of remaining.get(r.id)!) cells.push(c);
      left -= w;
    }
    if (cells.length === 0) {
      // No region fits whole: deploy part of one (its cells that fit); its partners wait until it is done.
      for (const r of ordered) {
        const take = firstFit(remaining.get(r.id)!, budget);
        if (take.length > 0) {
          cells.push(...take);
          break;
        }
      }
      if (cells.length === 0) return { problems: [cannotGrow(ordered.flatMap((r) => remaining.get(r.id)!))] };
    }
    emit('later', cells);
  }
  return { plan: finishPlan(svc.name, waves, regions, growth) };
}

/**
 * The order in which later waves consider regions: regions already under way first (so their partners are
 * freed), then a round robin over geographies, least-touched geography first, smallest region first.
 */
function orderCandidates(
  regions: readonly Region[],
  remaining: Map<string, Cell[]>,
  remWeight: Map<string, number>,
  inProgress: Set<string>,
  startedPerGeo: Map<string, number>,
  blockedBy: (id: string) => string | undefined,
): Region[] {
  const under: Region[] = [];
  const byGeo = new Map<string, Region[]>();
  for (const r of regions) {
    if (remaining.get(r.id)!.length === 0) continue;
    if (inProgress.has(r.id)) under.push(r);
    else if (blockedBy(r.id) === undefined) {
      let list = byGeo.get(r.geography);
      if (!list) byGeo.set(r.geography, (list = []));
      list.push(r);
    }
  }
  under.sort((a, b) => cmp(a.id, b.id));
  const geos = [...byGeo.keys()].sort((a, b) => (startedPerGeo.get(a) ?? 0) - (startedPerGeo.get(b) ?? 0) || cmp(a, b));
  const lists = geos.map((g) => byGeo.get(g)!.sort((a, b) => remWeight.get(a.id)! - remWeight.get(b.id)! || cmp(a.id, b.id)));
  const out = under;
  for (let i = 0; ; i++) {
    let any = false;
    for (const l of lists)
      if (i < l.length) {
        out.push(l[i]);
        any = true;
      }
    if (!any) break;
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Builds the plan written by hand under `services[].plan`. Problems have paths relative to that list
 * (`[2, 'regions', 0]`); I1 and I2 are checked separately by checkPlan.
 */
export function explicitPlanFor(fleet: Fleet, policy: PlanPolicy, svc: PlanService & { plan: readonly PlanWave[] }): PlanOutcome {
  const problems: PlanProblem[] = [];
  const scope = new Set(serviceRegions(fleet, svc.regions).map((r) => r.id));
  const known = [...fleet.byId.keys()];
  const { gates, bake, approval } = waveDefaults(policy, svc);
  const waves: Wave[] = [];
  svc.plan.forEach((w, k) => {
    const cells: Cell[] = [];
    const index = k + 1;
    (w.regions ?? []).forEach((id, j) => {
      const r = fleet.byId.get(id);
      if (!r) problems.push({ path: [k, 'regions', j], message: `unknown region "${id}"${didYouMean(id, known)}` });
      else if (!scope.has(id)) problems.push({ path: [k, 'regions', j], message: `service "${svc.name}" does not run in region "${id}"` });
      else cells.push(...r.cells);
    });
    (w.targets ?? []).forEach((t, j) => {
      const slash = t.indexOf('/');
      const r = slash > 0 ? fleet.byId.get(t.slice(0, slash)) : undefined;
      const cell = r?.cells.find((c) => c.id === t.slice(slash + 1));
      if (slash <= 0)
        problems.push({
          path: [k, 'targets', j],
          message: `"${t}" is not a target: write region/cell, like "${known[0] ?? 'westeurope'}/cell-1"`,
        });
      else if (!r)
        problems.push({ path: [k, 'targets', j], message: `unknown region "${t.slice(0, slash)}"${didYouMean(t.slice(0, slash), known)}` });
      else if (!cell)
        problems.push({
          path: [k, 'targets', j],
          message: `region "${r.id}" has no cell "${t.slice(slash + 1)}"${didYouMean(
            t.slice(slash + 1),
            r.cells.map((c) => c.id),
          )}`,
        });
      else if (!scope.has(r.id))
        problems.push({ path: [k, 'targets', j], message: `service "${svc.name}" does not run in region "${r.id}"` });
      else cells.push(cell);
    });
    if ((w.regions ?? []).length + (w.targets ?? []).length === 0)
      problems.push({ path: [k], message: `wave ${index} lists no regions and no targets` });
    const kind: WaveKind = k === 0 ? 'canary' : k === 1 ? 'first' : 'later';
    waves.push(makeWave(index, kind, cells, w.bakeMs ?? bake[kind], gates, w.approval === true || approval(index, kind)));
  });
  if (problems.length > 0) return { problems };
  return { plan: finishPlan(svc.name, waves, serviceRegions(fleet, svc.regions), policy.growth) };
}
