// Chaos test (I5, I2; issue 11): three `etape serve` on one fresh PostgreSQL database drive ten rollouts of
// two services on real loopback targets with the exec driver, while a seeded random schedule SIGKILLs them
// (a killed one is restarted) and pauses them with SIGSTOP/SIGCONT for longer than the lease. Deploys take
// longer than the lease. Everything is judged from the driver's own call log (the targets' control server),
// not from etape's events: no idempotency key in flight twice at once, no call made under a lease token older
// than one already seen for its rollout (a woken controller starts nothing), no step applied twice, no wave
// skipped or started before the one before it was done, I2 for every action, every rollout terminal, and each
// ending in the phase that matches what its targets run. A failure prints the seed; ETAPE_CHAOS_SEED=<seed>
// replays the same schedule.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import { startRollout } from '../src/rollout/operations.js';
import { systemClock } from '../src/core/clock.js';
import { seededRandom } from '../src/core/random.js';
import type { Store } from '../src/store/store.js';
import type { RolloutState } from '../src/rollout/state.js';
import { TargetFleet, type DriverCallLog } from './rollout-fixture.js';
import { killChildren, startServe, waitFor, type Child } from './helpers.js';

const PG_URL = process.env.ETAPE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SEED = Number(process.env.ETAPE_CHAOS_SEED ?? randomBytes(4).readUInt32BE(0));
const LEASE_MS = 1000;
const DEPLOY_MS = 1500; // longer than the lease
const DISRUPTIONS = 30;
/** At least this many of each kind of disruption (kill, pause). */
const MIX = 5;
const ROLLOUTS_PER_SERVICE = 5;
const TERMINAL = ['completed', 'rolled_back', 'failed', 'aborted'];

const REGIONS = [
  { id: 'r1', cells: ['c1'], canary: true },
  { id: 'r2', cells: ['c1', 'c2'], pair: 'r3' },
  { id: 'r3', cells: ['c1'] },
];
const PAIRS: [string, string][] = [['r2', 'r3']];
const SERVICES = ['blob', 'table'] as const;
const ids = REGIONS.flatMap((r) => r.cells.map((c) => `${r.id}/${c}`));

const dir = mkdtempSync(join(tmpdir(), 'etape-chaos-'));
const dbName = `etape_chaos_${randomBytes(5).toString('hex')}`;
const fleets = Object.fromEntries(SERVICES.map((s) => [s, new TargetFleet(ids)])) as Record<(typeof SERVICES)[number], TargetFleet>;
let store: Store | undefined;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

after(async () => {
  killChildren();
  await store?.close().catch(() => {});
  for (const f of Object.values(fleets)) await f.stop().catch(() => {});
  await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
});

/** What happens, as it happens, when ETAPE_CHAOS_VERBOSE is set (to see where a run that hangs stands). */
const progress = (line: string) => {
  if (process.env.ETAPE_CHAOS_VERBOSE) process.stderr.write(`chaos ${new Date().toISOString()} ${line}\n`);
};

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

interface Slot {
  name: string;
  gen: number;
  serve?: Child;
  ready?: Promise<void>;
  up: boolean;
  paused: boolean;
}

test(
  `three etape serve on one PostgreSQL through ${DISRUPTIONS}+ kills and pauses: the driver's log shows each rollout driven once`,
  { timeout: 300_000 },
  async () => {
    process.stdout.write(`# chaos seed ${SEED} (replay: ETAPE_CHAOS_SEED=${SEED} node --import tsx --test test/chaos.alone.test.ts)\n`);
    const rnd = seededRandom(SEED);
    await admin(`CREATE DATABASE ${dbName}`);
    const url = PG_URL.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`);
    for (const f of Object.values(fleets)) {
      f.deployDelayMs = DEPLOY_MS;
      f.cancelOnDisconnect = true;
      await f.start();
    }
    const raw = {
      fleet: {
        regions: REGIONS.map((r) => ({
          id: r.id,
          geography: 'geo',
          canary: r.canary ?? false,
          ...(r.pair ? { pair: r.pair } : {}),
          weight: r.cells.length,
          cells: r.cells.map((c) => ({
            id: c,
            vars: Object.fromEntries(SERVICES.map((s) => [`${s}_port`, fleets[s].port(`${r.id}/${c}`)])),
          })),
        })),
      },
      policy: { bake: { canary: '200ms', first: '200ms', later: '200ms' } },
      services: SERVICES.map((s) => ({
        name: s,
        initialVersion: 'v1',
        driver: fleets[s].execDriver({ timeout: '4s', retries: 0, by: 'ETAPE_TEST_SERVE' }),
        probes: [{ name: 'http', url: `http://127.0.0.1:{${s}_port}/health`, interval: '200ms', timeout: '500ms' }],
        gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
      })),
      server: { reconcileEvery: '200ms' },
      statuspage: { out: join(dir, 'status') },
    };
    const cfgFile = join(dir, 'etape.yaml');
    writeFileSync(cfgFile, JSON.stringify(raw, null, 2)); // JSON is YAML
    const config = configSchema.parse(raw);
    store = await openStore(url);
    const st = store;

    const slots: Slot[] = ['a', 'b', 'c'].map((name) => ({ name, gen: 0, up: false, paused: false }));
    const launch = (s: Slot) => {
      s.gen++;
      const serve = startServe(cfgFile, url, ['--lease', `${LEASE_MS}ms`], { ETAPE_TEST_SERVE: `${s.name}${s.gen}` });
      s.serve = serve;
      s.up = false;
      s.ready = waitFor(`serve ${s.name}${s.gen} listening`, () => serve.output().includes('listening on'), 60_000).then(() => {
        if (s.serve === serve) s.up = true;
      });
    };
    for (const s of slots) launch(s);
    await Promise.all(slots.map((s) => s.ready));

    // One lane per service: each starts its next rollout once the last one is over, and checks the targets.
    const done: { id: string; service: string; phase: string; at: number; before: string; version: string; state: RolloutState }[] = [];
    const lane = async (service: (typeof SERVICES)[number]) => {
      const fleet = fleets[service];
      // At least ROLLOUTS_PER_SERVICE, and more while the disruptions go on, so that every one lands in a rollout.
      for (let i = 0; i < ROLLOUTS_PER_SERVICE || disrupting; i++) {
        const before = [...fleet.targets.values()][0].version;
        const version = `v${i + 2}`;
        const rec = await startRollout({ store: st, config, clock: systemClock }, { service, version, actor: 'test' });
        const end = await waitFor(
          `rollout ${rec.id} terminal`,
          async () => {
            const r = await st.getRollout(rec.id);
            return r && TERMINAL.includes(r.phase) && r;
          },
          200_000,
          100,
        );
        const running = [...fleet.targets.values()].map((t) => t.version);
        const want = end.phase === 'completed' ? version : before;
        assert.ok(['completed', 'rolled_back'].includes(end.phase), `seed ${SEED}: ${rec.id} ended ${end.phase}`);
        assert.deepEqual(
          running,
          ids.map(() => want),
          `seed ${SEED}: ${rec.id} ended ${end.phase} and its targets run ${running.join(',')}`,
        );
        progress(`${rec.id} ${end.phase}`);
        done.push({ id: rec.id, service, phase: end.phase, at: end.updatedAt, before, version, state: end.state as RolloutState });
      }
    };
    let disrupting = true;
    const lanes = Promise.all(SERVICES.map(lane));
    let finished = false;
    void lanes.finally(() => (finished = true)).catch(() => {});

    // The schedule: every 0.4–1.0 s a kill (restarted at once) or a pause of 1.5–3 leases, never of all three.
    const disruptions: string[] = [];
    const resumes: Promise<void>[] = [];
    let midCall = 0;
    while (disruptions.length < DISRUPTIONS && !finished) {
      await new Promise((r) => setTimeout(r, 400 + rnd() * 600));
      const pick = rnd();
      // At least MIX of each kind: the last slots go to whichever kind is short.
      const left = DISRUPTIONS - disruptions.length;
      const kills = disruptions.filter((d) => d.startsWith('kill')).length;
      const pauses = disruptions.length - kills;
      const coin = rnd() < 0.3;
      const kill = kills < MIX && left <= MIX - kills ? true : pauses < MIX && left <= MIX - pauses ? false : coin;
      const pauseMs = LEASE_MS * (1.5 + rnd() * 1.5);
      const candidates = slots.filter((s) => s.up && !s.paused);
      if (candidates.length < 2) {
        progress(
          `only ${candidates.length} serve(s) up: ${slots.map((x) => `${x.name}${x.gen} up=${x.up} paused=${x.paused} exit=${x.serve?.child.exitCode}`).join(' ')}`,
        );
        continue;
      }
      // Mostly a process with a driver call in flight (the one driving a rollout), else any.
      const busy = candidates.filter((c) =>
        Object.values(fleets).some((f) => f.calls.some((x) => !x.outcome && x.by === `${c.name}${c.gen}`)),
      );
      const from = busy.length > 0 && rnd() < 0.7 ? busy : candidates;
      const s = from[Math.floor(pick * from.length)];
      const child = s.serve!.child;
      if (kill) {
        child.kill('SIGKILL');
        if (busy.includes(s)) midCall++;
        await s.serve!.exited;
        disruptions.push(`kill ${s.name}${s.gen}`);
        progress(disruptions.at(-1)!);
        launch(s);
      } else {
        child.kill('SIGSTOP');
        s.paused = true;
        if (busy.includes(s)) midCall++;
        disruptions.push(`pause ${s.name}${s.gen} ${Math.round(pauseMs)}ms`);
        progress(disruptions.at(-1)!);
        resumes.push(
          new Promise<void>((r) =>
            setTimeout(() => {
              child.kill('SIGCONT');
              s.paused = false;
              r();
            }, pauseMs),
          ),
        );
      }
    }
    disrupting = false;
    await lanes;
    await Promise.all(resumes);
    process.stdout.write(
      `# ${disruptions.length} disruptions (${midCall} of a process with a driver call in flight): ${disruptions.join(', ')}\n`,
    );
    assert.ok(disruptions.length >= DISRUPTIONS);
    assert.ok(
      disruptions.filter((d) => d.startsWith('kill')).length >= MIX && disruptions.filter((d) => d.startsWith('pause')).length >= MIX,
    );
    for (const s of slots) {
      s.serve!.child.kill('SIGTERM');
      await s.serve!.exited;
    }

    // --- From the driver's own log. ---
    const why = (c: DriverCallLog) => `${c.action} ${c.key} by ${c.by} token ${c.token} at ${c.arrived}..${c.finished} ${c.outcome}`;
    for (const service of SERVICES) {
      const calls = fleets[service].calls;
      assert.ok(
        calls.every((c) => c.outcome),
        `seed ${SEED}: every call answered or given up: ${calls
          .filter((c) => !c.outcome)
          .map(why)
          .join('; ')}`,
      );
      const byKey = groupBy(calls, (c) => c.key);
      for (const [key, cs] of byKey) {
        // No key in flight in two processes (or twice in one) at once.
        for (let i = 1; i < cs.length; i++)
          for (let j = 0; j < i; j++)
            assert.ok(cs[i].arrived >= cs[j].finished!, `seed ${SEED}: ${key} in flight twice at once: ${why(cs[j])} / ${why(cs[i])}`);
      }
      // A call is never made under a lease token older than one already seen for its rollout.
      for (const [rollout, cs] of groupBy(calls, (c) => c.key.split(':')[0])) {
        let top = 0;
        for (const c of cs) {
          assert.ok(
            c.token !== null && c.token >= top,
            `seed ${SEED}: ${rollout}: a call under an older token: ${why(c)} after token ${top}`,
          );
          top = Math.max(top, c.token);
        }
      }
      // No step applied twice: one effective call per rollout, target and step.
      for (const [step, cs] of groupBy(
        calls.filter((c) => c.outcome === 'applied'),
        (c) => c.key.split(':').slice(0, 3).join(':'),
      ))
        assert.equal(cs.length, 1, `seed ${SEED}: ${step} applied ${cs.length} times: ${cs.map(why).join('; ')}`);
      // I2 for every action: never a call in flight on a region and its partner at once.
      const changing = calls.filter((c) => c.outcome !== 'repeat');
      for (const [a, b] of PAIRS)
        for (const x of changing.filter((c) => c.target.startsWith(`${a}/`)))
          for (const y of changing.filter((c) => c.target.startsWith(`${b}/`)))
            assert.ok(x.finished! <= y.arrived || y.finished! <= x.arrived, `seed ${SEED}: I2: ${why(x)} overlaps ${why(y)}`);
    }

    // Per rollout: no wave skipped, waves in order, nothing applied after it ended, I2's order for deploys.
    assert.ok(done.length >= SERVICES.length * ROLLOUTS_PER_SERVICE);
    for (const r of done) {
      const calls = fleets[r.service as (typeof SERVICES)[number]].calls.filter((c) => c.key.startsWith(`${r.id}:`));
      const deploys = calls.filter((c) => c.action === 'deploy');
      const waveOf = (target: string) => r.state.waves.find((w) => w.targets.includes(target))!.index;
      const touched = [...new Set(deploys.map((c) => waveOf(c.target)))].sort((x, y) => x - y);
      assert.deepEqual(
        touched,
        r.state.waves.map((w) => w.index).slice(0, touched.length),
        `seed ${SEED}: ${r.id}: the waves deployed are a prefix of the plan`,
      );
      if (r.phase === 'completed') assert.equal(touched.length, r.state.waves.length, `seed ${SEED}: ${r.id}: every wave deployed`);
      for (let k = 1; k < touched.length; k++) {
        const prev = deploys.filter((c) => waveOf(c.target) === touched[k - 1]);
        const targetsPrev = ids.filter((t) => waveOf(t) === touched[k - 1]);
        assert.deepEqual(
          [...new Set(prev.filter((c) => c.outcome !== 'cancelled').map((c) => c.target))].sort(),
          targetsPrev.sort(),
          `seed ${SEED}: ${r.id}: wave ${touched[k - 1]} fully deployed before the next`,
        );
        const lastDone = Math.max(...prev.filter((c) => c.outcome === 'applied').map((c) => c.finished!));
        const firstNext = Math.min(...deploys.filter((c) => waveOf(c.target) === touched[k]).map((c) => c.arrived));
        assert.ok(firstNext >= lastDone, `seed ${SEED}: ${r.id}: wave ${touched[k]} started before wave ${touched[k - 1]} was deployed`);
      }
      const late = calls.filter((c) => c.outcome === 'applied' && c.finished! > r.at);
      assert.deepEqual(late.map(why), [], `seed ${SEED}: ${r.id}: nothing applied after it ended`);
      // And in the store: a controller woken after its lease wrote nothing twice (each wave status once, each call's result once).
      const events = await st.listEvents({ rolloutId: r.id });
      for (const type of ['wave.deploying', 'wave.baking', 'wave.verified']) {
        const waves = events.filter((e) => e.type === type).map((e) => (e.data as { wave: number }).wave);
        assert.equal(new Set(waves).size, waves.length, `seed ${SEED}: ${r.id}: ${type} twice for one wave`);
      }
      const results = events.filter((e) => /^driver\.\w+\.(succeeded|failed)$/.test(e.type)).map((e) => (e.data as { key: string }).key);
      assert.equal(new Set(results).size, results.length, `seed ${SEED}: ${r.id}: a call's result recorded twice`);
    }
    const phases = done.map((r) => r.phase);
    process.stdout.write(
      `# ${done.length} rollouts: ${phases.filter((p) => p === 'completed').length} completed, ${phases.filter((p) => p === 'rolled_back').length} rolled back; ` +
        `${SERVICES.map((s) => fleets[s].calls.length).reduce((a, b) => a + b)} driver calls, ` +
        `${SERVICES.map((s) => fleets[s].calls.filter((c) => c.outcome === 'repeat').length).reduce((a, b) => a + b)} repeats answered as done\n`,
    );
    assert.ok(phases.filter((p) => p === 'completed').length >= 1, `seed ${SEED}: at least one rollout completed`);
  },
);
