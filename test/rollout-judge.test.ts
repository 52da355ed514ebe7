// End to end with a good version: real blob front-ends, a real Prometheus, the Controller with the judge's
// runner (src/controller/metric-runners.ts). The same code on a new version must pass the canary judge, and
// the canary wave is verified only once the judge's evidence is complete (bake accrues with data volume as
// well as time); the last wave, with no cell left on the old version, skips the judge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultFleetSpec, Fleet } from '../src/demo/fleet.js';
import { LoadGenerator } from '../src/demo/load.js';
import { demoConfig } from '../src/demo/demo-config.js';
import { startStagedRollout, type StagedHandle } from '../src/demo/staged.js';
import { createDriver } from '../src/drivers/index.js';
import { fleetDriverMaker } from '../src/demo/fleet-driver.js';
import { skipWithout } from './helpers.js';

const PROMETHEUS = process.env.ETAPE_PROMETHEUS ?? '/usr/bin/prometheus';

test(
  "a good version passes the canary judge wave by wave; the canary wave waits for the judge's data, not only its bake time",
  { timeout: 240_000, skip: skipWithout(PROMETHEUS, 'run scripts/setup-test-deps.sh') },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etape-rollout-judge-'));
    const spec = defaultFleetSpec({ regions: 2, cells: 1 });
    const fleet = await Fleet.start({ spec, initialVersion: 'v1', versions: {}, startTimeoutMs: 30_000 });
    const load = new LoadGenerator({
      targets: spec.regions.map((r) => ({ region: r.id, cells: r.cells })),
      resolve: (r, c) => fleet.url(r, c),
      ratePerRegion: 100,
      timeoutMs: 2000,
      maxDurationMs: 200_000,
    });
    let staged: StagedHandle | undefined;
    try {
      const o = { intervalMs: 500, timeoutMs: 1000, k: 3, canaryBakeMs: 2000, bakeMs: 2000 };
      const { config } = demoConfig({ o, spec } as never, fleet);
      load.start();
      staged = await startStagedRollout({
        config,
        storePath: join(dir, 'etape.db'),
        driverFor: (svc) => createDriver(svc, { extra: { fleet: fleetDriverMaker(fleet, { startTimeoutMs: 30_000 }) } }),
        version: 'v2',
        prometheus: PROMETHEUS,
      });
      const end = await staged.waitForEnd(200_000);
      const events = await staged.events();
      const show = () => events.map((e) => `${e.type} ${JSON.stringify(e.data).slice(0, 300)}`).join('\n');
      assert.equal(end, 'completed', show());
      const judge = events.find((e) => e.type === 'demo.judge')!;
      assert.match(String((judge.data as { text: string }).text), /^canary judge: a local Prometheus/);

      // Wave 1: the judge passed, and the wave was verified only after its pass, well after 2 s of bake.
      const bakeStart = events.find((e) => e.type === 'wave.baking' && (e.data as { wave: number }).wave === 1)!.at;
      const verified1 = events.find((e) => e.type === 'wave.verified' && (e.data as { wave: number }).wave === 1)!.at;
      const judgePass = events.find(
        (e) =>
          e.type === 'gate.verdict' &&
          (e.data as { gate: string; verdict: string; wave: number }).gate === 'canary-judge' &&
          (e.data as { verdict: string }).verdict === 'pass' &&
          (e.data as { wave: number }).wave === 1,
      );
      assert.ok(judgePass, `the judge passed the canary\n${show()}`);
      assert.ok(judgePass.at <= verified1);
      assert.ok(verified1 - bakeStart > 2000, 'the canary baked longer than its bake time: it waited for the judge');
      // The last wave has no cell left on the old version: the judge is skipped there, said once.
      const skipped = events.filter((e) => e.type === 'gate.skipped');
      assert.deepEqual(
        skipped.map((e) => (e.data as { wave: number }).wave),
        [staged.plan.waves.length],
      );
      assert.ok(!events.some((e) => e.type === 'gate.verdict' && (e.data as { verdict: string }).verdict === 'fail'), 'no gate failed');
      process.stdout.write(
        `# canary wave: bake 2 s, verified ${verified1 - bakeStart} ms after its bake started (the judge's data); rollout ${events[events.length - 1].at - events[0].at} ms\n`,
      );
    } finally {
      await staged?.close();
      await load.stop();
      await fleet.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
