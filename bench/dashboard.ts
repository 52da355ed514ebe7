// Dashboard render cost as the store grows: ROLLOUTS rollouts of 10 targets each (1 000 and 10 000 targets
// by default) in a SQLite file, with their events and a rollout's probe evidence. Prints, for the rollouts
// view (first page and a deep page) and for one rollout, the server's time to the complete HTML and the
// bytes sent; then, in Chromium when it is installed, the time to first contentful paint over loopback.
// Figures only; no assertions.
//   npm run bench:dashboard                 (ROLLOUTS=1000 by default; SIZES=100,1000,5000 to compare sizes)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { configSchema } from '../src/config/schema.js';
import type { Observation } from '../src/core/types.js';
import { planRollout } from '../src/config/plan.js';
import { newRolloutState, type RolloutState } from '../src/rollout/state.js';
import { compileGate } from '../src/gates/index.js';
import { openStore } from '../src/store/open.js';
import type { NewEvent } from '../src/store/store.js';
import { createApi } from '../src/api/app.js';
import { extraRoutes } from '../src/api/routes.js';
import { serveApi } from '../src/api/server.js';
import { VirtualClock } from '../src/core/clock.js';

const SIZES = (process.env.SIZES ?? process.env.ROLLOUTS ?? '1000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 30);
const TOKEN = 'bench-operator-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';

const config = configSchema.parse({
  fleet: {
    regions: Array.from({ length: 5 }, (_, i) => ({
      id: `region-${i}`,
      geography: i % 2 ? 'europe' : 'americas',
      canary: i === 0,
      pair: i % 2 === 1 && i + 1 < 5 ? `region-${i + 1}` : undefined,
      cells: [{ id: 'cell-1' }, { id: 'cell-2' }],
    })),
  },
  services: Array.from({ length: 10 }, (_, i) => ({
    name: `svc-${i}`,
    initialVersion: 'v0',
    driver: { kind: 'exec', deploy: 'true' },
    probes: [{ name: 'http', url: 'http://127.0.0.1:9/health', interval: '10s' }],
    gates: [{ kind: 'probe', name: 'health', probe: 'http' }],
  })),
  server: { tokens: [{ name: 'bench', role: 'operator', token: TOKEN }] },
});

const T0 = Date.parse('2026-11-01T00:00:00Z');
const PHASE_MIX = ['completed', 'completed', 'completed', 'rolled_back', 'completed', 'completed', 'failed', 'completed'];

async function fill(url: string, n: number) {
  const store = await openStore(url);
  let targets = 0;
  let events = 0;
  let detailId = '';
  for (let i = 0; i < n; i++) {
    const service = `svc-${i % 10}`;
    const svc = config.services.find((s) => s.name === service)!;
    const at = T0 + i * 60_000;
    const id = `${service}-${String(i).padStart(6, '0')}`;
    const state: RolloutState = newRolloutState({
      id,
      plan: planRollout(config, service),
      version: `v${i + 1}`,
      fromVersion: `v${i}`,
      gates: svc.gates.map((g) => compileGate(g, svc)),
      createdAt: at,
      createdBy: 'api:bench',
    });
    // The newest rollout of the first services is still running; the rest ended one way or another.
    const active = i >= n - 10;
    const phase = active ? 'running' : PHASE_MIX[i % PHASE_MIX.length];
    state.phase = phase as RolloutState['phase'];
    for (const w of state.waves) {
      w.status = active && w.index > 1 ? 'waiting' : 'verified';
      w.startedAt = at + w.index * 1000;
      w.bakeAccruedMs = w.status === 'verified' ? w.bakeMs : 0;
      w.verdicts = [{ gate: 'health', kind: 'probe', verdict: 'pass', reason: 'all targets passing', at: at + w.index * 1000 }];
    }
    if (active) state.waves[0].status = 'baking';
    for (const t of Object.values(state.targets)) t.status = phase === 'rolled_back' ? 'rolled_back' : 'deployed';
    targets += Object.keys(state.targets).length;
    const evs: NewEvent[] = [{ rolloutId: id, at, actor: 'api:bench', type: 'rollout.created', data: { service } }];
    for (const w of state.waves) {
      evs.push({ rolloutId: id, at: at + w.index, actor: 'controller', type: 'wave.deploying', data: { wave: w.index } });
      for (const tid of w.targets)
        evs.push({ rolloutId: id, at: at + w.index, actor: 'controller', type: 'target.deployed', data: { target: tid } });
    }
    events += evs.length;
    await store.createRollout({ id, service, version: state.version, phase, state, createdAt: at, updatedAt: at + 5000 }, evs);
    if (i === n - 1) detailId = id;
  }
  // The newest rollout's evidence: a probe every second per target for 4 minutes (the page charts the wave in progress).
  const detail = (await store.getRollout(detailId))!;
  const ds = detail.state as RolloutState;
  const obs: Observation[] = [];
  for (const tid of Object.keys(ds.targets)) {
    const [region, cell] = tid.split('/');
    for (let k = 0; k < 240; k++) {
      obs.push({
        service: ds.service,
        region,
        cell,
        source: 'http',
        at: ds.waves[0].startedAt! + k * 1000,
        verdict: 'pass',
        latencyMs: 20 + (k % 7),
        version: ds.version,
      });
    }
  }
  await store.recordObservations(obs);
  return { store, targets, events, detailId, observations: obs.length };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  console.log(`bench:dashboard on ${cpus().length} cores (load ${loadavg()[0].toFixed(2)}), ${RUNS} runs per figure, median`);
  for (const n of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'etape-bench-dash-'));
    const t = performance.now();
    const { store, targets, events, detailId, observations } = await fill(join(dir, 'etape.db'), n);
    console.log(
      `\n${n} rollouts, ${targets} targets, ${events} events, ${observations} observations in SQLite (filled in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
    );
    const clock = new VirtualClock(T0 + n * 60_000 + 240_000);
    const app = createApi({ store, config, clock, routes: extraRoutes });
    const signin = await app.request('/ui/signin', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost', host: 'localhost' },
      body: `token=${TOKEN}`,
    });
    const cookie = signin.headers.get('set-cookie')!.split(';')[0];
    // A deep page: follow the cursor 10 pages in.
    let deep = '/ui/rollouts';
    for (let p = 0; p < 10; p++) {
      const html = await (await app.request(deep, { headers: { cookie } })).text();
      const m = /href="(\/ui\/rollouts\?before=[^"]+)" rel="next"/.exec(html);
      if (!m) break;
      deep = m[1].replace(/&amp;/g, '&');
    }
    const views: [string, string][] = [
      ['rollouts view, first page', '/ui/rollouts'],
      ['rollouts view, page 11', deep],
      ['rollouts view, filtered (svc-3, completed)', '/ui/rollouts?service=svc-3&phase=completed'],
      [`one rollout (10 targets, ${observations} probe results)`, `/ui/rollouts/${detailId}`],
      ['fleet grid (10 services x 5 regions)', '/ui/fleet'],
    ];
    console.log('view                                             server ms   bytes     gzip bytes');
    for (const [name, path] of views) {
      const times: number[] = [];
      let bytes = 0;
      let gz = 0;
      for (let r = 0; r < RUNS; r++) {
        const s = performance.now();
        const res = await app.request(path, { headers: { cookie } });
        const body = new Uint8Array(await res.arrayBuffer());
        times.push(performance.now() - s);
        if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
        bytes = body.byteLength;
        gz = gzipSync(body).byteLength;
      }
      console.log(`${name.padEnd(48)} ${median(times).toFixed(1).padStart(9)}   ${String(bytes).padStart(7)}   ${String(gz).padStart(7)}`);
    }
    if (existsSync(CHROMIUM) && n === SIZES[SIZES.length - 1]) await browserFigures(app, cookie, detailId);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nreproduce: npm run bench:dashboard   (SIZES=100,1000,5000 for a size sweep)');
}

async function browserFigures(app: ReturnType<typeof createApi>, cookie: string, detailId: string) {
  const { chromium } = await import('playwright-core');
  const server = await serveApi(app, '127.0.0.1:0');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const [name, value] = cookie.split('=');
    await ctx.addCookies([{ name, value, url: `${server.url}/ui/`, httpOnly: true, sameSite: 'Strict' }]);
    console.log('\nin Chromium over loopback (cold cache, a new page each run)        first paint ms   all bytes (html + assets)');
    for (const [label, path] of [
      ['rollouts view', '/ui/rollouts'],
      ['one rollout', `/ui/rollouts/${encodeURIComponent(detailId)}`],
    ] as const) {
      const fcp: number[] = [];
      let total = 0;
      for (let r = 0; r < 5; r++) {
        const page = await ctx.newPage();
        const cdp = await ctx.newCDPSession(page);
        await cdp.send('Network.enable');
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        let bytes = 0;
        cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => (bytes += e.encodedDataLength));
        await page.goto(server.url + path, { waitUntil: 'load' });
        const v = (await page.evaluate(
          "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? performance.getEntriesByType('paint')[0]?.startTime ?? -1",
        )) as number;
        fcp.push(v);
        total = bytes;
        await page.close();
      }
      console.log(`${label.padEnd(66)} ${median(fcp).toFixed(0).padStart(14)}   ${String(total).padStart(9)}`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
