import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handPlan } from '../../test/sim.js';
import { newRolloutState, type RolloutState } from '../rollout/state.js';
import { judgeTargetsFromState, versionInState } from './metric-runners.js';

function state(): RolloutState {
  const s = newRolloutState({
    id: 'r1',
    plan: handPlan('blob', [
      { targets: ['r1/c1'], bakeMs: 60_000, gates: ['judge'] },
      { targets: ['r2/c1', 'r2/c2'], bakeMs: 60_000, gates: ['judge'] },
      { targets: ['r1/c2', 'r3/c1'], bakeMs: 60_000, gates: ['judge'] },
    ]),
    version: 'v2',
    fromVersion: 'v1',
    gates: [],
    createdAt: 0,
    createdBy: 'test',
  });
  s.phase = 'running';
  return s;
}

test('judge targets: the deployed targets on the new version against untouched ones on the old, since the wave finished deploying', () => {
  const s = state();
  assert.equal(judgeTargetsFromState(s, 'judge'), undefined, 'nothing deployed yet');
  s.waves[0].status = 'baking';
  s.waves[0].bakeStartedAt = 1000;
  s.targets['r1/c1'].status = 'deployed';
  s.targets['r1/c1'].deployedAt = 900;
  const jt = judgeTargetsFromState(s, 'judge', {
    regions: [
      {
        id: 'r1',
        cells: [
          { id: 'c1', weight: 1, vars: { port: 8001 } },
          { id: 'c2', weight: 1, vars: {} },
        ],
      },
    ],
  } as never)!;
  assert.deepEqual(
    jt.canary.map((t) => [t.region, t.cell, t.version]),
    [['r1', 'c1', 'v2']],
  );
  assert.equal(jt.canary[0].vars?.port, '8001');
  // Same region first, then the rest; all on the old version.
  assert.deepEqual(
    jt.baseline.map((t) => `${t.region}/${t.cell}@${t.version}`),
    ['r1/c2@v1', 'r2/c1@v1', 'r2/c2@v1', 'r3/c1@v1'],
  );
  assert.equal(jt.since, 1000);
  assert.equal(judgeTargetsFromState(s, 'other'), undefined, 'a gate the wave does not have');

  // Wave 2 deploying: the canary grows, the baseline shrinks, since = its newest deployed target.
  s.waves[0].status = 'verified';
  s.waves[1].status = 'deploying';
  s.targets['r2/c1'].status = 'deployed';
  s.targets['r2/c1'].deployedAt = 5000;
  s.targets['r2/c2'].status = 'deploying';
  const jt2 = judgeTargetsFromState(s, 'judge')!;
  assert.deepEqual(
    jt2.canary.map((t) => `${t.region}/${t.cell}`),
    ['r1/c1', 'r2/c1'],
  );
  assert.deepEqual(
    jt2.baseline.map((t) => `${t.region}/${t.cell}`),
    ['r1/c2', 'r3/c1'],
  );
  assert.equal(jt2.since, 5000);
  assert.equal(versionInState(s, 'r2/c1'), 'v2');
  assert.equal(versionInState(s, 'r3/c1'), 'v1');
  assert.equal(versionInState(s, 'r2/c2'), undefined);

  s.phase = 'halted';
  assert.equal(judgeTargetsFromState(s, 'judge'), undefined, 'a halted rollout is not judged');
});

test("the store keeps an observation's evidence fraction (the judge gate and the bake read it back)", async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openStore } = await import('../store/open.js');
  const dir = mkdtempSync(join(tmpdir(), 'etape-ef-'));
  const store = await openStore(join(dir, 'etape.db'));
  try {
    await store.recordObservations([
      { service: 'blob', region: 'r1', cell: 'c1', source: 'judge', at: 1000, verdict: 'inconclusive', value: 50, evidenceFraction: 0.45 },
      { service: 'blob', region: 'r1', cell: 'c1', source: 'http', at: 1000, verdict: 'pass' },
    ]);
    const got = await store.queryObservations({ service: 'blob', from: 0 });
    assert.equal(got.find((o) => o.source === 'judge')?.evidenceFraction, 0.45);
    assert.equal(got.find((o) => o.source === 'http')?.evidenceFraction, undefined);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("metricRunners: the judge looks at a baking rollout from the store, canary on v2 against baseline on v1, and records one observation per canary target under the gate's name", async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openStore } = await import('../store/open.js');
  const { parseConfig } = await import('../config/load.js');
  const { metricRunners } = await import('./metric-runners.js');
  const config = parseConfig(
    `version: 1
fleet:
  regions:
    - { id: r1, geography: eu, canary: true, cells: [{ id: c1, vars: { port: 1001 } }, { id: c2 }] }
    - { id: r2, geography: us, cells: [{ id: c1 }] }
services:
  - name: blob
    initialVersion: v1
    gates:
      - kind: judge
        name: canary-judge
        prometheus: http://127.0.0.1:9
        interval: 100ms
        step: 1s
        metrics:
          - { name: errors, kind: count, query: 'errs{cell="{cell}",version="{version}"}', totalQuery: 'reqs{cell="{cell}",version="{version}"}' }
`,
    'etape.yaml',
  );
  assert.deepEqual(
    metricRunners({ config: { ...config, services: config.services.map((s) => ({ ...s, gates: [] })) }, store: undefined as never }),
    [],
  );
  const dir = mkdtempSync(join(tmpdir(), 'etape-mr-'));
  const store = await openStore(join(dir, 'etape.db'));
  const queries: string[] = [];
  const fake = (async (_url: string, init: { body: string }) => {
    queries.push(new URLSearchParams(init.body).get('query') ?? '');
    return new Response(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }));
  }) as unknown as typeof fetch;
  const s = state();
  s.gates = {
    'canary-judge': {
      name: 'canary-judge',
      kind: 'judge',
      sources: ['canary-judge'],
      intervalMs: 100,
      freshForMs: 10_000,
      failureLimit: 0,
      consecutiveErrorLimit: 4,
      inconclusiveLimit: 10,
      config: config.services[0].gates[0],
    },
  };
  for (const w of s.waves) w.gates = ['canary-judge'];
  s.waves[0].status = 'baking';
  s.waves[0].bakeStartedAt = Date.now() - 5000;
  s.targets['r1/c1'].status = 'deployed';
  s.targets['r1/c1'].deployedAt = Date.now() - 5000;
  await store.createRollout({ id: 'r1', service: 'blob', version: 'v2', phase: 'running', state: s, createdAt: 0, updatedAt: 0 }, []);
  const [runner] = metricRunners({ config, store, fetch: fake, refreshEveryMs: 50 });
  runner.start();
  try {
    let looks: Awaited<ReturnType<typeof store.queryObservations>> = [];
    for (let i = 0; i < 200 && looks.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      looks = (await store.queryObservations({ service: 'blob', from: 0 })).filter((o) => o.source === 'canary-judge');
    }
    assert.ok(looks.length > 0, 'the judge looked');
    assert.deepEqual(
      [...new Set(looks.map((o) => `${o.region}/${o.cell}@${o.version}`))],
      ['r1/c1@v2'],
      'one observation per canary target',
    );
    assert.ok(
      looks.every((o) => o.verdict !== 'pass'),
      'no data is never a pass',
    );
    assert.ok(
      queries.some((q) => q.includes('cell="c1",version="v2"')),
      'canary queried on v2',
    );
    assert.ok(
      queries.some((q) => q.includes('cell="c2",version="v1"')),
      'baseline queried on v1',
    );
  } finally {
    await runner.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
