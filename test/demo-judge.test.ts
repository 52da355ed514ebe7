// End to end: `etape demo --fault errors` on a small fleet with a real Prometheus. The bad version fails 5%
// of requests, which the probes (3 failures in a row) rarely see; the canary judge must halt the rollout at
// the canary, and nothing the run started (cells, Prometheus) may outlive it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from '../src/demo/fleet.js';
import type { DemoVerdict } from '../src/demo/run.js';
import { openStore } from '../src/store/open.js';
import { runCli, skipWithout } from './helpers.js';

const PROMETHEUS = process.env.ETAPE_PROMETHEUS ?? '/usr/bin/prometheus';

/** Processes whose command line contains `needle` (Linux /proc). */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

test(
  'etape demo --fault errors: the canary judge halts the rollout at the canary; no process is left behind',
  { timeout: 150_000, skip: skipWithout(PROMETHEUS, 'run scripts/setup-test-deps.sh') },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'etape-demo-judge-'));
    try {
      const started = Date.now();
      const r = await runCli(
        ['demo', '--json', '--only', 'staged', '--regions', '2', '--cells', '2', '--fault', 'errors', '--out', out],
        120_000,
      );
      assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr.slice(-3000)}`);
      const v = JSON.parse(r.stdout) as DemoVerdict;
      const staged = v.runs.staged!;
      assert.ok(staged, 'the staged run ran');
      assert.equal(v.runs.all_at_once, undefined, '--only staged');
      const canary = new Set(v.fleet.canary);

      // Only canary targets ever ran v2; the judge (not a probe) halted the rollout, which rolled back.
      assert.ok(staged.cellsAffected.length > 0);
      for (const c of staged.cellsAffected) assert.ok(canary.has(c.split('/')[0]), `${c} ran v2 but is not a canary target`);
      assert.equal(staged.rolloutPhase, 'rolled_back');
      assert.match(staged.detection ?? '', /^gate canary-judge failed in wave 1: .*errors rate/);
      assert.equal(staged.recovered, true, 'every cell healthy on v1 again');

      const events = readFileSync(join(out, 'staged.events.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
      const judge = events.find((e) => e.type === 'demo.judge');
      assert.ok(judge, 'the run says what judges it');
      const url = String(judge.data.prometheus ?? '');
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, `a local Prometheus ran: ${String(judge.data.text)}`);
      const halted = events.filter((e) => e.type === 'rollout.halted');
      assert.equal(halted.length, 1);
      assert.equal(halted[0].data.gate, 'canary-judge');
      assert.equal(halted[0].data.kind, 'judge');
      assert.equal(halted[0].data.wave, 1);
      const failedGates = events.filter((e) => e.type === 'gate.verdict' && e.data.verdict === 'fail').map((e) => e.data.gate);
      assert.deepEqual(failedGates, ['canary-judge'], 'no probe gate failed');
      // The judge's looks reached the gate through the store, one per canary target, with their evidence fraction.
      const store = await openStore(join(out, 'staged', 'etape.db'));
      try {
        const looks = (await store.queryObservations({ service: 'blob', from: 0 })).filter((o) => o.source === 'canary-judge');
        assert.ok(looks.length > 0, 'judge observations stored');
        for (const o of looks) assert.ok(canary.has(o.region), `judge look about ${o.region}/${o.cell}, not a canary target`);
        assert.ok(
          looks.every((o) => typeof o.evidenceFraction === 'number' || o.verdict === 'error'),
          'evidence fraction kept',
        );
        assert.ok(looks.some((o) => o.verdict === 'fail'));
      } finally {
        await store.close();
      }
      const deployed = events.filter((e) => e.type === 'target.deploying').map((e) => String(e.data.target));
      for (const t of deployed) assert.ok(canary.has(t.split('/')[0]), `deploy to ${t} outside the canary`);

      // Nothing left running: the cells and Prometheus.
      assert.deepEqual(v.leftover_pids, []);
      assert.deepEqual(v.pids.filter(isRunning), []);
      const port = url.split(':').pop()!;
      assert.deepEqual(processesWith(`--web.listen-address=127.0.0.1:${port}`), [], 'Prometheus stopped');
      process.stdout.write(
        `# judge caught 5% errors ${staged.detectionFromDeployMs} ms after the canary came up; the run took ${Date.now() - started} ms\n`,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);
