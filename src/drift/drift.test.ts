import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Observation } from '../core/types.js';
import { OBSERVE_SOURCE } from '../core/types.js';
import type { GateSpec } from '../gates/gate.js';
import { decide, type DriverOutcome } from '../rollout/decide.js';
import { decideDrift, foldDriftEvents, marksOf, revertRolloutState, type DriftInput, type DriftMark } from './drift.js';

const targets = [
  { region: 'r1', cell: 'c1' },
  { region: 'r2', cell: 'c1' },
  { region: 'r3', cell: 'c1' },
];
const seen = (region: string, version: string, at: number, source = OBSERVE_SOURCE): Observation => ({
  service: 'blob',
  region,
  cell: 'c1',
  source,
  at,
  verdict: 'pass',
  version,
});
const input = (over: Partial<DriftInput>): DriftInput => ({
  service: 'blob',
  mode: 'alert',
  targets,
  verified: 'v1',
  observations: [],
  sources: null,
  since: 0,
  marks: new Map(),
  now: 1000,
  ...over,
});

test('a target on another version than the verified one is drift: one event for all of them, and a mark each', () => {
  const d = decideDrift(input({ observations: [seen('r1', 'v1', 10), seen('r2', 'v9', 20), seen('r3', 'v9', 30, 'http')] }));
  assert.equal(d.events.length, 1);
  const e = d.events[0];
  assert.equal(e.type, 'drift.detected');
  assert.equal(e.rolloutId, null);
  const data = e.data as { expected: string; targets: { target: string; version: string; reportedBy: string }[]; reason: string };
  assert.equal(data.expected, 'v1');
  assert.deepEqual(
    data.targets.map((t) => [t.target, t.version, t.reportedBy]),
    [
      ['r2/c1', 'v9', OBSERVE_SOURCE],
      ['r3/c1', 'v9', 'http'],
    ],
  );
  assert.match(data.reason, /etape last verified v1/);
  assert.deepEqual([...d.marks.keys()], ['r2/c1', 'r3/c1']);
  assert.equal(d.revert, undefined, 'alert (the default) does not revert');
});

test('the newest answer wins; an older or stale one, or one from a source that does not count, says nothing', () => {
  // r1 went to v9 and back: the newest says v1.
  let d = decideDrift(input({ observations: [seen('r1', 'v9', 10), seen('r1', 'v1', 20)] }));
  assert.equal(d.events.length, 0);
  // Taken before the last rollout ended: about what ran then.
  d = decideDrift(input({ observations: [seen('r1', 'v9', 10)], since: 10 }));
  assert.equal(d.events.length, 0);
  // version.from: observe counts only the driver's answers.
  d = decideDrift(input({ observations: [seen('r1', 'v9', 10, 'http')], sources: [OBSERVE_SOURCE] }));
  assert.equal(d.events.length, 0);
  // Nothing verified: nothing to compare with.
  d = decideDrift(input({ observations: [seen('r1', 'v9', 10)], verified: undefined }));
  assert.equal(d.events.length, 0);
});

test('a mark is reported once, again when the version changes, and cleared with an event when the target is back', () => {
  const first = decideDrift(input({ observations: [seen('r1', 'v9', 10)] }));
  const again = decideDrift(input({ observations: [seen('r1', 'v9', 50)], marks: first.marks }));
  assert.equal(again.events.length, 0, 'no flood: the same drift is not reported twice');
  assert.equal(again.marks.get('r1/c1')!.since, 10);
  const other = decideDrift(input({ observations: [seen('r1', 'v10', 60)], marks: first.marks }));
  assert.equal(other.events[0].type, 'drift.detected');
  assert.equal(other.marks.get('r1/c1')!.version, 'v10');
  const back = decideDrift(input({ observations: [seen('r1', 'v1', 70)], marks: other.marks }));
  assert.equal(back.events.length, 1);
  assert.equal(back.events[0].type, 'drift.cleared');
  assert.equal(back.marks.size, 0);
  // No new answer: the mark stands.
  assert.equal(decideDrift(input({ marks: first.marks })).marks.size, 1);
});

test('targets an active rollout touched are its business; untouched ones drift, and the revert waits for the rollout', () => {
  const d = decideDrift(
    input({
      mode: 'revert',
      observations: [seen('r1', 'v2', 10), seen('r2', 'v9', 10)],
      active: { id: 'ro-1', touched: ['r1/c1'] },
    }),
  );
  assert.deepEqual([...d.marks.keys()], ['r2/c1']);
  assert.equal(d.revert, undefined);
  assert.match(d.revertWaits ?? '', /rollout ro-1 is active/);
});

test('drift: revert reverts one drifted version at a time, once per drift; a failed rollout keeps what it left', () => {
  const d = decideDrift(input({ mode: 'revert', observations: [seen('r1', 'v9', 10), seen('r2', 'v9', 11), seen('r3', 'v8', 12)] }));
  assert.equal(d.revert?.version, 'v9');
  assert.equal(d.revert?.expected, 'v1');
  assert.deepEqual(
    d.revert?.targets.map((m) => m.target),
    ['r1/c1', 'r2/c1'],
  );
  // The revert is recorded: no second one for the same drift, the other version goes next.
  const marks = foldDriftEvents(new Map(), [
    ...d.events,
    {
      type: 'drift.revert_started',
      at: 1000,
      rolloutId: 'blob-drift-1',
      data: { service: 'blob', expected: 'v1', targets: d.revert!.targets },
    },
  ]);
  const next = decideDrift(input({ mode: 'revert', marks: marksOf(marks, 'blob') }));
  assert.equal(next.revert?.version, 'v8');
  const after = decideDrift(
    input({
      mode: 'revert',
      marks: new Map([...marksOf(marks, 'blob')].filter(([k]) => k !== 'r3/c1')),
    }),
  );
  assert.equal(after.revert, undefined);
  assert.match(after.revertWaits ?? '', /blob-drift-1 ran for this drift already/);
  const left = decideDrift(input({ mode: 'revert', observations: [seen('r1', 'v2', 10)], left: { id: 'ro-2', targets: ['r1/c1'] } }));
  assert.equal(left.marks.size, 1, 'reported as drift');
  assert.equal(left.revert, undefined);
  assert.match(left.revertWaits ?? '', /etape rollout retry ro-2/);
});

test('folding the stored events gives the marks in force', () => {
  const d = decideDrift(input({ observations: [seen('r1', 'v9', 10), seen('r2', 'v9', 10)] }));
  const back = decideDrift(input({ observations: [seen('r1', 'v1', 20)], marks: d.marks }));
  const marks = foldDriftEvents(new Map<string, DriftMark>(), [
    ...d.events,
    ...back.events,
    { type: 'rollout.halted', at: 1, rolloutId: 'x', data: {} },
  ]);
  assert.deepEqual([...marks.keys()], ['blob|r2/c1']);
});

const probeGate: GateSpec = {
  name: 'health',
  kind: 'probe',
  sources: ['http'],
  intervalMs: 1000,
  freshForMs: 3000,
  failureLimit: 0,
  failAfter: 3,
  consecutiveErrorLimit: 4,
  inconclusiveLimit: 10,
  config: { kind: 'probe', name: 'health', probe: 'http', failAfter: 3, failureLimit: 0, consecutiveErrorLimit: 4, inconclusiveLimit: 10 },
};

test('the revert is a rollback along the pair-safe order: a region and its partner never go back together', () => {
  let s = revertRolloutState({
    id: 'blob-drift-1',
    service: 'blob',
    version: 'v9',
    expected: 'v1',
    targets: [
      { region: 'r1', cell: 'c1', since: 100 },
      { region: 'r2', cell: 'c1', since: 100 },
    ],
    gates: [probeGate],
    pairs: [['r1', 'r2']],
    now: 200,
  });
  assert.equal(s.phase, 'halted');
  const obs: Observation[] = [];
  const outcomes = new Map<string, DriverOutcome>();
  const calls: { at: number; kind: string; target: string; version: string }[] = [];
  let inFlight = new Set<string>();
  for (let now = 200; now < 20_000 && s.phase !== 'rolled_back'; now += 100) {
    const d = decide(s, { observations: obs, outcomes }, now);
    s = d.nextState;
    const flying = new Set<string>();
    for (const a of d.actions) {
      if (a.kind !== 'rollback' && a.kind !== 'force') continue;
      flying.add(a.target.region);
      if (!outcomes.has(a.key)) {
        calls.push({ at: now, kind: a.kind, target: `${a.target.region}/${a.target.cell}`, version: a.version });
        outcomes.set(a.key, { ok: true, detail: 'exit 0' });
      }
    }
    assert.ok(!(flying.has('r1') && flying.has('r2')), `r1 and r2 in flight together at ${now}`);
    inFlight = flying;
    // Each target back on v1 answers its probe on v1.
    for (const t of Object.values(s.targets)) if (t.status === 'rolled_back') obs.push({ ...seen(t.region, 'v1', now + 50, 'http') });
  }
  assert.equal(s.phase, 'rolled_back');
  assert.equal(inFlight.size, 0);
  assert.deepEqual(
    calls.map((c) => [c.kind, c.target, c.version]),
    [
      ['rollback', 'r1/c1', 'v1'],
      ['rollback', 'r2/c1', 'v1'],
    ],
  );
  assert.ok(calls[1].at > calls[0].at);
});

test('a target forced since the last release is verified on the version it was forced to, not drift', () => {
  const d = decideDrift(
    input({ mode: 'revert', verifiedFor: { 'r2/c1': 'v0' }, observations: [seen('r2', 'v0', 10), seen('r3', 'v0', 20)] }),
  );
  assert.deepEqual([...d.marks.keys()], ['r3/c1'], 'only the target nobody forced to v0 drifted');
  assert.deepEqual(
    d.revert?.targets.map((t) => t.target),
    ['r3/c1'],
  );
});

test('a forced target on any other version is drift, and goes back to the version it was forced to', () => {
  const verifiedFor = { 'r1/c1': 'v0' };
  assert.equal(decideDrift(input({ verifiedFor, observations: [seen('r1', 'v0', 10)] })).events.length, 0);
  const d = decideDrift(input({ mode: 'revert', verifiedFor, observations: [seen('r1', 'v1', 10), seen('r2', 'v1', 10)] }));
  assert.deepEqual(
    [...d.marks.values()].map((m) => [m.target, m.version, m.expected]),
    [['r1/c1', 'v1', 'v0']],
  );
  assert.equal(d.revert?.expected, 'v0');
  const marks = foldDriftEvents(new Map(), d.events);
  assert.equal(marks.get('blob|r1/c1')?.expected, 'v0');
});
