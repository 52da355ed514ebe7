// Config mistakes a person makes, and the message etape gives for each: file:line:column and what to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load.js';
import { EtapeError, formatProblem } from '../core/errors.js';

const FILE = 'fleet.yaml';

// Line numbers below refer to this text (line 1 is `fleet:`).
const BASE = `fleet:
  regions:
    - id: canary
      geography: americas
      canary: true
      cells: [{ id: c1 }, { id: c2 }]
    - id: east
      geography: americas
      pair: west
      weight: 2
    - id: west
      geography: americas
      weight: 2
    - id: paris
      geography: europe
      weight: 3
      cells: [{ id: c1 }, { id: c2 }]
services:
  - name: web
    probes:
      - { name: health, url: "http://127.0.0.1:8080/" }
    gates:
      - { kind: probe, name: health-ok, probe: health }
`;

/** BASE with line `n` (1-based) replaced by `text` (which may hold several lines). */
function edit(n: number, text: string, base = BASE): string {
  const lines = base.split('\n');
  lines.splice(n - 1, 1, text);
  return lines.join('\n');
}

function problems(text: string): { code: string; lines: string[] } {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    assert.ok(e instanceof EtapeError, `expected an EtapeError, got ${String(e)}`);
    return { code: e.code, lines: e.problems.map(formatProblem) };
  }
  return { code: 'ok', lines: [] };
}

function expectProblem(text: string, expected: string, code = 'config.invalid') {
  const got = problems(text);
  assert.equal(got.code, code, `code; problems: ${got.lines.join(' | ')}`);
  assert.ok(got.lines.includes(expected), `expected:\n  ${expected}\ngot:\n  ${got.lines.join('\n  ')}`);
}

test('the base config is valid', () => {
  const c = parseConfig(BASE, FILE);
  assert.equal(c.fleet.regions.length, 4);
  assert.equal(c.policy.growth, 2);
});

test('1. unknown key, with "did you mean"', () => {
  expectProblem(edit(10, '      wieght: 2'), 'fleet.yaml:10:7: fleet.regions[1].wieght: unknown key "wieght"; did you mean "weight"?');
});

test('2. unknown top-level key, with "did you mean"', () => {
  expectProblem(BASE + 'polcy:\n  growth: 2\n', 'fleet.yaml:24:1: polcy: unknown key "polcy"; did you mean "policy"?');
});

test('3. unknown key with no close match lists the allowed keys', () => {
  expectProblem(
    edit(16, '      weight: 3\n      color: blue'),
    'fleet.yaml:17:7: fleet.regions[3].color: unknown key "color"; allowed here: id, name, geography, pair, weight, canary, cells, vars',
  );
});

test('4. wrong type', () => {
  expectProblem(edit(10, '      weight: heavy'), 'fleet.yaml:10:15: fleet.regions[1].weight: expected a number, got the text "heavy"');
});

test('5. bad duration', () => {
  expectProblem(
    BASE + 'policy:\n  bake:\n    canary: 10 minutes\n',
    'fleet.yaml:26:13: policy.bake.canary: not a duration: write a number and a unit, like 90s, 30m, 2h or 1h30m, got the text "10 minutes"',
  );
});

test('6. unknown region in a pair, with "did you mean"', () => {
  expectProblem(
    edit(9, '      pair: wset'),
    'fleet.yaml:9:13: fleet.regions[1].pair: pair names unknown region "wset"; did you mean "west"?; regions are declared under fleet.regions',
  );
});

test('7. region paired with itself', () => {
  expectProblem(
    edit(9, '      pair: [west, east]'),
    'fleet.yaml:9:20: fleet.regions[1].pair[1]: region "east" is paired with itself: a pair joins two different regions; name its partner or remove the pair',
  );
});

test('8. unknown region in a service', () => {
  expectProblem(
    edit(19, '  - name: web\n    regions: [east, pairs]'),
    'fleet.yaml:20:21: services[0].regions[1]: service "web" runs in unknown region "pairs"; did you mean "paris"?; regions are declared under fleet.regions',
  );
});

test('9. unknown region and unknown cell in the canary set', () => {
  const text = BASE + 'policy:\n  canary: [canary, esat, paris/c3]\n';
  expectProblem(
    text,
    'fleet.yaml:25:20: policy.canary[1]: canary set names unknown region "esat"; did you mean "east"?; regions are declared under fleet.regions',
  );
  expectProblem(
    text,
    'fleet.yaml:25:26: policy.canary[2]: canary set names unknown cell "c3" of region "paris"; did you mean "c1"?; its cells are c1, c2',
  );
});

test('10. duplicate region id', () => {
  expectProblem(
    edit(14, '    - id: west'),
    'fleet.yaml:14:11: fleet.regions[3].id: duplicate region id "west" (also fleet.regions[2]): region ids must be unique',
  );
});

test('11. duplicate cell id within a region', () => {
  expectProblem(
    edit(17, '      cells: [{ id: c1 }, { id: c1 }]'),
    'fleet.yaml:17:33: fleet.regions[3].cells[1].id: duplicate cell id "c1" in region "paris" (also cells[0]): cell ids must be unique within a region',
  );
});

test('12. duplicate service, probe and gate names', () => {
  const text =
    BASE.replace(
      '      - { name: health, url: "http://127.0.0.1:8080/" }\n',
      '      - { name: health, url: "http://127.0.0.1:8080/" }\n      - { name: health, url: "http://127.0.0.1:8081/" }\n',
    ) + '      - { kind: probe, name: health-ok, probe: health }\n  - name: web\n';
  expectProblem(
    text,
    'fleet.yaml:22:17: services[0].probes[1].name: duplicate probe name "health" in service "web" (also probes[0]): probe names must be unique',
  );
  expectProblem(
    text,
    'fleet.yaml:25:30: services[0].gates[1].name: duplicate gate name "health-ok" in service "web" (also gates[0]): gate names must be unique',
  );
  expectProblem(text, 'fleet.yaml:26:11: services[1].name: duplicate service name "web" (also services[0]): service names must be unique');
});

test('13. gate watching an unknown probe', () => {
  expectProblem(
    edit(23, '      - { kind: probe, name: health-ok, probe: helth }'),
    'fleet.yaml:23:48: services[0].gates[0].probe: gate "health-ok" watches unknown probe "helth"; did you mean "health"?; probes of service "web": health',
  );
});

test('14. empty canary set', () => {
  expectProblem(
    edit(5, '      canary: false'),
    'fleet.yaml:3:5: fleet.regions: the canary set is empty: mark a region with `canary: true` or list regions or region/cell entries under policy.canary',
  );
  expectProblem(
    BASE + 'policy:\n  canary: []\n',
    'fleet.yaml:25:11: policy.canary: the canary set is empty: list at least one region or region/cell under policy.canary',
  );
});

test('15. canary set covering the whole fleet', () => {
  expectProblem(
    BASE + 'policy:\n  canary: [canary, east, west, paris]\n',
    'fleet.yaml:25:11: policy.canary: the canary set covers the whole fleet (6 cells): nothing would be left to protect; choose a smaller canary set',
  );
});

test('16. growth below 1', () => {
  expectProblem(
    BASE + 'policy:\n  growth: 0.5\n',
    'fleet.yaml:25:11: policy.growth: growth must be at least 1, got 0.5: each wave may weigh at most growth × the weight already verified, so below 1 the rollout shrinks and never finishes',
  );
});

test('17. firstRegion unknown', () => {
  expectProblem(
    BASE + 'policy:\n  firstRegion: wst\n',
    'fleet.yaml:25:16: policy.firstRegion: firstRegion names unknown region "wst"; did you mean "west"?; regions are declared under fleet.regions, or write "smallest"',
  );
});

test('18. freeze window ending before it starts', () => {
  expectProblem(
    BASE + 'policy:\n  freeze:\n    - { start: "2026-12-24T00:00:00Z", end: "2026-12-20T00:00:00Z" }\n',
    'fleet.yaml:26:45: policy.freeze[0].end: freeze window ends (2026-12-20T00:00:00Z) before it starts (2026-12-24T00:00:00Z): end must be after start',
  );
});

test('19. a policy that cannot be met: limits per wave against the canary set', () => {
  const text = BASE + 'policy:\n  canary: [canary, paris/c1]\n  maxRegionsPerWave: 1\n';
  expectProblem(
    text,
    'fleet.yaml:26:22: policy.maxRegionsPerWave: policy cannot be met for service "web": the canary set spans 2 regions (canary, paris) but maxRegionsPerWave is 1, and wave 1 must be the whole canary set: raise the limit or shrink the canary set',
  );
  const geo = edit(15, '      geography: americas') + 'policy:\n  canary: [canary, paris/c1]\n  maxPerGeographyPerWave: 1\n';
  expectProblem(
    geo,
    'fleet.yaml:26:27: policy.maxPerGeographyPerWave: policy cannot be met for service "web": the canary set has 2 regions in geography "americas" (canary, paris) but maxPerGeographyPerWave is 1, and wave 1 must be the whole canary set: raise the limit or shrink the canary set',
  );
});

test('20. a policy that cannot be met: paired regions in the canary set', () => {
  expectProblem(
    BASE + 'policy:\n  canary: [canary, east/cell-1, west]\n',
    'fleet.yaml:25:11: policy.canary: policy cannot be met for service "web": regions "east" and "west" are paired but both are in the canary set: paired regions never share a wave (I2); keep one of them',
  );
});

test('21. a policy that cannot be met: a cell too heavy for growth', () => {
  expectProblem(
    edit(16, '      weight: 30\n      cells: [{ id: c1 }]', BASE.replace('      cells: [{ id: c1 }, { id: c2 }]\nservices', 'services')) +
      'policy:\n  growth: 1.5\n',
    'fleet.yaml:25:11: policy.growth: policy cannot be met for service "web": cell "east/cell-1" weighs 2, more than growth (1.5) × the weight verified before it (1) = 1.5, and no smaller target is left to grow the verified weight (I1): raise growth, add weight to the canary set, or split the region into more cells',
  );
});

test('22. missing required key', () => {
  expectProblem(edit(12, ''), 'fleet.yaml:11:7: fleet.regions[2]: missing required key "geography" (text)');
});

test('23. unknown driver kind', () => {
  expectProblem(
    edit(19, '  - name: web\n    driver: { kind: shell, deploy: "true" }'),
    'fleet.yaml:20:21: services[0].driver.kind: kind must be one of "exec", "http", "fleet", got the text "shell"',
  );
});

test('24. not YAML at all', () => {
  expectProblem(
    edit(8, '      geography: [americas'),
    'fleet.yaml:9:7: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (16 more errors after it, probably caused by this one)',
    'config.parse',
  );
});

test('25. an explicit plan that breaks I1 and I2, by wave and region', () => {
  const text = edit(19, '  - name: web\n    plan:\n      - regions: [canary]\n      - regions: [east, west]\n      - regions: [paris]');
  const got = problems(text);
  assert.equal(got.code, 'config.invalid');
  assert.ok(
    got.lines.includes(
      'fleet.yaml:22:9: services[0].plan[1]: wave 2 breaks I1: wave 2 weighs 4, more than growth (2) × the weight verified before it (1) = 2',
    ),
    got.lines.join('\n'),
  );
  assert.ok(
    got.lines.includes(
      'fleet.yaml:22:9: services[0].plan[1]: wave 2 breaks I2: paired regions "east" and "west" are both in wave 2: paired regions never share a wave',
    ),
    got.lines.join('\n'),
  );
});

test('26. an empty file', () => {
  expectProblem('', 'fleet.yaml:1:1: the file is empty; it needs at least a fleet with regions');
});

test('every problem is reported at once, in file order', () => {
  const text = edit(10, '      weight: heavy', edit(4, '      geograpy: americas')) + 'policy:\n  growth: "2"\n';
  const got = problems(text);
  assert.deepEqual(got.lines, [
    'fleet.yaml:3:7: fleet.regions[0]: missing required key "geography" (text)',
    'fleet.yaml:4:7: fleet.regions[0].geograpy: unknown key "geograpy"; did you mean "geography"?',
    'fleet.yaml:10:15: fleet.regions[1].weight: expected a number, got the text "heavy"',
    'fleet.yaml:25:11: policy.growth: expected a number, got the text "2"',
  ]);
});

test('reference problems are reported together with schema problems', () => {
  const text = edit(9, '      pair: wset', edit(10, '      wieght: 2')) + 'policy:\n  growth: "2"\n';
  const got = problems(text);
  assert.deepEqual(got.lines, [
    'fleet.yaml:9:13: fleet.regions[1].pair: pair names unknown region "wset"; did you mean "west"?; regions are declared under fleet.regions',
    'fleet.yaml:10:7: fleet.regions[1].wieght: unknown key "wieght"; did you mean "weight"?',
    'fleet.yaml:25:11: policy.growth: expected a number, got the text "2"',
  ]);
});

test('"did you mean" suggests typos, not unrelated short names', async () => {
  const { closest } = await import('../core/suggest.js');
  assert.equal(closest('wieght', ['weight', 'width']), 'weight');
  assert.equal(closest('esat', ['east', 'west']), 'east');
  assert.equal(closest('c', ['a', 'b']), undefined);
  assert.equal(closest('blue', ['geography', 'weight']), undefined);
});
