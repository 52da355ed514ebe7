// The planner on small fleets whose right answer can be worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../config/load.js';
import { EtapeError } from '../core/errors.js';
import { buildFleet } from '../fleet/fleet.js';
import { checkPlan } from './check.js';
import { planRollout } from '../config/plan.js';
import type { Plan } from './types.js';

const regionsOf = (p: Plan) => p.waves.map((w) => w.regions.join(' '));
const targetsOf = (p: Plan) => p.waves.map((w) => w.targets.map((t) => `${t.region}/${t.cell}`).join(' '));

function plan(yaml: string, service = 'web'): Plan {
  return planRollout(parseConfig(yaml, 'test.yaml'), service);
}

const SERVICE = `services:
  - name: web
    gates:
      - { kind: probe, name: up, probe: p }
      - { kind: approval, name: sign-off }
    probes:
      - { name: p, url: "http://127.0.0.1:1/" }
`;

test('canary first, then the smallest region, then waves within growth × verified, pairs apart', () => {
  const p = plan(`fleet:
  regions:
    - { id: canary, geography: am, weight: 1, canary: true }
    - { id: a, geography: am, weight: 1, pair: b }
    - { id: b, geography: eu, weight: 1 }
    - { id: c, geography: eu, weight: 3 }
    - { id: d, geography: ap, weight: 4 }
services: [{ name: web }]
`);
  // Verified after each wave: 1, 2, 6, 10; each wave may weigh twice what was verified before it.
  // Wave 3: geographies not yet touched come first (ap, then eu); d fills the budget of 4.
  assert.deepEqual(regionsOf(p), ['canary', 'a', 'd', 'b c']);
  assert.deepEqual(
    p.waves.map((w) => w.kind),
    ['canary', 'first', 'later', 'later'],
  );
  assert.deepEqual(
    p.waves.map((w) => w.weight),
    [1, 1, 4, 4],
  );
  assert.equal(p.totalWeight, 10);
  assert.equal(p.minDurationMs, (1 + 2 + 4 + 4) * 3_600_000);
});

test('paired regions never share a wave, whichever side declared the pair (asymmetric pairs)', () => {
  // a names b, b names c: edges a-b and b-c. a, b and c weigh 1; the budget would let them share a wave.
  const p = plan(`fleet:
  regions:
    - { id: k, geography: x, weight: 4, canary: true }
    - { id: a, geography: x, weight: 1, pair: b }
    - { id: b, geography: y, weight: 1, pair: c }
    - { id: c, geography: z, weight: 1 }
    - { id: e, geography: w, weight: 1 }
services: [{ name: web }]
`);
  // Wave 3 may weigh 10: e and b fit, c is paired with b (declared on b's side) and waits.
  assert.deepEqual(regionsOf(p), ['k', 'a', 'e b', 'c']);
  const fleet = buildFleet(
    parseConfig(
      `fleet:\n  regions:\n    - { id: k, geography: x, canary: true }\n    - { id: a, geography: x, pair: b }\n    - { id: b, geography: x, pair: c }\n    - { id: c, geography: x }\n`,
      't',
    ).fleet,
  );
  assert.deepEqual([...fleet.partners.get('b')!].sort(), ['a', 'c']);
  assert.deepEqual([...fleet.partners.get('a')!], ['b']);
});

test('policy.firstRegion names wave 2', () => {
  const p = plan(`fleet:
  regions:
    - { id: k, geography: x, weight: 2, canary: true }
    - { id: a, geography: x, weight: 1 }
    - { id: b, geography: y, weight: 3 }
policy: { firstRegion: b }
services: [{ name: web }]
`);
  assert.deepEqual(regionsOf(p), ['k', 'b', 'a']);
});

test('a region heavier than growth × verified goes out cell by cell, and its partner waits for all of it', () => {
  const p = plan(`fleet:
  regions:
    - { id: k, geography: x, weight: 1, canary: true }
    - id: big
      geography: x
      weight: 8
      pair: partner
      cells: [{ id: c1 }, { id: c2 }, { id: c3 }, { id: c4 }]
    - { id: partner, geography: y, weight: 1 }
policy: { firstRegion: big }
services: [{ name: web }]
`);
  // big's cells weigh 2 each: wave 2 may weigh 2 (1 cell), then 6 (3 cells); partner only after big is done.
  assert.deepEqual(targetsOf(p), ['k/cell-1', 'big/c1', 'big/c2 big/c3 big/c4', 'partner/cell-1']);
  assert.deepEqual(
    p.waves.map((w) => w.kind),
    ['canary', 'first', 'first', 'later'],
  );
});

test('a canary cell: the rest of its region follows, and the region partner waits until the region is done', () => {
  const p = plan(`fleet:
  regions:
    - { id: r, geography: x, weight: 4, pair: s, cells: [{ id: c1 }, { id: c2 }] }
    - { id: s, geography: y, weight: 1 }
    - { id: t, geography: z, weight: 2 }
policy: { canary: [r/c1] }
services: [{ name: web }]
`);
  // Wave 2: s is blocked (r is under way); the smallest free region is t (2) — r's rest weighs 2 too, ties by id: r.
  assert.deepEqual(targetsOf(p), ['r/c1', 'r/c2', 's/cell-1 t/cell-1']);
});

test('firstRegion paired with a region only partly in the canary set cannot be met', () => {
  assert.throws(
    () =>
      parseConfig(
        `fleet:
  regions:
    - { id: r, geography: x, weight: 4, pair: s, cells: [{ id: c1 }, { id: c2 }] }
    - { id: s, geography: y, weight: 1 }
policy: { canary: [r/c1], firstRegion: s }
services: [{ name: web }]
`,
        'f.yaml',
      ),
    (e: unknown) =>
      e instanceof EtapeError &&
      e.problems.some(
        (p) =>
          p.location?.line === 5 &&
          p.location.column === 40 &&
          p.message ===
            'policy.firstRegion: policy cannot be met for service "web": firstRegion "s" is paired with "r", which is only partly in the canary set, so "s" cannot start before "r" has finished (I2): name another region or put all of "r" in the canary set',
      ),
  );
});

test('later waves spread over geographies within maxPerGeographyPerWave and maxRegionsPerWave', () => {
  const p = plan(`fleet:
  regions:
    - { id: k, geography: eu, weight: 10, canary: true }
    - { id: e1, geography: eu, weight: 1 }
    - { id: e2, geography: eu, weight: 1 }
    - { id: e3, geography: eu, weight: 1 }
    - { id: a1, geography: am, weight: 1 }
    - { id: a2, geography: am, weight: 1 }
    - { id: p1, geography: ap, weight: 1 }
policy: { maxPerGeographyPerWave: 1, maxRegionsPerWave: 2 }
services: [{ name: web }]
`);
  assert.deepEqual(regionsOf(p), ['k', 'a1', 'p1 a2', 'e1', 'e2', 'e3']);
  for (const w of p.waves.slice(1)) assert.ok(w.regions.length <= 2);
});

test('bakes per wave kind, gates without approvals, approvals from the policy or an approval gate', () => {
  const base = `fleet:
  regions:
    - { id: k, geography: x, weight: 1, canary: true }
    - { id: a, geography: x, weight: 1 }
    - { id: b, geography: x, weight: 2 }
policy:
  bake: { canary: 90s, first: 30m, later: 2h }
  approvals: [first, 3]
`;
  const p = plan(base + 'services: [{ name: web, gates: [{ kind: approval, name: ok }] }]\n');
  assert.deepEqual(
    p.waves.map((w) => w.bakeMs),
    [90_000, 1_800_000, 7_200_000],
  );
  assert.deepEqual(
    p.waves.map((w) => w.approval),
    [true, true, true],
  );
  assert.deepEqual(p.waves[0].gates, []);
  const q = plan(base + SERVICE);
  assert.deepEqual(q.waves[0].gates, ['up']);
  const r = plan(base + 'services: [{ name: web }]\n');
  assert.deepEqual(
    r.waves.map((w) => w.approval),
    [false, true, true],
  );
  assert.equal(r.minDurationMs, 90_000 + 1_800_000 + 7_200_000);
});

test('an explicit plan is taken as written, with its own bakes and approvals', () => {
  const p = plan(`fleet:
  regions:
    - { id: k, geography: x, weight: 1, canary: true }
    - { id: a, geography: x, weight: 1, pair: b, cells: [{ id: c1 }, { id: c2 }] }
    - { id: b, geography: x, weight: 2 }
services:
  - name: web
    plan:
      - { regions: [k] }
      - { targets: [a/c1] }
      - { targets: [a/c2], bake: 10m, approval: true }
      - { regions: [b] }
`);
  assert.deepEqual(targetsOf(p), ['k/cell-1', 'a/c1', 'a/c2', 'b/cell-1']);
  assert.equal(p.waves[2].bakeMs, 600_000);
  assert.equal(p.waves[2].approval, true);
  assert.equal(p.waves[3].approval, false);
});

test('an unknown service is a clear error', () => {
  assert.throws(
    () =>
      plan(
        `fleet:\n  regions:\n    - { id: k, geography: x, canary: true }\n    - { id: a, geography: x }\nservices: [{ name: web }]\n`,
        'wbe',
      ),
    (e: unknown) =>
      e instanceof EtapeError &&
      e.code === 'not_found' &&
      e.message === 'no service "wbe" in the config; did you mean "web"?; services: web',
  );
});

test('examples/etape.yaml: a realistic fleet that validates and plans within I1 and I2', () => {
  const file = new URL('../../examples/etape.yaml', import.meta.url);
  const config = parseConfig(readFileSync(file, 'utf8'), 'examples/etape.yaml');
  const regions = config.fleet.regions;
  assert.ok(regions.length >= 30);
  assert.ok(new Set(regions.map((r) => r.geography)).size >= 3);
  assert.ok(regions.every((r) => r.cells.length >= 2 && r.cells.length <= 4));
  const declared = new Map(regions.map((r) => [r.id, r.pair === undefined ? [] : Array.isArray(r.pair) ? r.pair : [r.pair]]));
  const fleet = buildFleet(config.fleet);
  const unpaired = regions.filter((r) => fleet.partners.get(r.id)!.size === 0);
  assert.ok(unpaired.length >= 2, 'some regions have no pair');
  // Asymmetric: x names y while y names some third region.
  const asymmetric = [...declared].filter(([x, ps]) => ps.some((y) => (declared.get(y) ?? []).length > 0 && !declared.get(y)!.includes(x)));
  assert.ok(asymmetric.length >= 2, 'some pairs are asymmetric');
  const p = planRollout(config, 'blob');
  assert.deepEqual(checkPlan(p, fleet, config.policy, 'all'), []);
  assert.equal(p.waves[0].regions.join(), 'eastus2euap');
  assert.equal(
    p.waves.reduce((n, w) => n + w.targets.length, 0),
    regions.reduce((n, r) => n + r.cells.length, 0),
  );
});
