import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncidentRecord } from '../store/store.js';
import type { ComponentState, ComponentStatus } from '../status/status.js';
import { decideIncidents, DEFAULT_INCIDENT_RULES, type ComponentTrack, type IncidentRuleState } from './rules.js';
import {
  addUpdate,
  effectiveMaintenanceStatus,
  isBanner,
  isOverdue,
  openIncident,
  resolveIncident,
  scheduleMaintenance,
} from './lifecycle.js';

const T0 = Date.UTC(2026, 10, 25, 0, 0);
const MIN = 60_000;

function comp(region: string, status: ComponentStatus, service = 'blob'): ComponentState {
  return {
    id: `${service}/${region}`,
    service,
    region,
    regionName: region,
    geography: 'europe',
    status,
    reason: status === 'operational' ? '2 of 2 cells passing' : '2 of 2 cells failing: HTTP 503',
    evidence: 'fresh',
    lastEvidenceAt: T0,
    units: { total: 2, up: 0, slow: 0, down: 0, unknown: 0 },
  };
}

/** Runs the rules like the publisher does: applies actions to the state each tick. */
function run(
  ticks: { at: number; comps: ComponentState[]; gates?: Parameters<typeof decideIncidents>[2] }[],
  start: IncidentRuleState = { incidents: [], components: {} },
) {
  let state = start;
  const log: { at: number; kind: string; incident: IncidentRecord }[] = [];
  for (const t of ticks) {
    const d = decideIncidents(state, t.comps, t.gates ?? [], t.at, DEFAULT_INCIDENT_RULES);
    const by = new Map(state.incidents.map((i) => [i.id, i]));
    for (const a of d.actions) {
      by.set(a.incident.id, a.incident);
      log.push({ at: t.at, kind: a.kind, incident: a.incident });
    }
    state = { incidents: [...by.values()], components: d.components };
  }
  return { state, log };
}

test('a component away from operational for openAfter opens one incident; healthy for resolveAfter resolves it', () => {
  const ticks = [];
  for (let m = 0; m <= 40; m++) {
    const bad = m >= 1 && m < 12;
    ticks.push({ at: T0 + m * MIN, comps: [comp('weu', bad ? 'major_outage' : 'operational'), comp('neu', 'operational')] });
  }
  const { log, state } = run(ticks);
  const opened = log.filter((l) => l.kind === 'open');
  assert.equal(opened.length, 1);
  assert.equal(opened[0].at, T0 + 6 * MIN, 'opens after 5 minutes away from operational');
  assert.equal(opened[0].incident.impact, 'major');
  assert.deepEqual(opened[0].incident.components, ['blob/weu']);
  assert.equal(opened[0].incident.source, 'auto:component');
  const monitoring = log.find((l) => l.incident.status === 'monitoring');
  assert.equal(monitoring?.at, T0 + 12 * MIN);
  const resolved = log.find((l) => l.kind === 'resolve');
  assert.equal(resolved?.at, T0 + 27 * MIN, 'resolves after 15 minutes healthy');
  const final = state.incidents[0];
  assert.equal(final.status, 'resolved');
  assert.match(final.updates.at(-1)!.body, /resolved/);
  assert.ok(final.resolvedAt !== null);
});

test('a short blip opens nothing; unknown opens nothing by default and blocks auto-resolve', () => {
  const blip = run([0, 1, 2, 3].map((m) => ({ at: T0 + m * MIN, comps: [comp('weu', m === 1 ? 'partial_outage' : 'operational')] })));
  assert.equal(blip.log.length, 0);
  const blind = run(Array.from({ length: 20 }, (_, m) => ({ at: T0 + m * MIN, comps: [comp('weu', 'unknown')] })));
  assert.equal(blind.log.length, 0);
  // Open, then the evidence disappears: it is not resolved on no evidence.
  const ticks = [];
  for (let m = 0; m <= 60; m++) ticks.push({ at: T0 + m * MIN, comps: [comp('weu', m < 10 ? 'major_outage' : 'unknown')] });
  const r = run(ticks);
  assert.equal(r.log.filter((l) => l.kind === 'open').length, 1);
  assert.equal(r.log.filter((l) => l.kind === 'resolve').length, 0);
});

test('more regions join the same incident and raise its impact', () => {
  const ticks = [];
  for (let m = 0; m <= 20; m++)
    ticks.push({ at: T0 + m * MIN, comps: [comp('weu', 'major_outage'), comp('neu', m >= 8 ? 'major_outage' : 'operational')] });
  const { state, log } = run(ticks);
  assert.equal(log.filter((l) => l.kind === 'open').length, 1);
  const i = state.incidents[0];
  assert.deepEqual(i.components, ['blob/neu', 'blob/weu']);
  assert.equal(i.impact, 'critical');
  assert.ok(isBanner(i, T0 + 20 * MIN, 30 * MIN), 'two regions: on the banner');
});

test('a failed gate opens one incident per rollout, however often it is reported', () => {
  const gate = {
    key: 'rollout:r1',
    rolloutId: 'r1',
    service: 'blob',
    version: '2.0',
    regions: ['weu'],
    gate: 'http-ok',
    detail: 'timeout after 2s',
    at: T0,
  };
  const { log, state } = run([
    { at: T0, comps: [comp('weu', 'operational')], gates: [gate] },
    { at: T0 + MIN, comps: [comp('weu', 'operational')], gates: [gate] },
  ]);
  assert.equal(log.filter((l) => l.kind === 'open').length, 1);
  const i = state.incidents[0];
  assert.equal(i.source, 'auto:gate');
  assert.match(i.title, /halted/);
  assert.deepEqual(i.data.gateKeys, ['rollout:r1']);
  // After the rollback the components stay healthy: resolved after resolveAfter.
  const later = run(
    Array.from({ length: 20 }, (_, m) => ({ at: T0 + (2 + m) * MIN, comps: [comp('weu', 'operational')] })),
    state,
  );
  assert.equal(later.state.incidents[0].status, 'resolved');
});

test('a manual incident covering the component stops an automatic one', () => {
  const manual = openIncident(
    { id: 'inc-1', title: 'We know', impact: 'minor', components: ['blob/weu'], body: '', actor: 'cli:ops', source: 'manual' },
    T0,
  );
  const tracks: Record<string, ComponentTrack> = {};
  const { log } = run(
    Array.from({ length: 10 }, (_, m) => ({ at: T0 + m * MIN, comps: [comp('weu', 'major_outage')] })),
    { incidents: [manual], components: tracks },
  );
  assert.equal(log.length, 0, 'manual incidents are neither duplicated nor auto-resolved');
});

test('maintenance windows start and complete with the clock, as public updates', () => {
  const m = scheduleMaintenance(
    {
      id: 'mnt-1',
      title: 'Upgrade',
      components: ['blob/weu'],
      body: '',
      scheduledFor: T0 + 10 * MIN,
      scheduledUntil: T0 + 20 * MIN,
      actor: 'cli:ops',
    },
    T0,
  );
  assert.equal(effectiveMaintenanceStatus(m, T0), 'scheduled');
  assert.equal(effectiveMaintenanceStatus(m, T0 + 15 * MIN), 'in_progress');
  assert.equal(effectiveMaintenanceStatus(m, T0 + 25 * MIN), 'completed');
  const { state, log } = run(
    [5, 12, 25].map((x) => ({ at: T0 + x * MIN, comps: [comp('weu', 'under_maintenance')] })),
    { incidents: [m], components: {} },
  );
  assert.deepEqual(
    log.map((l) => l.incident.status),
    ['in_progress', 'completed'],
  );
  assert.equal(state.incidents[0].updates.length, 3);
});

test('overdue: open incidents without a public update for longer than the cadence', () => {
  let i = openIncident(
    { id: 'inc-2', title: 'Slow', impact: 'minor', components: ['blob/weu'], body: 'Looking', actor: 'a', source: 'manual' },
    T0,
  );
  assert.equal(isOverdue(i, T0 + 30 * MIN, 30 * MIN), false);
  assert.equal(isOverdue(i, T0 + 31 * MIN, 30 * MIN), true);
  i = addUpdate(i, { body: 'Still looking', actor: 'a' }, T0 + 31 * MIN);
  assert.equal(isOverdue(i, T0 + 40 * MIN, 30 * MIN), false);
  assert.equal(isBanner(i, T0 + 29 * MIN, 30 * MIN), false, 'one region, young: no banner');
  assert.equal(isBanner(i, T0 + 31 * MIN, 30 * MIN), true, 'open longer than bannerAfter: banner');
  i = resolveIncident(i, '', 'a', T0 + 50 * MIN);
  assert.equal(isOverdue(i, T0 + 200 * MIN, 30 * MIN), false);
  assert.equal(isBanner(i, T0 + 200 * MIN, 30 * MIN), false);
  assert.throws(
    () =>
      addUpdate(
        addUpdate(i, { status: 'postmortem', body: 'pm', actor: 'a' }, T0 + 60 * MIN),
        { status: 'investigating', body: 'x', actor: 'a' },
        T0 + 61 * MIN,
      ),
    /postmortem/,
  );
});
