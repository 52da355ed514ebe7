import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Observation } from '../core/types.js';
import type { GateSpec } from '../gates/gate.js';
import { regionHealth, type HealthSignal, type RegionHealth } from './health.js';
import { DEFAULT_BLAME, rankSuspects } from './blame.js';
import { decideLine, LINE_STOP_ACTOR, type Freeze, type LineInput } from './line.js';
import type { RolloutFootprint } from './blame.js';

const MIN = 60_000;
const spec: GateSpec = {
  name: 'slo',
  kind: 'probe',
  sources: ['slo'],
  intervalMs: 10_000,
  freshForMs: 32_000,
  failureLimit: 0,
  failAfter: 3,
  consecutiveErrorLimit: 4,
  inconclusiveLimit: 10,
  config: { kind: 'probe', name: 'slo', probe: 'slo', failAfter: 3, failureLimit: 0, consecutiveErrorLimit: 4, inconclusiveLimit: 10 },
};
const cells = (region: string) => [1, 2].map((i) => ({ id: `${region}/cell-${i}`, region, cell: `cell-${i}` }));
const signal = (regions: string[]): HealthSignal => ({ name: 'slo', source: 'slo', targets: regions.flatMap(cells), spec });

function failing(region: string, since: number, targets = cells(region).map((c) => c.id)): RegionHealth {
  return {
    region,
    condition: 'failing',
    since,
    failingTargets: targets,
    measuredTargets: cells(region).map((c) => c.id),
    reasons: ['slo'],
  };
}
const healthy = (region: string): RegionHealth => ({
  region,
  condition: 'healthy',
  failingTargets: [],
  measuredTargets: cells(region).map((c) => c.id),
  reasons: [],
});

function rollout(id: string, service: string, changes: [region: string, at: number][], phase = 'running', pausedBy?: string) {
  const fp: RolloutFootprint & { regions: string[] } = {
    id,
    service,
    version: 'v2',
    phase,
    ...(pausedBy ? { pausedBy } : {}),
    changes: changes.flatMap(([region, at]) => cells(region).map((c) => ({ target: c.id, region, at, onNewVersion: true }))),
    regions: [...new Set(changes.map(([r]) => r))],
  };
  return fp;
}

function input(now: number, regions: RegionHealth[], rollouts: LineInput['rollouts'], freezes: Freeze[] = []): LineInput {
  return { now, regions, rollouts, freezes, settings: DEFAULT_BLAME };
}

test('region health: k consecutive failures fail the region, and the fault starts at the first of them', () => {
  const obs: Observation[] = [];
  for (let i = 0; i < 6; i++) {
    for (const c of cells('eu-west')) {
      const bad = c.cell === 'cell-1' && i >= 3;
      obs.push({ service: '_region', region: 'eu-west', cell: c.cell, source: 'slo', at: i * 10_000, verdict: bad ? 'fail' : 'pass' });
    }
  }
  const [r] = regionHealth([signal(['eu-west'])], obs, 55_000);
  assert.equal(r.condition, 'failing');
  assert.deepEqual(r.failingTargets, ['eu-west/cell-1']);
  assert.equal(r.since, 30_000);
  const [early] = regionHealth([signal(['eu-west'])], obs.slice(0, 10), 45_000);
  assert.equal(early.condition, 'unknown', 'two failures of three are not a fault yet, nor a pass');
  const [none] = regionHealth([signal(['eu-west'])], [], 45_000);
  assert.equal(none.condition, 'unknown', 'no evidence is not healthy');
});

test('a change that fails at once is blamed and rolled back; the other rollout there pauses, then resumes', () => {
  const t0 = 100 * MIN;
  const bad = rollout('a-1', 'a', [['canary', t0]]);
  const good = rollout('b-1', 'b', [['canary', t0 - 10 * MIN]]);
  const d = decideLine(input(t0 + 40_000, [failing('canary', t0 + 30_000), healthy('eu-west')], [bad, good]));
  assert.deepEqual(
    d.rollBack.map((x) => x.rolloutId),
    ['a-1'],
  );
  assert.equal(d.stopped[0].blamed, 'a-1');
  assert.match(d.stopped[0].explanation, /blamed rollout a-1 .*after it reached canary/);
  assert.deepEqual(
    d.pause.map((x) => [x.rolloutId, x.actor]),
    [['b-1', LINE_STOP_ACTOR]],
  );
  assert.ok(
    d.holds.some((h) => h.scope === 'region' && h.value === 'canary'),
    'no wave starts in a failing region',
  );
  // The culprit is rolled back; the region recovers; the paused rollout resumes.
  const after = decideLine(
    input(t0 + 5 * MIN, [healthy('canary'), healthy('eu-west')], [{ ...good, phase: 'paused', pausedBy: LINE_STOP_ACTOR }]),
  );
  assert.deepEqual(
    after.resume.map((x) => x.rolloutId),
    ['b-1'],
  );
  assert.equal(after.holds.length, 0);
});

test('no rollout to blame: a region outage long after the change, while the change runs healthy elsewhere', () => {
  const t0 = 100 * MIN;
  const r = rollout('c-1', 'c', [
    ['canary', t0 - 60 * MIN],
    ['us-east', t0 - 40 * MIN],
    ['eu-west', t0 - 12 * MIN],
  ]);
  const d = decideLine(input(t0, [failing('eu-west', t0 - 1000), healthy('canary'), healthy('us-east')], [r]));
  assert.equal(d.rollBack.length, 0);
  assert.equal(d.stopped[0].blamed, undefined);
  assert.match(d.stopped[0].explanation, /no rollout explains/);
  assert.deepEqual(
    d.pause.map((x) => x.rolloutId),
    ['c-1'],
  );
  assert.ok(d.stopped[0].suspects[0].confidence < 0.05, `confidence ${d.stopped[0].suspects[0].confidence}`);
});

test('a region fails that no rollout changed: nobody is paused or blamed, and the region is held', () => {
  const far = rollout('d-1', 'd', [['us-east', 0]]);
  const d = decideLine(input(10 * MIN, [failing('eu-west', 9 * MIN), healthy('us-east')], [far]));
  assert.equal(d.pause.length, 0);
  assert.equal(d.rollBack.length, 0);
  assert.match(d.stopped[0].explanation, /no rollout changed eu-west/);
  assert.ok(d.holds.some((h) => h.value === 'eu-west'));
});

test('a fault that began before the change is not its doing', () => {
  const r = rollout('e-1', 'e', [['eu-west', 10 * MIN]]);
  const [s] = rankSuspects(failing('eu-west', 9 * MIN), [failing('eu-west', 9 * MIN)], [r], 11 * MIN, DEFAULT_BLAME);
  assert.equal(s.confidence, 0);
  assert.match(s.explanation, /before it reached/);
});

test('failing targets the rollout never touched lower the blame', () => {
  const t0 = 100 * MIN;
  const half: RolloutFootprint = {
    ...rollout('f-1', 'f', [['eu-west', t0]]),
    changes: [{ target: 'eu-west/cell-1', region: 'eu-west', at: t0, onNewVersion: true }],
  };
  const whole = rollout('f-2', 'f', [['eu-west', t0]]);
  const fault = failing('eu-west', t0 + 30_000);
  const [h] = rankSuspects(fault, [fault], [half], t0 + MIN, DEFAULT_BLAME);
  const [w] = rankSuspects(fault, [fault], [whole], t0 + MIN, DEFAULT_BLAME);
  assert.ok(h.confidence < w.confidence, `${h.confidence} < ${w.confidence}`);
});

test('a latent fault is blamed once it shows in a second region the rollout changed', () => {
  const t0 = 100 * MIN;
  const r = rollout('g-1', 'g', [
    ['canary', t0],
    ['us-east', t0 + 30 * MIN],
  ]);
  const first = decideLine(input(t0 + 21 * MIN, [failing('canary', t0 + 20 * MIN), healthy('us-east')], [r]));
  assert.equal(first.rollBack.length, 0, 'one late fault alone is not clear enough');
  const both = decideLine(
    input(
      t0 + 51 * MIN,
      [failing('canary', t0 + 20 * MIN), failing('us-east', t0 + 50 * MIN)],
      [{ ...r, phase: 'paused', pausedBy: LINE_STOP_ACTOR }],
    ),
  );
  assert.deepEqual(
    both.rollBack.map((x) => x.rolloutId),
    ['g-1'],
  );
});

test('two equally likely suspects share the confidence: neither is blamed', () => {
  const t0 = 100 * MIN;
  const a = rollout('h-1', 'h', [['canary', t0]]);
  const b = rollout('i-1', 'i', [['canary', t0 + 1000]]);
  const d = decideLine(input(t0 + MIN, [failing('canary', t0 + 20_000)], [a, b]));
  assert.equal(d.rollBack.length, 0);
  assert.equal(d.pause.length, 2);
});

test('a freeze pauses the rollouts in its scope and holds new waves; lifting it resumes only those it paused', () => {
  const f: Freeze = { id: 'fz1', scope: 'region', value: 'eu-west', reason: 'holiday', by: 'cli:ops', at: 0 };
  const inScope = rollout('j-1', 'j', [['eu-west', 0]]);
  const outOfScope = rollout('k-1', 'k', [['us-east', 0]]);
  const d = decideLine(input(MIN, [healthy('eu-west'), healthy('us-east')], [inScope, outOfScope], [f]));
  assert.deepEqual(
    d.pause.map((x) => [x.rolloutId, x.actor]),
    [['j-1', 'freeze:fz1']],
  );
  assert.ok(d.holds.some((h) => h.value === 'eu-west' && h.by === 'freeze:fz1'));
  const lifted = decideLine(
    input(
      2 * MIN,
      [healthy('eu-west')],
      [
        { ...inScope, phase: 'paused', pausedBy: 'freeze:fz1' },
        { ...outOfScope, phase: 'paused', pausedBy: 'cli:alice' },
      ],
    ),
  );
  assert.deepEqual(
    lifted.resume.map((x) => x.rolloutId),
    ['j-1'],
    'a rollout a person paused stays paused',
  );
});

test('a fault already blamed on a rollout being rolled back is not blamed on another while it clears', () => {
  const t0 = 100 * MIN;
  const culprit = { ...rollout('l-1', 'l', [['canary', t0]]), phase: 'rolling_back' };
  const other = { ...rollout('m-1', 'm', [['canary', t0 - 2000]]), phase: 'paused', pausedBy: LINE_STOP_ACTOR };
  const fault = failing('canary', t0 + 20_000);
  const explained = [{ region: 'canary', since: fault.since!, rolloutId: 'l-1' }];
  const d = decideLine({ ...input(t0 + 2 * MIN, [fault], [culprit, other]), explained });
  assert.equal(d.rollBack.length, 0, 'nobody else is rolled back for the same fault');
  assert.equal(d.resume.length, 0, 'the other stays paused until the region is healthy');
  assert.match(d.stopped[0].explanation, /explained by rollout l-1/);
  // A new fault (another start) in the region is judged afresh.
  const next = decideLine({ ...input(t0 + 3 * MIN, [failing('canary', t0 + 3 * MIN - 20_000)], [other]), explained });
  assert.doesNotMatch(next.stopped[0].explanation, /explained by/);
});
