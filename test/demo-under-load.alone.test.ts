// The demo on a busy machine: both cores kept busy by spinning processes while it runs. Its verdict, its
// status pages and its SLA reports come from each run's own store, so they tell one story: the all-at-once
// run put every region on the bad version and its page has the incident across all of them; the staged run
// reached only the canary.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDemo } from '../src/demo/run.js';
import { killChildren, startChild } from './helpers.js';

after(killChildren);

test('beside a CPU-bound load, the verdict, the page and the SLA report agree about each run', { timeout: 180_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'etape-demo-load-'));
  // Two processes spinning for the whole test: every core is busy.
  const spinners = [0, 1].map(() => startChild(process.execPath, ['-e', 'for (;;) {}']));
  try {
    const v = await runDemo({ fault: 'hang', regions: 2, cells: 1, quiet: true, warmupMs: 500, tailMs: 500, out });
    const all = v.runs.all_at_once!;
    const staged = v.runs.staged!;
    const regions = ['eu-north', 'eu-west', 'us-canary'];
    const canary = v.fleet.canary;
    assert.deepEqual(canary, ['us-canary']);

    // All at once: every region ran the bad version, the outage was detected, and the page says so.
    assert.deepEqual([...all.regionsAffected].sort(), regions);
    assert.equal(all.badCapacityShare, 1);
    assert.ok(all.detectedAt !== undefined && all.detectionFromDeployMs !== undefined, 'detected');
    assert.deepEqual(all.regionsOut, regions, 'the status rules saw every region fail');
    assert.ok(all.hungCells.length > 0 && all.hungCells.every((c) => all.forcedCells.includes(c)), 'hung cells were killed');
    const allIncidents = JSON.parse(readFileSync(join(out, 'all-at-once/status/api/v2/incidents.json'), 'utf8')) as {
      incidents: { components: { name: string }[] }[];
    };
    const onPage = new Set(all.reports!.incidents.flatMap((i) => i.components.map((c) => c.split('/')[1])));
    assert.deepEqual([...onPage].sort(), regions, `the page's incidents cover every region: ${JSON.stringify(all.reports!.incidents)}`);
    assert.ok(allIncidents.incidents.length > 0, 'incidents.json has the incident');
    assert.doesNotMatch(readFileSync(join(out, 'all-at-once/status/index.html'), 'utf8'), /All Systems Operational/);
    const owed = (x: typeof all) => Object.values(x.slaCredits ?? {}).reduce((n, c) => n + c, 0);
    assert.ok(owed(all) > 0, 'the SLA report owes credits');
    assert.ok(all.failedRequests > 0);

    // Staged: only the canary ran the bad version, and the page has the canary's incident. (On a machine this
    // busy the halt may come from a deploy that never became healthy rather than from a gate, and an
    // overloaded old-version region may fail its checks too: the page says what the evidence shows.)
    assert.deepEqual(staged.regionsAffected, canary);
    for (const c of staged.cellsAffected) assert.ok(canary.includes(c.split('/')[0]), `${c} is a canary cell`);
    assert.equal(staged.rolloutPhase, 'rolled_back');
    assert.ok(staged.detectedAt !== undefined);
    assert.ok(
      staged.reports!.incidents.some((i) => i.components.includes('blob/us-canary')),
      `an incident for the canary: ${JSON.stringify(staged.reports!.incidents)}`,
    );
    assert.ok(owed(staged) < owed(all));

    // Every region a page's incident names is one the verdict counts as failing: one story per run.
    for (const r of [all, staged])
      for (const i of r.reports!.incidents)
        for (const c of i.components) assert.ok(r.regionsOut.includes(c.split('/')[1]) || i.source === 'auto:gate', `${r.mode}: ${c}`);
    assert.deepEqual(v.leftover_pids, []);
  } finally {
    for (const s of spinners) s.child.kill('SIGKILL');
    rmSync(out, { recursive: true, force: true });
  }
});
