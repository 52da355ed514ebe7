// End to end: `etape demo --json` on a small fleet, as a child process, and what its verdict must show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from '../src/demo/fleet.js';
import type { DemoVerdict } from '../src/demo/run.js';
import { runCli } from './helpers.js';

test(
  'etape demo --json: all at once takes every region down; etape stops the hang at the canary and forces it back',
  { timeout: 300_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'etape-demo-'));
    try {
      const r = await runCli(['demo', '--json', '--regions', '2', '--cells', '2', '--fault', 'hang', '--out', out], 240_000);
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr.slice(-3000)}`);
      const v = JSON.parse(r.stdout) as DemoVerdict;
      const all = v.runs.all_at_once!;
      const staged = v.runs.staged!;
      assert.ok(all && staged, 'both runs ran');
      const canary = new Set(v.fleet.canary);

      // All at once: every region ran the bad version, and had to be killed to come back.
      assert.equal(all.regionsAffected.length, all.regionsTotal);
      assert.equal(all.cellsAffected.length, all.cellsTotal);
      assert.ok(all.detectedAt !== undefined, 'the hang was seen');
      assert.ok(all.hungCells.length > 0, 'cells hung');
      for (const c of all.hungCells) assert.ok(all.forcedCells.includes(c), `${c} hung, so it could only come back by force`);
      assert.ok(all.pairsLostBoth.length > 0, 'a pair lost both regions');
      assert.ok(all.failedRequests > 0);

      // Staged: only canary targets ever ran v2; the hang was detected, the rollout halted and rolled back.
      assert.ok(staged.cellsAffected.length > 0);
      for (const c of staged.cellsAffected) assert.ok(canary.has(c.split('/')[0]), `${c} ran v2 but is not a canary target`);
      assert.deepEqual(staged.regionsAffected, [...canary]);
      assert.equal(staged.rolloutPhase, 'rolled_back');
      assert.ok(staged.detectedAt !== undefined && staged.detectionMs !== undefined, 'the hang was detected');
      assert.match(staged.detection ?? '', /timeout/);
      assert.equal(staged.recovered, true, 'every cell healthy on v1 again');
      for (const c of staged.hungCells) assert.ok(staged.forcedCells.includes(c), `${c} hung, so the rollback forced it`);
      assert.deepEqual(staged.pairsLostBoth, []);
      assert.ok(staged.failedRequests < all.failedRequests);

      // The event log from the store tells the same story.
      const events = readFileSync(join(out, 'staged.events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; data: { target?: string } });
      const types = events.map((e) => e.type);
      for (const t of ['rollout.halted', 'rollout.rolling_back', 'rollout.rolled_back', 'driver.force.succeeded'])
        assert.ok(types.includes(t), `event ${t}`);
      const deployed = events.filter((e) => e.type === 'driver.deploy.started').map((e) => e.data.target!);
      for (const t of deployed) assert.ok(canary.has(t.split('/')[0]), `deploy to ${t} outside the canary`);
      assert.ok(existsSync(join(out, 'verdict.json')));
      assert.ok(existsSync(join(out, 'all-at-once.events.jsonl')));

      // The same evidence for both runs, and what it says: the status page and the SLA credits (I6–I8).
      const owed = (x: typeof all) => Object.values(x.slaCredits ?? {}).reduce((n, c) => n + c, 0);
      assert.ok(all.reports && staged.reports, 'both runs have a status page and an SLA report');
      assert.ok(owed(all) > 0, `all at once owes credits (${JSON.stringify(all.slaCredits)})`);
      assert.ok(owed(staged) < owed(all), `staged owes less (${owed(staged)}) than all at once (${owed(all)})`);
      for (const x of [all, staged]) {
        const dir = join(out, x.mode);
        for (const f of [
          'status/index.html',
          'status/api/v2/summary.json',
          'status/feed.atom',
          'sla.txt',
          'sla.json',
          'etape.db',
          'etape.yaml',
        ])
          assert.ok(existsSync(join(dir, f)), `${x.mode}/${f} written`);
        assert.match(readFileSync(join(dir, 'status/index.html'), 'utf8'), /<meta name="generated_at" content="\d{4}-/);
        const summary = JSON.parse(readFileSync(join(dir, 'status/api/v2/summary.json'), 'utf8')) as { generated_at?: string };
        assert.ok(summary.generated_at, `${x.mode}: summary.json carries generated_at`);
        assert.equal(x.statusPage, `file://${join(dir, 'status/index.html')}`);
        const sla = JSON.parse(readFileSync(join(dir, 'sla.json'), 'utf8')) as { totals: Record<string, number> };
        assert.deepEqual(sla.totals, x.slaCredits, `${x.mode}: sla.json and the verdict agree`);
      }
      const allPage = readFileSync(join(out, 'all-at-once/status/index.html'), 'utf8');
      assert.match(allPage, /<section class="banner"/, 'the all-at-once outage across regions is a banner');
      assert.doesNotMatch(allPage, /All Systems Operational/);
      assert.ok(
        all.reports!.incidents.some((i) => new Set(i.components.map((c) => c.split('/')[1])).size >= 2),
        'an incident across regions',
      );
      // The halted rollout opens an incident, or joins the one the canary's failing checks opened a moment before.
      const halt = staged.reports!.incidents.find((i) => i.rollouts.includes(staged.rolloutId!));
      assert.ok(halt, `an incident for the halted rollout: ${JSON.stringify(staged.reports!.incidents)}`);
      for (const c of halt.components) assert.ok(canary.has(c.split('/')[1]), `${c} is a canary component`);
      assert.match(readFileSync(join(out, 'staged/status/index.html'), 'utf8'), new RegExp(halt.id));
      const incPage = readFileSync(join(out, `staged/status/incidents/${halt.id}.html`), 'utf8');
      assert.match(incPage, /halted/);
      assert.match(incPage, /investigating/, 'the incident page has its timeline');
      assert.doesNotMatch(readFileSync(join(out, 'staged/status/index.html'), 'utf8'), /<section class="banner"/);
      assert.match(r.stdout + r.stderr, /status page|"statusPage"/);

      // No process left behind.
      assert.ok(v.pids.length >= all.cellsTotal * 2, 'it reports the processes it started');
      assert.deepEqual(v.leftover_pids, []);
      for (const pid of v.pids) assert.equal(isRunning(pid), false, `pid ${pid} still running`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test('etape demo rejects an unknown fault with a message that says what to do', async () => {
  const r = await runCli(['demo', '--fault', 'meltdown'], 60_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--fault meltdown: choose one of hang, errors, latency, crash-loop/);
});
