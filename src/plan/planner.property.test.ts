// Property tests: for every generated fleet the planner keeps I1 and I2, covers every target exactly once and
// is deterministic; the checker finds exactly the violations an independent oracle finds in broken plans.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fleetSchema, type FleetConfig } from '../config/fleet.js';
import { policySchema, type PolicyConfig } from '../config/policy.js';
import { buildFleet } from '../fleet/fleet.js';
import { checkPlan } from './check.js';
import { planPolicy } from '../config/plan.js';
import { planFleet } from './planner.js';
import type { Plan, PlannedTarget, PlanService, Wave } from './types.js';

interface RegionGen {
  geo: number;
  weight: number;
  cells: number[];
  pairs: number[];
  symmetric: boolean;
  canary: boolean;
  canaryCells: boolean[];
}

const regionGen = (n: number): fc.Arbitrary<RegionGen> =>
  fc.record({
    geo: fc.integer({ min: 0, max: 5 }),
    weight: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0.5, max: 50, noNaN: true })),
    cells: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }),
    pairs: fc.array(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { maxLength: 2 }),
    symmetric: fc.boolean(),
    canary: fc.integer({ min: 0, max: 19 }).map((x) => x === 0),
    canaryCells: fc.array(
      fc.integer({ min: 0, max: 39 }).map((x) => x === 0),
      { minLength: 5, maxLength: 5 },
    ),
  });

const scenarioGen = fc.integer({ min: 1, max: 200 }).chain((n) =>
  fc.record({
    regions: fc.array(regionGen(n), { minLength: n, maxLength: n }),
    growth: fc.oneof(fc.constant(2), fc.double({ min: 1, max: 4, noNaN: true })),
    maxRegions: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
    maxGeo: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    firstRegion: fc.option(fc.integer({ min: 0, max: n - 1 }), { nil: undefined }),
    serviceSubset: fc.option(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { nil: undefined }),
  }),
);
type Scenario = typeof scenarioGen extends fc.Arbitrary<infer T> ? T : never;

interface Built {
  fleet: FleetConfig;
  policy: PolicyConfig;
  service: PlanService;
}

/** Regions paired as declared (both directions), computed here independently of the fleet model. */
function declaredPairSet(fc: FleetConfig): Set<string> {
  const s = new Set<string>();
  for (const r of fc.regions) {
    const ps = r.pair === undefined ? [] : Array.isArray(r.pair) ? r.pair : [r.pair];
    for (const p of ps) {
      if (p === r.id) continue;
      s.add(`${r.id}|${p}`);
      s.add(`${p}|${r.id}`);
    }
  }
  return s;
}

function targetWeights(fleet: FleetConfig, scope: Set<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of fleet.regions) {
    if (!scope.has(r.id)) continue;
    const total = r.cells.reduce((s, c) => s + c.weight, 0);
    for (const c of r.cells) m.set(`${r.id}/${c.id}`, (r.weight * c.weight) / total);
  }
  return m;
}

/**
 * Turns a generated scenario into config. `mode` `whole`: canary regions are whole regions, chosen as an
 * independent set of the pair graph, within the limits, and heavy enough that every cell fits (so a plan must
 * exist). `cells`: the canary set is cells, with no guarantee.
 */
function build(s: Scenario, mode: 'whole' | 'cells'): Built {
  const n = s.regions.length;
  const pairs: string[][] = s.regions.map(() => []);
  s.regions.forEach((g, i) => {
    for (const p of g.pairs) {
      if (p >= n) continue;
      if (!pairs[i].includes(`r${p}`)) pairs[i].push(`r${p}`);
      if (g.symmetric && p !== i && !pairs[p].includes(`r${i}`)) pairs[p].push(`r${i}`);
    }
  });
  // Self pairs are a config error; the planner never sees them from a valid config.
  pairs.forEach((ps, i) => (pairs[i] = ps.filter((p) => p !== `r${i}`)));
  const regions = s.regions.map((g, i) => ({
    id: `r${i}`,
    geography: `g${g.geo}`,
    weight: g.weight,
    pair: pairs[i].length === 0 ? undefined : pairs[i].length === 1 && i % 2 === 0 ? pairs[i][0] : pairs[i],
    canary: false,
    cells: g.cells.map((w, j) => ({ id: `c${j}`, weight: w })),
  }));
  const fleet = fleetSchema.parse({ regions });
  const partners = declaredPairSet(fleet);
  const scope = new Set(
    s.serviceSubset ? fleet.regions.filter((_, i) => s.serviceSubset![i] || i === 0).map((r) => r.id) : fleet.regions.map((r) => r.id),
  );
  const policy = policySchema.parse({
    growth: s.growth,
    maxRegionsPerWave: s.maxRegions,
    maxPerGeographyPerWave: s.maxGeo,
  });
  if (mode === 'whole') {
    const chosen: number[] = [];
    s.regions.forEach((g, i) => {
      if (!g.canary || !scope.has(`r${i}`)) return;
      if (chosen.some((c) => partners.has(`r${c}|r${i}`))) return;
      chosen.push(i);
    });
    if (chosen.length === 0) chosen.push(0);
    for (const i of chosen) fleet.regions[i].canary = true;
    const inCanary = new Set(chosen.map((i) => `r${i}`));
    // Limits must admit the canary wave.
    const perGeo = new Map<string, number>();
    for (const i of chosen) perGeo.set(fleet.regions[i].geography, (perGeo.get(fleet.regions[i].geography) ?? 0) + 1);
    if (policy.maxRegionsPerWave !== undefined) policy.maxRegionsPerWave = Math.max(policy.maxRegionsPerWave, chosen.length);
    if (policy.maxPerGeographyPerWave !== undefined)
      policy.maxPerGeographyPerWave = Math.max(policy.maxPerGeographyPerWave, ...perGeo.values());
    // Every other cell fits under growth × the canary weight.
    const w = targetWeights(fleet, scope);
    let heaviest = 0;
    let canaryWeight = 0;
    for (const [t, x] of w) {
      if (inCanary.has(t.slice(0, t.indexOf('/')))) canaryWeight += x;
      else heaviest = Math.max(heaviest, x);
    }
    if (canaryWeight * policy.growth < heaviest) fleet.regions[chosen[0]].weight += heaviest / policy.growth - canaryWeight + 1;
    if (s.firstRegion !== undefined && !inCanary.has(`r${s.firstRegion}`) && scope.has(`r${s.firstRegion}`))
      policy.firstRegion = `r${s.firstRegion}`;
  } else {
    // Canary regions and cells from an independent set of the pair graph, mostly; canary cells are made
    // heavy so that the rest of their region is light.
    const entries: string[] = [];
    const chosen: number[] = [];
    s.regions.forEach((g, i) => {
      if (!scope.has(`r${i}`)) return;
      const wanted = g.canary || g.canaryCells.some((x, j) => x && j < g.cells.length);
      if (!wanted || (i % 7 !== 0 && chosen.some((c) => partners.has(`r${c}|r${i}`)))) return;
      chosen.push(i);
      if (g.canary) entries.push(`r${i}`);
      else
        g.cells.forEach((_, j) => {
          if (!g.canaryCells[j]) return;
          entries.push(`r${i}/c${j}`);
          fleet.regions[i].cells[j].weight *= 20;
        });
    });
    if (entries.length === 0) entries.push(`${[...scope][0]}/c0`);
    policy.canary = entries;
    // Mostly, limits that admit the canary wave; sometimes limits that do not.
    if (n % 3 !== 0) {
      const regionsIn = [...new Set(entries.map((e) => e.split('/')[0]))];
      const perGeo = new Map<string, number>();
      for (const r of regionsIn)
        perGeo.set(fleet.regions[Number(r.slice(1))].geography, (perGeo.get(fleet.regions[Number(r.slice(1))].geography) ?? 0) + 1);
      if (policy.maxRegionsPerWave !== undefined) policy.maxRegionsPerWave = Math.max(policy.maxRegionsPerWave, regionsIn.length);
      if (policy.maxPerGeographyPerWave !== undefined)
        policy.maxPerGeographyPerWave = Math.max(policy.maxPerGeographyPerWave, ...perGeo.values());
    }
  }
  return { fleet, policy, service: { name: 'svc', regions: s.serviceSubset ? [...scope] : 'all', gates: [{ kind: 'probe', name: 'g' }] } };
}

/** The canary set, computed independently: policy entries, or regions marked canary. */
function canaryTargets(b: Built, weights: Map<string, number>): Set<string> {
  const out = new Set<string>();
  if (b.policy.canary === undefined) {
    for (const r of b.fleet.regions) if (r.canary) for (const c of r.cells) out.add(`${r.id}/${c.id}`);
  } else
    for (const e of b.policy.canary) {
      if (e.includes('/')) out.add(e);
      else for (const c of b.fleet.regions.find((r) => r.id === e)!.cells) out.add(`${e}/${c.id}`);
    }
  return new Set([...out].filter((t) => weights.has(t)));
}

/** An independent oracle for the rules a plan must keep; returns the set of broken rules. */
function oracle(plan: Plan, b: Built): Set<string> {
  const broken = new Set<string>();
  const scope = new Set(b.service.regions === 'all' ? b.fleet.regions.map((r) => r.id) : b.service.regions);
  const weights = targetWeights(b.fleet, scope);
  const canary = canaryTargets(b, weights);
  const partners = declaredPairSet(b.fleet);
  const geoOf = new Map(b.fleet.regions.map((r) => [r.id, r.geography]));
  const seen = new Map<string, number>();
  const wavesOf = new Map<string, number[]>();
  let verified = 0;
  if (plan.waves.length === 0) broken.add('coverage');
  plan.waves.forEach((w, i) => {
    let weight = 0;
    const regions = new Set<string>();
    if (w.targets.length === 0) broken.add('coverage');
    for (const t of w.targets) {
      const id = `${t.region}/${t.cell}`;
      if (!weights.has(id) || seen.has(id)) {
        broken.add('coverage');
        continue;
      }
      seen.set(id, i);
      weight += weights.get(id)!;
      regions.add(t.region);
      wavesOf.set(t.region, [...(wavesOf.get(t.region) ?? []), i]);
      if (i === 0 && !canary.has(id)) broken.add('I1');
    }
    if (i > 0 && weight > plan.growth * verified * (1 + 1e-9) + 1e-12) broken.add('I1');
    verified += weight;
    if (b.policy.maxRegionsPerWave !== undefined && regions.size > b.policy.maxRegionsPerWave) broken.add('policy');
    if (b.policy.maxPerGeographyPerWave !== undefined) {
      const per = new Map<string, number>();
      for (const r of regions) per.set(geoOf.get(r)!, (per.get(geoOf.get(r)!) ?? 0) + 1);
      if ([...per.values()].some((x) => x > b.policy.maxPerGeographyPerWave!)) broken.add('policy');
    }
  });
  for (const t of canary) if (seen.get(t) !== 0) broken.add('I1');
  for (const t of weights.keys()) if (!seen.has(t)) broken.add('coverage');
  for (const key of partners) {
    const [a, c] = key.split('|');
    const wa = wavesOf.get(a);
    const wc = wavesOf.get(c);
    if (!wa || !wc) continue;
    if (!(Math.max(...wa) < Math.min(...wc) || Math.max(...wc) < Math.min(...wa))) broken.add('I2');
  }
  return broken;
}

const FAST = { numRuns: 60, seed: 20141119, endOnFailure: true } as const;

test('every generated fleet (whole-region canaries) gets a plan that keeps I1 and I2 and covers every target once', () => {
  let waves = 0;
  let splits = 0;
  fc.assert(
    fc.property(scenarioGen, (s) => {
      const b = build(s, 'whole');
      const fleet = buildFleet(b.fleet);
      const out = planFleet(fleet, planPolicy(b.policy), b.service);
      assert.ok('plan' in out, `expected a plan, got problems: ${'problems' in out ? out.problems.map((p) => p.message).join('; ') : ''}`);
      const plan = out.plan;
      assert.deepEqual(checkPlan(plan, fleet, b.policy, b.service.regions), []);
      assert.deepEqual([...oracle(plan, b)], []);
      assert.equal(plan.waves[0].kind, 'canary');
      if (plan.waves.length > 1) {
        assert.equal(plan.waves[1].kind, 'first');
        assert.equal(plan.waves[1].regions.length, 1, 'wave 2 is a single region');
        if (b.policy.firstRegion !== 'smallest') assert.deepEqual(plan.waves[1].regions, [b.policy.firstRegion]);
      }
      assert.equal(
        plan.minDurationMs,
        plan.waves.reduce((x, w) => x + w.bakeMs, 0),
      );
      // Deterministic: the same input gives the same plan.
      const again = planFleet(buildFleet(structuredClone(b.fleet)), planPolicy(structuredClone(b.policy)), structuredClone(b.service));
      assert.deepEqual(again, out);
      waves += plan.waves.length;
      const regionsSeen = new Set<string>();
      for (const w of plan.waves)
        for (const r of w.regions) {
          if (regionsSeen.has(r)) splits++;
          else regionsSeen.add(r);
        }
    }),
    FAST,
  );
  assert.ok(waves > 0);
  void splits;
});

test('canary sets of cells: a plan, when there is one, keeps every rule; a refusal names a constraint', () => {
  let planned = 0;
  let refused = 0;
  fc.assert(
    fc.property(scenarioGen, (s) => {
      const b = build(s, 'cells');
      const fleet = buildFleet(b.fleet);
      const out = planFleet(fleet, planPolicy(b.policy), b.service);
      if ('plan' in out) {
        planned++;
        assert.deepEqual(checkPlan(out.plan, fleet, b.policy, b.service.regions), []);
        assert.deepEqual([...oracle(out.plan, b)], []);
        assert.deepEqual(planFleet(fleet, planPolicy(b.policy), b.service), out);
        return;
      }
      refused++;
      assert.ok(out.problems.length > 0);
      // When the canary set is an independent set within the limits and every other cell fits under
      // growth × the canary weight, a plan exists and the planner must find it.
      const scope = new Set(b.service.regions === 'all' ? b.fleet.regions.map((r) => r.id) : b.service.regions);
      const weights = targetWeights(b.fleet, scope);
      const canary = canaryTargets(b, weights);
      const canaryRegions = [...new Set([...canary].map((t) => t.slice(0, t.indexOf('/'))))];
      const partners = declaredPairSet(b.fleet);
      const independent = !canaryRegions.some((x) => canaryRegions.some((y) => partners.has(`${x}|${y}`)));
      const perGeo = new Map<string, number>();
      for (const r of canaryRegions) {
        const g = b.fleet.regions.find((x) => x.id === r)!.geography;
        perGeo.set(g, (perGeo.get(g) ?? 0) + 1);
      }
      const withinLimits =
        canaryRegions.length <= (b.policy.maxRegionsPerWave ?? Infinity) &&
        Math.max(...perGeo.values()) <= (b.policy.maxPerGeographyPerWave ?? Infinity);
      let canaryWeight = 0;
      let heaviest = 0;
      for (const [t, w] of weights) {
        if (canary.has(t)) canaryWeight += w;
        else heaviest = Math.max(heaviest, w);
      }
      const bounded = heaviest <= b.policy.growth * canaryWeight * (1 - 1e-9);
      assert.ok(
        !(independent && withinLimits && bounded),
        `a plan exists but the planner refused: ${out.problems.map((p) => p.message).join('; ')}`,
      );
      for (const p of out.problems) {
        assert.ok(
          ['policy.canary', 'policy.growth', 'policy.maxRegionsPerWave', 'policy.maxPerGeographyPerWave', 'policy.firstRegion'].includes(
            p.path.join('.'),
          ),
          `unexpected constraint ${p.path.join('.')}: ${p.message}`,
        );
        assert.ok(p.message.length > 20);
      }
    }),
    FAST,
  );
  assert.ok(planned > 0, 'some cell canary sets must be plannable');
  assert.ok(refused > 0, 'some cell canary sets must be refused');
});

/** Mutations of a valid plan; each may break some rules. */
const mutationGen = fc.record({
  kind: fc.constantFrom('merge-pair', 'move-to-first', 'into-canary', 'drop', 'duplicate', 'swap-waves', 'merge-next'),
  a: fc.nat(),
  b: fc.nat(),
});

function rebuild(waves: PlannedTarget[][], plan: Plan): Plan {
  const ws: Wave[] = waves
    .filter((t) => t.length > 0)
    .map((targets, i) => ({
      ...plan.waves[Math.min(i, plan.waves.length - 1)],
      index: i + 1,
      targets,
      regions: [...new Set(targets.map((t) => t.region))],
      weight: targets.reduce((s, t) => s + t.weight, 0),
    }));
  return { ...plan, waves: ws };
}

function mutate(plan: Plan, b: Built, m: { kind: string; a: number; b: number }): Plan {
  const waves = plan.waves.map((w) => [...w.targets]);
  const n = waves.length;
  const all = waves.flat();
  if (all.length === 0) return plan;
  const pick = all[m.a % all.length];
  const waveOf = (t: PlannedTarget) => waves.findIndex((w) => w.includes(t));
  switch (m.kind) {
    case 'merge-pair': {
      const partners = declaredPairSet(b.fleet);
      const edge = [...partners]
        .map((k) => k.split('|'))
        .find(([x, y]) => waves.some((w) => w.some((t) => t.region === x)) && waves.some((w) => w.some((t) => t.region === y)));
      if (!edge) return plan;
      const [x, y] = edge;
      const target = waves.findIndex((w) => w.some((t) => t.region === x));
      for (let i = 0; i < n; i++) {
        if (i === target) continue;
        const moving = waves[i].filter((t) => t.region === y);
        waves[i] = waves[i].filter((t) => t.region !== y);
        waves[target].push(...moving);
      }
      break;
    }
    case 'move-to-first':
      if (n > 2) {
        const from = 1 + (m.b % (n - 1));
        waves[Math.min(1, n - 1)].push(...waves[from].splice(0));
      }
      break;
    case 'into-canary': {
      const from = waveOf(pick);
      if (from > 0) {
        waves[from] = waves[from].filter((t) => t !== pick);
        waves[0].push(pick);
      }
      break;
    }
    case 'drop':
      waves[waveOf(pick)] = waves[waveOf(pick)].filter((t) => t !== pick);
      break;
    case 'duplicate':
      waves[m.b % n].push({ ...pick });
      break;
    case 'swap-waves':
      if (n > 2) {
        const i = 1 + (m.a % (n - 1));
        const j = 1 + (m.b % (n - 1));
        [waves[i], waves[j]] = [waves[j], waves[i]];
      }
      break;
    case 'merge-next':
      if (n > 1) {
        const i = m.a % (n - 1);
        waves[i].push(...waves[i + 1].splice(0));
      }
      break;
  }
  return rebuild(waves, plan);
}

test('the checker finds exactly the rules an independent oracle finds broken in mutated plans', () => {
  const found = new Map<string, number>();
  fc.assert(
    fc.property(scenarioGen, fc.array(mutationGen, { minLength: 1, maxLength: 3 }), (s, ms) => {
      const b = build(s, 'whole');
      const fleet = buildFleet(b.fleet);
      const out = planFleet(fleet, planPolicy(b.policy), b.service);
      if (!('plan' in out)) return;
      let plan = out.plan;
      for (const m of ms) plan = mutate(plan, b, m);
      const expected = oracle(plan, b);
      const violations = checkPlan(plan, fleet, b.policy, b.service.regions);
      const got = new Set(violations.map((v) => v.rule));
      assert.deepEqual([...got].sort(), [...expected].sort(), violations.map((v) => `${v.rule} wave ${v.wave}: ${v.message}`).join('\n'));
      for (const v of violations) {
        assert.ok(v.wave >= 0 && v.wave <= Math.max(1, plan.waves.length));
        if (v.rule === 'I2') assert.ok(v.region, 'an I2 violation names its region');
      }
      for (const r of got) found.set(r, (found.get(r) ?? 0) + 1);
    }),
    { numRuns: 150, seed: 42, endOnFailure: true },
  );
  for (const rule of ['I1', 'I2', 'coverage']) assert.ok((found.get(rule) ?? 0) > 0, `the mutations must break ${rule} at least once`);
});

test('a plan that breaks I2 by sharing a wave between partners, and I1 by growing too fast, is rejected', () => {
  const fleetCfg = fleetSchema.parse({
    regions: [
      { id: 'c', geography: 'x', canary: true, weight: 1 },
      { id: 'a', geography: 'x', weight: 2, pair: 'b' },
      { id: 'b', geography: 'y', weight: 2 },
    ],
  });
  const fleet = buildFleet(fleetCfg);
  const policy = policySchema.parse({});
  const t = (region: string) => ({ region, cell: 'cell-1', weight: fleet.byId.get(region)!.weight });
  const plan: Plan = {
    service: 's',
    growth: 2,
    totalWeight: 5,
    minDurationMs: 0,
    waves: [
      { index: 1, kind: 'canary', targets: [t('c')], regions: ['c'], weight: 1, bakeMs: 0, gates: [], approval: false },
      { index: 2, kind: 'first', targets: [t('a'), t('b')], regions: ['a', 'b'], weight: 4, bakeMs: 0, gates: [], approval: false },
    ],
  };
  const v = checkPlan(plan, fleet, policy);
  assert.deepEqual(
    v.map((x) => [x.rule, x.wave, x.region]),
    [
      ['I1', 2, 'a, b'],
      ['I2', 2, 'b'],
    ],
  );
});
