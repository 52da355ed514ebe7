// Properties of the rollout core over generated plans, evidence and people's commands (I1, I3, I4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Verdict } from '../core/types.js';
import { handPlan, probeGateSpec, Sim } from '../../test/sim.js';
import { isTerminal } from './phases.js';
import type { Command } from './commands.js';

const MIN = 60_000;

type Health = { kind: 'good' } | { kind: 'bad'; after: number; verdict: Verdict } | { kind: 'silent'; from: number; to: number };

const arbHealth: fc.Arbitrary<Health> = fc.oneof(
  { arbitrary: fc.constant<Health>({ kind: 'good' }), weight: 3 },
  fc.record({
    kind: fc.constant('bad' as const),
    after: fc.integer({ min: 0, max: 120 * MIN }),
    verdict: fc.constantFrom<Verdict>('fail', 'error'),
  }),
  fc.record({
    kind: fc.constant('silent' as const),
    from: fc.integer({ min: 0, max: 60 * MIN }),
    to: fc.integer({ min: 0, max: 90 * MIN }),
  }),
);

const arbCase = fc.record({
  waves: fc.array(fc.record({ cells: fc.integer({ min: 1, max: 3 }), bakeMin: fc.integer({ min: 1, max: 60 }), approval: fc.boolean() }), {
    minLength: 1,
    maxLength: 4,
  }),
  health: fc.array(arbHealth, { minLength: 12, maxLength: 12 }),
  commands: fc.array(
    fc.record({
      atMin: fc.integer({ min: 0, max: 300 }),
      cmd: fc.constantFrom<Command>({ kind: 'pause' }, { kind: 'resume' }, { kind: 'abort' }, { kind: 'approve' }),
    }),
    { maxLength: 6 },
  ),
});

test('for any plan, evidence and commands: waves in order, bake only on fresh passing evidence, rollback of exactly the touched targets', () => {
  fc.assert(
    fc.property(arbCase, (c) => {
      let n = 0;
      const waves = c.waves.map((w, i) => ({
        targets: Array.from({ length: w.cells }, (_, j) => `r${i}/c${j}`),
        bakeMs: w.bakeMin * MIN,
        gates: ['health'],
        approval: w.approval && i > 0,
      }));
      const health = new Map<string, Health>();
      for (const w of waves) for (const t of w.targets) health.set(t, c.health[n++ % c.health.length]);
      let t0 = 0;
      const sim = new Sim({
        plan: handPlan('svc', waves),
        gates: [probeGateSpec('health', { intervalMs: 5 * MIN, freshForMs: 11 * MIN })],
        probeEveryMs: 5 * MIN,
        probe: (id, version, now) => {
          t0 ||= now;
          const h = health.get(id)!;
          if (version === 'v1' || h.kind === 'good') return { verdict: 'pass' };
          if (h.kind === 'bad') return now - t0 >= h.after ? { verdict: h.verdict, detail: 'bad' } : { verdict: 'pass' };
          return now - t0 >= h.from && now - t0 < h.to ? undefined : { verdict: 'pass' };
        },
      });
      const start = sim.clock.now();
      const cmds = [...c.commands].sort((a, b) => a.atMin - b.atMin);
      for (const { atMin, cmd } of cmds) {
        sim.run({ until: () => sim.clock.now() >= start + atMin * MIN, maxMs: atMin * MIN + 1 });
        if (isTerminal(sim.state.phase)) break;
        try {
          sim.command(cmd);
        } catch {
          // a command that does not apply in this phase is refused; that is fine
        }
      }
      for (let i = 0; i < 6 && !isTerminal(sim.state.phase); i++) {
        sim.run({
          maxMs: 86_400_000,
          until: (x) =>
            x.phase === 'paused' ||
            ((x.phase === 'running' || x.phase === 'pending') && x.waves.some((w) => w.status === 'awaiting_approval')),
        });
        if (isTerminal(sim.state.phase)) break;
        try {
          sim.command(sim.state.phase === 'paused' ? { kind: 'resume' } : { kind: 'approve' });
        } catch {
          /* nothing to do */
        }
      }
      const s = sim.state;
      assert.ok(isTerminal(s.phase), `ends (phase ${s.phase})`);

      // I1 at runtime: a wave starts deploying only after every earlier wave is verified.
      const verified = new Map<number, number>();
      for (const e of sim.events) {
        const d = e.data as { wave?: number };
        if (e.type === 'wave.verified') verified.set(d.wave!, e.at);
        if (e.type === 'wave.deploying')
          for (let i = 1; i < d.wave!; i++) assert.ok(verified.has(i), `wave ${d.wave} before ${i} verified`);
      }
      // I3: a verified wave baked its full time, and only while its gate passed and the rollout ran:
      // rebuilt from the event log (gate verdict changes, pause and resume).
      for (const w of s.waves) {
        if (w.status !== 'verified') continue;
        assert.equal(w.bakeAccruedMs, w.bakeMs);
        let verdict = 'none';
        let running = true;
        let last = w.bakeStartedAt!;
        let good = 0;
        for (const e of sim.events) {
          if (e.at > w.verifiedAt!) break;
          if (e.at >= w.bakeStartedAt! && verdict === 'pass' && running) good += e.at - last;
          if (e.at >= w.bakeStartedAt!) last = e.at;
          const d = e.data as { wave?: number; verdict?: string };
          if (e.type === 'gate.verdict' && d.wave === w.index) verdict = d.verdict!;
          if (e.type === 'rollout.paused') running = false;
          if (e.type === 'rollout.running') running = true;
        }
        if (verdict === 'pass' && running) good += w.verifiedAt! - last;
        assert.ok(good >= w.bakeMs, `wave ${w.index} verified after ${good} ms of passing evidence, needs ${w.bakeMs}`);
      }
      // One deploy call per target and attempt; rollbacks only for touched targets, and all of them.
      const deployKeys = sim.calls.filter((x) => x.kind === 'deploy').map((x) => x.key);
      assert.equal(new Set(deployKeys).size, deployKeys.length);
      const touched = new Set(sim.calls.filter((x) => x.kind === 'deploy').map((x) => `${x.target.region}/${x.target.cell}`));
      const back = new Set(sim.calls.filter((x) => x.kind !== 'deploy').map((x) => `${x.target.region}/${x.target.cell}`));
      if (s.phase === 'completed') {
        assert.equal(back.size, 0);
        for (const v of sim.versions.values()) assert.equal(v, 'v2');
      } else {
        assert.equal(s.phase, 'rolled_back');
        assert.deepEqual([...back].sort(), [...touched].sort());
        for (const v of sim.versions.values()) assert.equal(v, 'v1');
      }
      // A halt names its cause; a bad target must have caused it when the rollout did not complete on its own.
      if (s.stop?.kind === 'halt') assert.match(s.stop.reason, /gate health (failed|kept erroring)|could not deploy/);
    }),
    { numRuns: 100 },
  );
});
