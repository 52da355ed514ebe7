// The I1/I2 checker (pure): finds every broken promise of a plan, by wave and region. It recomputes target
// weights from the fleet rather than trusting the plan, so it can judge plans written by hand.
import type { Fleet } from '../fleet/fleet.js';
import { resolveCanary, serviceRegions } from '../fleet/fleet.js';
import type { Plan, PlanPolicy, PlanViolation } from './types.js';

type CheckPolicy = Pick<PlanPolicy, 'canary' | 'growth' | 'maxRegionsPerWave' | 'maxPerGeographyPerWave'>;

const EPS = 1e-9;
const fmt = (w: number) => (Number.isInteger(w) ? String(w) : String(Number(w.toPrecision(4))));
const span = (a: number, b: number) => (a === b ? `wave ${a}` : `waves ${a}–${b}`);

/**
 * Every violation of I1 (wave 1 is exactly the canary set; each later wave weighs at most growth × the
 * weight verified before it), I2 (paired regions' waves never overlap: a region's partner starts only after
 * the region's last wave), coverage (every target of the service exactly once, nothing else) and the
 * per-wave limits of the policy. `scope` is the regions the service runs in.
 */
export function checkPlan(plan: Plan, fleet: Fleet, policy: CheckPolicy, scope: 'all' | string[] = 'all'): PlanViolation[] {
  const out: PlanViolation[] = [];
  const regions = serviceRegions(fleet, scope);
  const inScope = new Set(regions.map((r) => r.id));
  const weightOf = new Map<string, number>();
  for (const r of regions) for (const c of r.cells) weightOf.set(`${r.id}/${c.id}`, c.weight);
  const canary = new Set([...resolveCanary(fleet, policy)].filter((t) => weightOf.has(t)));
  if (plan.waves.length === 0) {
    out.push({ rule: 'coverage', wave: 0, message: 'the plan has no waves' });
    return out;
  }
  const seenIn = new Map<string, number>();
  const firstWave = new Map<string, number>();
  const lastWave = new Map<string, number>();
  let verified = 0;
  plan.waves.forEach((wave, i) => {
    const n = i + 1;
    if (wave.targets.length === 0) out.push({ rule: 'coverage', wave: n, message: `wave ${n} has no targets` });
    let weight = 0;
    const waveRegions: string[] = [];
    const notCanary = new Map<string, string[]>();
    for (const t of wave.targets) {
      const id = `${t.region}/${t.cell}`;
      if (!fleet.byId.has(t.region)) {
        out.push({ rule: 'coverage', wave: n, region: t.region, message: `unknown region "${t.region}"` });
        continue;
      }
      if (!inScope.has(t.region)) {
        out.push({ rule: 'coverage', wave: n, region: t.region, message: `the service does not run in region "${t.region}"` });
        continue;
      }
      const w = weightOf.get(id);
      if (w === undefined) {
        out.push({ rule: 'coverage', wave: n, region: t.region, message: `region "${t.region}" has no cell "${t.cell}"` });
        continue;
      }
      const prev = seenIn.get(id);
      if (prev !== undefined) {
        out.push({
          rule: 'coverage',
          wave: n,
          region: t.region,
          message: `target ${id} is already in wave ${prev}: each target is deployed once`,
        });
        continue;
      }
      seenIn.set(id, n);
      weight += w;
      if (!firstWave.has(t.region)) {
        firstWave.set(t.region, n);
      }
      if (lastWave.get(t.region) !== n) waveRegions.push(t.region);
      lastWave.set(t.region, n);
      if (n === 1 && !canary.has(id)) notCanary.set(t.region, [...(notCanary.get(t.region) ?? []), t.cell]);
    }
    const distinct = [...new Set(waveRegions)];
    // I1
    if (n === 1) {
      for (const [r, cells] of notCanary)
        out.push({
          rule: 'I1',
          wave: 1,
          region: r,
          message: `${r}/${cells.join(', ')} ${cells.length === 1 ? 'is' : 'are'} not in the canary set: wave 1 is the canary set only`,
        });
    } else if (weight > policy.growth * verified * (1 + EPS) + 1e-12) {
      out.push({
        rule: 'I1',
        wave: n,
        region: distinct.join(', '),
        message: `wave ${n} weighs ${fmt(weight)}, more than growth (${policy.growth}) × the weight verified before it (${fmt(verified)}) = ${fmt(policy.growth * verified)}`,
      });
    }
    verified += weight;
    // policy limits
    if (policy.maxRegionsPerWave !== undefined && distinct.length > policy.maxRegionsPerWave)
      out.push({
        rule: 'policy',
        wave: n,
        message: `wave ${n} has ${distinct.length} regions, more than maxRegionsPerWave (${policy.maxRegionsPerWave})`,
      });
    if (policy.maxPerGeographyPerWave !== undefined) {
      const per = new Map<string, string[]>();
      for (const r of distinct) {
        const g = fleet.byId.get(r)!.geography;
        per.set(g, [...(per.get(g) ?? []), r]);
      }
      for (const [g, rs] of per)
        if (rs.length > policy.maxPerGeographyPerWave)
          out.push({
            rule: 'policy',
            wave: n,
            region: rs.join(', '),
            message: `wave ${n} has ${rs.length} regions of geography "${g}" (${rs.join(', ')}), more than maxPerGeographyPerWave (${policy.maxPerGeographyPerWave})`,
          });
    }
  });
  // I1: the whole canary set goes first.
  const missingCanary = new Map<string, string[]>();
  for (const t of canary)
    if (seenIn.get(t) !== 1) {
      const [r, c] = [t.slice(0, t.indexOf('/')), t.slice(t.indexOf('/') + 1)];
      missingCanary.set(r, [...(missingCanary.get(r) ?? []), c]);
    }
  for (const [r, cells] of missingCanary)
    out.push({
      rule: 'I1',
      wave: 1,
      region: r,
      message: `canary ${cells.length === 1 ? 'target' : 'targets'} ${r}/${cells.join(', ')} ${cells.length === 1 ? 'is' : 'are'} not in wave 1: wave 1 is the whole canary set`,
    });
  // I2: paired regions' wave spans never overlap.
  for (const [a, partners] of fleet.partners) {
    const fa = firstWave.get(a);
    if (fa === undefined) continue;
    for (const b of partners) {
      if (b <= a) continue;
      const fb = firstWave.get(b);
      if (fb === undefined) continue;
      const la = lastWave.get(a)!;
      const lb = lastWave.get(b)!;
      if (la < fb || lb < fa) continue;
      const [early, late] = fa < fb || (fa === fb && a < b) ? [a, b] : [b, a];
      const fe = firstWave.get(early)!;
      const le = lastWave.get(early)!;
      const fl = firstWave.get(late)!;
      const ll = lastWave.get(late)!;
      out.push({
        rule: 'I2',
        wave: fl,
        region: late,
        message:
          fe === fl && le === fe && ll === fl
            ? `paired regions "${early}" and "${late}" are both in wave ${fl}: paired regions never share a wave`
            : `"${late}" (${span(fl, ll)}) is paired with "${early}" (${span(fe, le)}): it may start only after the last wave of "${early}" has finished its bake`,
      });
    }
  }
  // Coverage: every target of the service.
  for (const r of regions) {
    const missing = r.cells.filter((c) => !seenIn.has(`${r.id}/${c.id}`)).map((c) => c.id);
    if (missing.length > 0)
      out.push({
        rule: 'coverage',
        wave: plan.waves.length,
        region: r.id,
        message: `${missing.length === r.cells.length ? `region "${r.id}" is` : `cells ${missing.join(', ')} of region "${r.id}" are`} in no wave: every target of the service must be in exactly one wave`,
      });
  }
  out.sort((x, y) => x.wave - y.wave);
  return out;
}
