// Pair-safe rollback over generated fleets, plans and failures (I2 for every driver action, I4): in the
// driver actions of a rollback no region and its partner are in flight together unless both were failing
// when it began, a healthy region's partner goes only once the region passes its probes on the old version,
// and every touched target ends on its last verified version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DriverAction, Decision } from './decide.js';
import { handPlan, probeGateSpec, Sim, type SimOptions } from '../../test/sim.js';
import { isTerminal } from './phases.js';

const MIN = 60_000;

type Health = { kind: 'good' } | { kind: 'fail' | 'hang'; afterMin: number };

const arbHealth: fc.Arbitrary<Health> = fc.oneof(
  { arbitrary: fc.constant<Health>({ kind: 'good' }), weight: 4 },
  fc.record({ kind: fc.constantFrom<'fail' | 'hang'>('fail', 'hang'), afterMin: fc.integer({ min: 0, max: 200 }) }),
);

const arbCase = fc.integer({ min: 2, max: 7 }).chain((n) =>
  fc.record({
    cells: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: n, maxLength: n }),
    /** Sort keys: the order regions are paired in, and the order they are planned in. */
    pairOrder: fc.array(fc.integer(), { minLength: n, maxLength: n }),
    pairOn: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    planOrder: fc.array(fc.integer(), { minLength: n, maxLength: n }),
    waveSize: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: n, maxLength: n }),
    health: fc.array(arbHealth, { minLength: 3 * n, maxLength: 3 * n }),
    gracefulFails: fc.array(fc.boolean(), { minLength: 3 * n, maxLength: 3 * n }),
    abortAtMin: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    maxParallel: fc.constantFrom(Infinity, 1, 2),
  }),
);

const order = (keys: number[]) =>
  keys
    .map((k, i) => ({ k, i }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.i);

class CheckedSim extends Sim {
  onTick?: (d: Decision) => void;
  override tick(): Decision {
    const d = super.tick();
    this.onTick?.(d);
    return d;
  }
}

test('for any fleet, plan and failure: rollback keeps the pair rule and ends with every touched target on its last verified version', () => {
  fc.assert(
    fc.property(arbCase, (c) => {
      const n = c.cells.length;
      const regions = Array.from({ length: n }, (_, i) => `r${i}`);
      // Pairs: neighbours in a random order, each pair switched on or off.
      const byPair = order(c.pairOrder);
      const pairs: [string, string][] = [];
      for (let i = 0; i + 1 < n; i += 2) if (c.pairOn[i]) pairs.push([regions[byPair[i]], regions[byPair[i + 1]]]);
      const partner = new Map<string, string>();
      for (const [a, b] of pairs) partner.set(a, b).set(b, a);
      // Waves in a random order: the canary region alone, then groups, never a region with its partner (I2).
      const waves: string[][] = [];
      let cur: string[] = [];
      order(c.planOrder).forEach((ri, k) => {
        const r = regions[ri];
        const limit = waves.length === 0 ? 1 : c.waveSize[k];
        if (cur.length >= limit || cur.includes(partner.get(r) ?? '')) {
          waves.push(cur);
          cur = [];
        }
        cur.push(r);
      });
      if (cur.length) waves.push(cur);
      const targetsOf = (r: string) => Array.from({ length: c.cells[Number(r.slice(1))] }, (_, j) => `${r}/c${j}`);
      const all = regions.flatMap(targetsOf);
      const health = new Map(all.map((id, i) => [id, c.health[i % c.health.length]]));
      const graceful = new Map(all.map((id, i) => [id, !c.gracefulFails[i % c.gracefulFails.length]]));

      const calls: { a: DriverAction; at: number }[] = [];
      const opts: SimOptions = {
        plan: handPlan(
          'svc',
          waves.map((rs) => ({ targets: rs.flatMap(targetsOf), bakeMs: 30 * MIN, gates: ['health'] })),
        ),
        pairs,
        gates: [probeGateSpec('health', { intervalMs: MIN, freshForMs: 3 * MIN })],
        probeEveryMs: MIN,
        limits: { maxParallel: c.maxParallel },
        probe: (id, version, now) => {
          const h = health.get(id)!;
          if (version === 'v1' || h.kind === 'good' || now - t0 < h.afterMin * MIN) return { verdict: 'pass', detail: 'HTTP 200' };
          return h.kind === 'hang'
            ? { verdict: 'fail', detail: 'timeout after 2s', timedOut: true }
            : { verdict: 'fail', detail: 'HTTP 500' };
        },
        driver: (a, sim) => {
          calls.push({ a, at: sim.clock.now() });
          if (a.kind === 'rollback' && !graceful.get(`${a.target.region}/${a.target.cell}`)) return { ok: false, detail: 'exit 1' };
          return { ok: true, detail: 'exit 0' };
        },
      };
      const sim = new CheckedSim(opts);
      const t0 = sim.clock.now();

      // Which targets were failing when the rollback began, from the sim's own observations.
      let failing: Set<string> | undefined;
      const failingAt = (at: number) => {
        const deployedAt = new Map<string, number>();
        for (const e of sim.events) if (e.type === 'target.deployed') deployedAt.set((e.data as { target: string }).target, e.at);
        const out = new Set<string>();
        for (const id of all) {
          const since = deployedAt.get(id);
          if (since === undefined) continue;
          const newest = sim.observations.filter((o) => `${o.region}/${o.cell}` === id && o.at >= since && o.at <= at).at(-1);
          if (newest && newest.verdict !== 'pass') out.add(id);
        }
        return out;
      };
      sim.onTick = () => {
        const s = sim.state;
        const began = sim.events.find((e) => e.type === 'rollout.rolling_back');
        if (began && !failing) failing = failingAt(began.at);
        for (const [a, b] of pairs) {
          const fa = targetsOf(a).filter((id) => s.targets[id].key);
          const fb = targetsOf(b).filter((id) => s.targets[id].key);
          if (fa.length === 0 || fb.length === 0) continue;
          assert.ok(began, `regions ${a} and ${b} in flight together while deploying (${fa}, ${fb})`);
          for (const id of [...fa, ...fb])
            assert.ok(failing!.has(id), `rollback: ${a} and ${b} in flight together (${fa} | ${fb}) but ${id} was not failing`);
        }
      };

      if (c.abortAtMin !== undefined) {
        sim.run({ until: () => sim.clock.now() >= t0 + c.abortAtMin! * MIN, maxMs: c.abortAtMin * MIN + 1 });
        if (!isTerminal(sim.state.phase)) {
          try {
            sim.command({ kind: 'abort' });
          } catch {
            // refused in this phase: fine
          }
        }
      }
      sim.run({ maxMs: 30 * 86_400_000 });
      const s = sim.state;
      assert.ok(s.phase === 'completed' || s.phase === 'rolled_back', `ends completed or rolled_back, not ${s.phase}`);

      const touched = new Set(calls.filter((x) => x.a.kind === 'deploy').map((x) => `${x.a.target.region}/${x.a.target.cell}`));
      if (s.phase === 'completed') for (const v of sim.versions.values()) assert.equal(v, 'v2');
      else {
        for (const [id, v] of sim.versions) assert.equal(v, touched.has(id) || v === 'v1' ? 'v1' : v, `${id} ends on v1`);
        for (const id of touched) assert.equal(s.targets[id].status, 'rolled_back');
        // A healthy target goes back only after every partner target already sent back passed a probe on v1.
        const back = calls.filter((x) => x.a.kind !== 'deploy');
        for (const x of back) {
          const id = `${x.a.target.region}/${x.a.target.cell}`;
          const p = partner.get(x.a.target.region);
          if (!p || failing!.has(id)) continue;
          for (const y of back) {
            const pid = `${y.a.target.region}/${y.a.target.cell}`;
            if (y.a.target.region !== p || y.at > x.at) continue;
            const proven = sim.observations.some(
              (o) => `${o.region}/${o.cell}` === pid && o.version === 'v1' && o.verdict === 'pass' && o.at > y.at && o.at <= x.at,
            );
            assert.ok(proven, `${id} went back at ${x.at - t0} before its partner target ${pid} passed on v1`);
          }
        }
      }
    }),
    { numRuns: 120 },
  );
});
