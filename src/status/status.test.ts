import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Observation, Verdict } from '../core/types.js';
import { componentStatuses, DEFAULT_STATUS_RULES, headline, type ComponentDef } from './status.js';

const NOW = Date.UTC(2026, 10, 25, 1, 0);
const def = (service: string, region: string, cells = ['c1', 'c2', 'c3', 'c4']): ComponentDef => ({
  id: `${service}/${region}`,
  service,
  region,
  regionName: region,
  geography: 'europe',
  cells,
});
const obs = (region: string, cell: string, verdict: Verdict, ageMs = 10_000, latencyMs = 50, source = 'http'): Observation => ({
  service: 'blob',
  region,
  cell,
  source,
  at: NOW - ageMs,
  verdict,
  latencyMs,
});

test('fresh passing evidence for every cell is operational; nothing else is', () => {
  const d = [def('blob', 'weu')];
  const all = ['c1', 'c2', 'c3', 'c4'].map((c) => obs('weu', c, 'pass'));
  assert.equal(componentStatuses(d, all, NOW)[0].status, 'operational');
  // One cell without evidence: unknown, not operational.
  assert.equal(componentStatuses(d, all.slice(0, 3), NOW)[0].status, 'unknown');
  // No evidence at all.
  const none = componentStatuses(d, [], NOW)[0];
  assert.equal(none.status, 'unknown');
  assert.equal(none.evidence, 'none');
  assert.equal(none.reason, 'no evidence');
  // Stale evidence (older than freshFor).
  const stale = componentStatuses(
    d,
    all.map((o) => ({ ...o, at: NOW - 10 * 60_000 })),
    NOW,
  )[0];
  assert.equal(stale.status, 'unknown');
  assert.equal(stale.evidence, 'stale');
  // error verdicts are not evidence of health (I3); inconclusive ones are measured but not good: degraded.
  assert.equal(componentStatuses(d, [...all.slice(0, 3), obs('weu', 'c4', 'error')], NOW)[0].status, 'unknown');
  assert.equal(componentStatuses(d, [...all.slice(0, 3), obs('weu', 'c4', 'inconclusive')], NOW)[0].status, 'degraded_performance');
});

test('share of failing cells picks partial or major outage; slow passing probes are degraded', () => {
  const d = [def('blob', 'weu')];
  const pass = (c: string) => obs('weu', c, 'pass');
  const st = (o: Observation[]) => componentStatuses(d, o, NOW)[0];
  assert.equal(st([obs('weu', 'c1', 'fail'), pass('c2'), pass('c3'), pass('c4')]).status, 'partial_outage');
  assert.equal(st([obs('weu', 'c1', 'fail'), obs('weu', 'c2', 'fail'), pass('c3'), pass('c4')]).status, 'major_outage');
  assert.match(st([obs('weu', 'c1', 'fail'), pass('c2'), pass('c3'), pass('c4')]).reason, /1 of 4 cells failing/);
  assert.equal(st([obs('weu', 'c1', 'pass', 1000, 2500), pass('c2'), pass('c3'), pass('c4')]).status, 'degraded_performance');
  // The newest observation per source counts: a failure followed by a pass is a pass.
  assert.equal(
    st([obs('weu', 'c1', 'fail', 20_000), obs('weu', 'c1', 'pass', 5_000), pass('c2'), pass('c3'), pass('c4')]).status,
    'operational',
  );
  // Below the partial share, a failing cell still is not operational.
  const many = def(
    'blob',
    'weu',
    Array.from({ length: 200 }, (_, i) => `c${i}`),
  );
  const o = many.cells.map((c, i) => obs('weu', c, i === 0 ? 'fail' : 'pass'));
  assert.equal(componentStatuses([many], o, NOW)[0].status, 'degraded_performance');
});

test('maintenance shows under_maintenance; the headline says so when nothing else is wrong', () => {
  const d = [def('blob', 'weu')];
  const all = ['c1', 'c2', 'c3', 'c4'].map((c) => obs('weu', c, 'pass'));
  const c = componentStatuses(d, all, NOW, DEFAULT_STATUS_RULES, new Set(['blob/weu']));
  assert.equal(c[0].status, 'under_maintenance');
  // Statuspage's indicator has no maintenance value: maintenance shows through scheduled_maintenances.
  assert.equal(headline(c).indicator, 'none');
  assert.equal(headline(c).description, 'Service under maintenance');
});

test('headline: all operational only with evidence and no open incident', () => {
  const d = [def('blob', 'weu'), def('blob', 'neu')];
  const o = ['weu', 'neu'].flatMap((r) => ['c1', 'c2', 'c3', 'c4'].map((c) => obs(r, c, 'pass')));
  const c = componentStatuses(d, o, NOW);
  assert.equal(headline(c).description, 'All Systems Operational');
  assert.equal(headline(c).indicator, 'none');
  const withIncident = headline(c, [{ kind: 'incident', impact: 'minor' }]);
  assert.notEqual(withIncident.status, 'operational');
  assert.equal(withIncident.indicator, 'minor');
  assert.equal(headline(c, [{ kind: 'incident', impact: 'none' }]).indicator, 'none');
  const empty = headline(componentStatuses(d, [], NOW));
  assert.equal(empty.noEvidence, true);
  assert.match(empty.description, /no evidence/);
  assert.notEqual(empty.indicator, 'none');
  assert.equal(headline([]).noEvidence, true);
});

// I6 as a property: whatever the evidence, no component whose latest evidence is failing, stale or missing
// shows operational, and the headline is never operational while such a component exists.
test('property: failing, stale or missing evidence is never operational (I6)', () => {
  const verdict = fc.constantFrom<Verdict>('pass', 'fail', 'inconclusive', 'error');
  const regions = ['r1', 'r2', 'r3'];
  const cells = ['c1', 'c2', 'c3'];
  const observation = fc.record({
    region: fc.constantFrom(...regions),
    cell: fc.option(fc.constantFrom(...cells), { nil: null, freq: 5 }),
    source: fc.constantFrom('http', 'tcp'),
    ageMs: fc.integer({ min: -60_000, max: 20 * 60_000 }),
    verdict,
    latencyMs: fc.integer({ min: 0, max: 3000 }),
  });
  fc.assert(
    fc.property(fc.array(observation, { maxLength: 60 }), fc.subarray(['r1/c3', 'r2/c1']), (raw, missingCells) => {
      const defs = regions.map((r) =>
        def('blob', r, cells.filter((c) => !missingCells.includes(`${r}/${c}`)).concat(missingCells.includes(`${r}/c3`) ? ['c3'] : [])),
      );
      const o: Observation[] = raw.map((x) => ({
        service: 'blob',
        region: x.region,
        cell: x.cell,
        source: x.source,
        at: NOW - x.ageMs,
        verdict: x.verdict,
        latencyMs: x.latencyMs,
      }));
      const states = componentStatuses(defs, o, NOW);
      let anyBad = false;
      for (const s of states) {
        const d = defs.find((x) => x.id === s.id)!;
        // Latest observation per (unit, source) at or before NOW.
        const latest = new Map<string, Observation>();
        for (const x of o) {
          if (x.region !== d.region || x.at > NOW) continue;
          const k = `${x.cell ?? ''}|${x.source}`;
          const p = latest.get(k);
          if (!p || x.at >= p.at) latest.set(k, x);
        }
        const units = new Set<string>([...d.cells, ...[...latest.keys()].map((k) => k.split('|')[0]).filter((u) => u !== '')]);
        if ([...latest.keys()].some((k) => k.startsWith('|'))) units.add('');
        let bad = units.size === 0;
        for (const u of units) {
          const mine = [...latest.entries()].filter(([k]) => k.split('|')[0] === u).map(([, v]) => v);
          if (mine.length === 0) bad = true; // missing
          for (const m of mine) if (m.verdict !== 'pass' || m.at < NOW - DEFAULT_STATUS_RULES.freshForMs) bad = true; // failing, errored or stale
        }
        if (bad) {
          anyBad = true;
          assert.notEqual(s.status, 'operational', `${s.id} shown operational: ${s.reason}`);
        }
      }
      const h = headline(states);
      if (anyBad) {
        assert.notEqual(h.status, 'operational');
        assert.notEqual(h.indicator, 'none');
        assert.notEqual(h.description, 'All Systems Operational');
      }
    }),
    { numRuns: 500 },
  );
});
