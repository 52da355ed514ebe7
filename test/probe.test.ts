// HTTP probes and the prober against real loopback servers: healthy, failing, refusing, and one that never
// answers (a hang must be recorded as a timeout, within the timeout and a little slack).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from './helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock, VirtualClock } from '../src/core/clock.js';
import { isEtapeError } from '../src/core/errors.js';
import type { Observation, Target } from '../src/core/types.js';
import { probeSchema, serviceSchema, type ProbeConfig } from '../src/config/service.js';
import { fleetSchema } from '../src/config/fleet.js';
import { expandTemplate, runProbe, targetVars } from '../src/evidence/probe.js';
import { defaultOverlap, Prober, probeChecks } from '../src/evidence/prober.js';
import { probeGate } from '../src/gates/probe-gate.js';
import { SqliteStore } from '../src/store/sqlite.js';

interface Loopback {
  server: Server;
  port: number;
  hits: number;
}

const servers: Server[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<Loopback> {
  const lb = { hits: 0 } as Loopback;
  const server = createServer((req, res) => {
    lb.hits++;
    handler!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  lb.server = server;
  lb.port = (server.address() as AddressInfo).port;
  servers.push(server);
  return lb;
}

const target: Target = { service: 'blob', region: 'eu-west', cell: 'c1' };
const probe = (over: Partial<Record<keyof ProbeConfig, unknown>> = {}): ProbeConfig =>
  probeSchema.parse({ name: 'health', url: 'http://127.0.0.1:{port}/health/{region}/{cell}', ...over });

let good: Loopback;
let hang: Loopback;
let slowBody: Loopback;
let dir = '';

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etape-probe-'));
  good = await serve((req, res) => {
    if (req.url?.startsWith('/health/')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-version': '2.0.0' }).end(`ok ${req.url} status=green`);
    } else if (req.url === '/broken') res.writeHead(503).end('overloaded');
    else if (req.url === '/created') res.writeHead(201).end('made');
    else res.writeHead(404).end();
  });
  // accepts the connection, reads the request, never answers: what a hung front-end looks like
  hang = await serve(() => {});
  // answers the headers, then never finishes the body
  slowBody = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
  });
});

after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('expandTemplate and targetVars', () => {
  it('fills region, cell, service and fleet vars; an unknown name is a config error', () => {
    const fleet = fleetSchema.parse({
      regions: [
        { id: 'eu-west', geography: 'eu', vars: { host: 'eu.example.test', port: 80 }, cells: [{ id: 'c1', vars: { port: 7101 } }] },
      ],
    });
    const vars = targetVars(fleet, target);
    assert.deepEqual(vars, { host: 'eu.example.test', port: 7101, service: 'blob', region: 'eu-west', cell: 'c1' });
    assert.equal(expandTemplate('http://{host}:{port}/{service}/{region}/{cell}', vars), 'http://eu.example.test:7101/blob/eu-west/c1');
    assert.throws(
      () => expandTemplate('http://{nope}/', vars),
      (e: unknown) => isEtapeError(e) && e.code === 'config.invalid' && /\{nope\}/.test(e.message),
    );
  });
});

describe('runProbe', () => {
  it('passes on the expected status, records latency and the version header', async () => {
    const o = await runProbe(probe({ bodyMatch: 'status=green' }), target, { port: good.port }, systemClock);
    assert.equal(o.verdict, 'pass', o.detail);
    assert.equal(o.detail, 'HTTP 200');
    assert.equal(o.source, 'health');
    assert.equal(o.version, '2.0.0');
    assert.equal(o.cell, 'c1');
    assert.ok(typeof o.latencyMs === 'number' && o.latencyMs >= 0);
  });

  it('uses the clock for `at`', async () => {
    const clock = new VirtualClock(Date.UTC(2030, 0, 1));
    const o = await runProbe(probe(), target, { port: good.port }, clock);
    assert.equal(o.at, Date.UTC(2030, 0, 1));
  });

  it('fails on an unexpected status, and accepts a list of statuses', async () => {
    const broken = await runProbe(probe({ url: 'http://127.0.0.1:{port}/broken' }), target, { port: good.port }, systemClock);
    assert.equal(broken.verdict, 'fail');
    assert.equal(broken.detail, 'HTTP 503 (expected 200)');
    const created = await runProbe(
      probe({ url: 'http://127.0.0.1:{port}/created', expectStatus: [200, 201] }),
      target,
      { port: good.port },
      systemClock,
    );
    assert.equal(created.verdict, 'pass');
    const headOk = await runProbe(probe({ method: 'HEAD' }), target, { port: good.port }, systemClock);
    assert.equal(headOk.verdict, 'pass', headOk.detail);
  });

  it('matches the body by substring or /regex/', async () => {
    const vars = { port: good.port };
    assert.equal((await runProbe(probe({ bodyMatch: '/status=(green|amber)$/' }), target, vars, systemClock)).verdict, 'pass');
    const miss = await runProbe(probe({ bodyMatch: 'status=red' }), target, vars, systemClock);
    assert.equal(miss.verdict, 'fail');
    assert.match(miss.detail ?? '', /body does not match status=red/);
    assert.equal((await runProbe(probe({ bodyMatch: '/STATUS=GREEN/i' }), target, vars, systemClock)).verdict, 'pass');
  });

  it('a target that never answers is a timeout: verdict fail, latency = timeout, marked timedOut', async () => {
    const o = await runProbe(probe({ timeout: '300ms' }), target, { port: hang.port }, systemClock);
    assert.equal(o.verdict, 'fail');
    assert.equal(o.detail, 'timeout after 300ms');
    assert.equal(o.latencyMs, 300);
    assert.equal(o.timedOut, true);
  });

  it('an answer that arrived while this process was stalled is read, not called a timeout', async () => {
    // The server answers at once, then blocks this process's event loop for twice the probe's timeout: the
    // answer waits on the socket while the timeout timer falls due. The stall is the controller's, not the target's.
    const stalls = await serve((_req, res) => {
      res.setHeader('x-version', '2.0.0');
      res.end('ok', () => {
        const until = Date.now() + 400;
        while (Date.now() < until) {
          // busy: nothing else in this process runs
        }
      });
    });
    const o = await runProbe(probe({ timeout: '200ms' }), target, { port: stalls.port }, systemClock);
    assert.equal(o.verdict, 'pass', o.detail);
    assert.equal(o.version, '2.0.0');
  });

  it('headers then a body that never ends is a timeout too', async () => {
    const o = await runProbe(probe({ timeout: '300ms' }), target, { port: slowBody.port }, systemClock);
    assert.equal(o.verdict, 'fail');
    assert.equal(o.detail, 'timeout after 300ms');
    assert.equal(o.timedOut, true);
  });

  it('a refused connection means the target is down: fail, but not a timeout', async () => {
    const o = await runProbe(probe(), target, { port: await freePort() }, systemClock);
    assert.equal(o.verdict, 'fail');
    assert.equal(o.detail, 'connection refused');
    assert.equal(o.timedOut, undefined);
  });

  it('what we cannot measure is error, not fail', async () => {
    const missingVar = await runProbe(probe({ url: 'http://127.0.0.1:{nope}/' }), target, {}, systemClock);
    assert.equal(missingVar.verdict, 'error');
    assert.match(missingVar.detail ?? '', /\{nope\}/);
    const badUrl = await runProbe(probe({ url: 'not a url {region}' }), target, {}, systemClock);
    assert.equal(badUrl.verdict, 'error');
    assert.match(badUrl.detail ?? '', /bad URL/);
    const scheme = await runProbe(probe({ url: 'ftp://127.0.0.1/' }), target, {}, systemClock);
    assert.equal(scheme.verdict, 'error');
    const badRegex = await runProbe(probe({ bodyMatch: '/(/' }), target, { port: good.port }, systemClock);
    assert.equal(badRegex.verdict, 'error');
  });

  it('an aborted probe is error "probe aborted"', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const o = await runProbe(probe({ timeout: '5s' }), target, { port: hang.port }, systemClock, { signal: ac.signal });
    assert.equal(o.verdict, 'error');
    assert.equal(o.detail, 'probe aborted');
  });
});

describe('Prober', () => {
  it('probes each target on its interval and stores the observations in batches', async () => {
    const store = new SqliteStore(join(dir, 'prober.db'));
    await store.migrate();
    const fleet = fleetSchema.parse({
      regions: [
        {
          id: 'eu-west',
          geography: 'eu',
          cells: [
            { id: 'c1', vars: { port: good.port } },
            { id: 'c2', vars: { port: hang.port } },
          ],
        },
      ],
    });
    const svc = serviceSchema.parse({
      name: 'blob',
      probes: [{ name: 'health', url: 'http://127.0.0.1:{port}/health/{region}/{cell}', interval: '250ms', timeout: '300ms' }],
    });
    const checks = probeChecks({ fleet, services: [svc] });
    assert.equal(checks.length, 2);
    const seen: Observation[] = [];
    const prober = new Prober({
      store,
      checks,
      batchSize: 3,
      flushEveryMs: 100,
      onObservation: (o) => seen.push(o),
    });
    prober.start();
    await waitFor('three observations of the hung target', () => seen.filter((o) => o.cell === 'c2').length >= 3);
    await prober.stop();

    const stored = await store.queryObservations({ service: 'blob' });
    assert.equal(stored.length, seen.length, 'after stop every measured observation is stored');
    assert.equal(prober.stats.stored, seen.length);
    const c1 = stored.filter((o) => o.cell === 'c1');
    const c2 = stored.filter((o) => o.cell === 'c2');
    assert.ok(c1.length >= 3);
    assert.ok(c1.every((o) => o.verdict === 'pass' && o.version === '2.0.0'));
    assert.ok(c2.every((o) => o.verdict === 'fail' && o.detail === 'timeout after 300ms' && o.latencyMs === 300 && o.timedOut === true));
    // timedOut survives the store
    assert.ok(c1.every((o) => o.timedOut === undefined));
    await store.close();
  });

  it('stop waits for a probe in flight and stores its result', async () => {
    const got: Observation[] = [];
    const store = { recordObservations: async (o: Observation[]) => void got.push(...o) };
    const hitsBefore = hang.hits;
    const prober = new Prober({
      store,
      checks: [{ target, probe: probe({ timeout: '400ms', interval: '1h' }), vars: { port: hang.port } }],
    });
    prober.start();
    await waitFor('the probe to reach the hung target', () => hang.hits > hitsBefore);
    await prober.stop();
    assert.equal(got.length, 1);
    assert.equal(got[0].detail, 'timeout after 400ms');
  });

  it('follows the injected clock: one run per interval as time advances', async () => {
    const clock = new VirtualClock();
    const t0 = clock.now();
    const got: Observation[] = [];
    const prober = new Prober({
      store: { recordObservations: async () => {} },
      clock,
      flushEveryMs: 3_600_000, // out of the way: the only wake in the first minute is the probe's
      checks: [{ target, probe: probe({ interval: '10s' }), vars: { port: good.port } }],
      onObservation: (o) => got.push(o),
    });
    prober.start();
    for (let i = 1; i <= 4; i++) {
      await waitFor(`run ${i}`, () => got.length === i);
      // the probe loop goes back to sleep until its next interval; no run happens before time moves
      await waitFor(`the probe to sleep until +${i * 10}s`, () => clock.nextWake() === t0 + i * 10_000);
      assert.equal(got.length, i);
      clock.set(t0 + i * 10_000);
    }
    await waitFor('run 5', () => got.length === 5);
    assert.deepEqual(
      got.map((o) => o.at - t0),
      [0, 10_000, 20_000, 30_000, 40_000],
    );
    await prober.stop();
  });

  it('setChecks starts new checks, stops removed ones, and leaves unchanged ones on their schedule', async () => {
    const clock = new VirtualClock();
    const t0 = clock.now();
    const got: Observation[] = [];
    const check = (cell: string) => ({ target: { ...target, cell }, probe: probe({ interval: '10s' }), vars: { port: good.port } });
    const prober = new Prober({
      store: { recordObservations: async () => {} },
      clock,
      flushEveryMs: 3_600_000,
      checks: [check('c1'), check('c2')],
      onObservation: (o) => got.push(o),
    });
    prober.start();
    await waitFor('first runs', () => got.length === 2);
    prober.setChecks([check('c1'), check('c3')]); // c1 rebuilt but unchanged, c2 removed, c3 new
    await waitFor('the new check runs at once', () => got.length === 3);
    assert.equal(got[2].cell, 'c3');
    await waitFor('sleeping until the next interval', () => clock.nextWake() === t0 + 10_000);
    clock.set(t0 + 10_000);
    await waitFor('c1 and c3 run again', () => got.length === 5);
    assert.deepEqual(
      got
        .slice(3)
        .map((o) => o.cell)
        .sort(),
      ['c1', 'c3'],
      'c1 kept its schedule (no extra run), c2 stopped',
    );
    await prober.stop();
  });

  it('keeps observations while the store is down and writes them when it is back', async () => {
    let down = true;
    const stored: Observation[] = [];
    const store = {
      recordObservations: async (o: Observation[]) => {
        if (down) throw new Error('database is locked');
        stored.push(...o);
      },
    };
    const prober = new Prober({ store, checks: [{ target, probe: probe(), vars: { port: good.port } }] });
    const first = await prober.runOnce();
    assert.equal(first.length, 1);
    assert.equal(stored.length, 0);
    assert.equal(prober.stats.storeErrors, 1);
    down = false;
    await prober.runOnce();
    assert.equal(stored.length, 2);
  });
});

/**
 * A server that holds every request open until `release()` answers them all, and counts the requests it
 * holds at once: a hung target that the test can end when it is done looking.
 */
async function holding(): Promise<Loopback & { open: number; peak: number; release(): void }> {
  const held = new Set<import('node:http').ServerResponse>();
  const lb = (await serve((req, res) => {
    lb.open++;
    lb.peak = Math.max(lb.peak, lb.open);
    held.add(res);
    req.socket.once('close', () => {
      lb.open--;
      held.delete(res);
    });
  })) as Loopback & { open: number; peak: number; release(): void };
  lb.open = 0;
  lb.peak = 0;
  lb.release = () => {
    for (const res of held) res.writeHead(200).end('late');
    held.clear();
  };
  return lb;
}

// These run on a virtual clock: the schedule is the prober's, the probes are real requests to a target that
// does not answer until the test lets it. What is asserted is when probes start, not how fast a machine is.
describe('Prober overlap: a probe starts every interval, not after the one before answers', () => {
  it('a hung target with interval < timeout gets a new probe every interval, up to the overlap', async () => {
    const srv = await holding();
    const clock = new VirtualClock();
    const t0 = clock.now();
    const got: Observation[] = [];
    const p = probe({ interval: '10s', timeout: '30s' });
    assert.equal(defaultOverlap(p), 4);
    const prober = new Prober({
      store: { recordObservations: async () => {} },
      clock,
      flushEveryMs: 3_600_000,
      checks: [{ target, probe: p, vars: { port: srv.port } }],
      onObservation: (o) => got.push(o),
    });
    prober.start();
    // Serial probing would wait for the first answer (30s of timeout); on schedule a new one starts each 10s.
    for (let i = 1; i <= 4; i++) {
      await waitFor(`${i} probe(s) held by the target`, () => srv.open === i);
      await waitFor(`the schedule to sleep until +${i * 10}s`, () => clock.nextWake() === t0 + i * 10_000);
      clock.set(t0 + i * 10_000);
    }
    // The overlap (4) is reached: the tick at +40s finds four in flight and is skipped.
    await waitFor('the tick at +40s to be skipped', () => prober.stats.skipped === 1);
    assert.equal(srv.open, 4);
    assert.equal(prober.stats.peakInFlight, 4);
    assert.equal(got.length, 0);
    srv.release();
    await waitFor('the four answers', () => got.length === 4);
    assert.deepEqual(
      got.map((o) => o.at - t0).sort((a, b) => a - b),
      [0, 10_000, 20_000, 30_000],
    );
    await prober.stop();
    assert.equal(srv.peak, 4);
    assert.equal(prober.stats.measured, got.length);
  });

  it('maxOverlap 1 probes one at a time: ticks that find a probe in flight are skipped', async () => {
    const srv = await holding();
    const clock = new VirtualClock();
    const t0 = clock.now();
    const got: Observation[] = [];
    const prober = new Prober({
      store: { recordObservations: async () => {} },
      clock,
      flushEveryMs: 3_600_000,
      maxOverlap: 1,
      checks: [{ target, probe: probe({ interval: '10s', timeout: '30s' }), vars: { port: srv.port } }],
      onObservation: (o) => got.push(o),
    });
    prober.start();
    await waitFor('the first probe at the target', () => srv.open === 1);
    for (let i = 1; i <= 2; i++) {
      await waitFor(`the schedule to sleep until +${i * 10}s`, () => clock.nextWake() === t0 + i * 10_000);
      clock.set(t0 + i * 10_000);
      await waitFor(`tick ${i} to be skipped`, () => prober.stats.skipped === i);
    }
    assert.equal(srv.open, 1);
    srv.release();
    await waitFor('the first answer', () => got.length === 1);
    await waitFor('the schedule to sleep until +30s', () => clock.nextWake() === t0 + 30_000);
    clock.set(t0 + 30_000);
    await waitFor('the next probe, on the next tick', () => srv.open === 1 && srv.hits === 2);
    srv.release();
    await waitFor('the second answer', () => got.length === 2);
    await prober.stop();
    assert.deepEqual(
      got.map((o) => o.at - t0),
      [0, 30_000],
    );
    assert.equal(srv.peak, 1);
  });

  it('maxConcurrent caps the probes in flight over all checks', async () => {
    const srv = await holding();
    const clock = new VirtualClock();
    const got: Observation[] = [];
    const check = (cell: string) => ({
      target: { ...target, cell },
      probe: probe({ interval: '10s', timeout: '30s' }),
      vars: { port: srv.port },
    });
    const prober = new Prober({
      store: { recordObservations: async () => {} },
      clock,
      flushEveryMs: 3_600_000,
      maxConcurrent: 2,
      checks: [check('c1'), check('c2'), check('c3')],
      onObservation: (o) => got.push(o),
    });
    prober.start();
    await waitFor('two probes at the target', () => srv.open === 2);
    assert.equal(prober.stats.peakInFlight, 2);
    assert.equal(got.length, 0);
    // the third check waits for a slot, and gets it when the two in flight answer
    srv.release();
    await waitFor('the first two answers', () => got.length === 2);
    await waitFor('the third check at the target', () => srv.open === 1 && srv.hits === 3);
    srv.release();
    await waitFor('every check measured', () => got.length === 3);
    await prober.stop();
    assert.deepEqual(got.map((o) => o.cell).sort(), ['c1', 'c2', 'c3']);
    assert.equal(srv.peak, 2);
    assert.equal(prober.stats.peakInFlight, 2);
  });

  it('stop waits for every overlapping probe in flight and stores them all', async () => {
    const srv = await hangCounting();
    const clock = new VirtualClock();
    const t0 = clock.now();
    const stored: Observation[] = [];
    const prober = new Prober({
      store: { recordObservations: async (o: Observation[]) => void stored.push(...o) },
      clock,
      flushEveryMs: 3_600_000,
      checks: [{ target, probe: probe({ interval: '200ms', timeout: '800ms', confirm: 0 }), vars: { port: srv.port } }],
    });
    prober.start();
    for (let i = 1; i <= 2; i++) {
      await waitFor(`the schedule to sleep until +${i * 200}ms`, () => clock.nextWake() === t0 + i * 200);
      clock.set(t0 + i * 200);
    }
    await waitFor('three probes started', () => srv.hits >= 3);
    await prober.stop();
    assert.equal(stored.length, 3);
    assert.equal(stored.length, prober.stats.measured);
    assert.ok(stored.every((o) => o.detail === 'timeout after 800ms' && o.timedOut === true));
    await waitFor('the hung connections to close', () => srv.open === 0);
  });
});

/** A server that never answers and counts the requests it holds open at once. */
async function hangCounting(): Promise<Loopback & { open: number }> {
  const lb = (await serve((req) => {
    lb.open++;
    req.socket.once('close', () => lb.open--);
  })) as Loopback & { open: number };
  lb.open = 0;
  return lb;
}

describe('probe gate: results that arrive out of order are read in the order the probes started', () => {
  const svc = serviceSchema.parse({
    name: 'blob',
    probes: [{ name: 'health', url: 'http://127.0.0.1:1/health', interval: '500ms', timeout: '1s' }],
    gates: [{ kind: 'probe', name: 'healthy', probe: 'health', failAfter: 3 }],
  });
  const spec = probeGate.compile(svc.gates[0], svc);
  const t0 = Date.UTC(2030, 0, 1);
  const obs = (dt: number, verdict: 'pass' | 'fail'): Observation => ({
    service: 'blob',
    region: 'eu-west',
    cell: 'c1',
    source: 'health',
    at: t0 + dt,
    verdict,
    ...(verdict === 'fail' ? { detail: 'timeout after 1s', latencyMs: 1000, timedOut: true } : { detail: 'HTTP 200', latencyMs: 900 }),
  });
  const judge = (arrivals: Observation[], now: number) =>
    probeGate.evaluate({
      spec,
      targets: [{ id: 'eu-west/c1', region: 'eu-west', cell: 'c1', since: t0 - 10_000 }],
      observations: arrivals,
      now: t0 + now,
    });

  it('a late success from an earlier probe does not mask later timeouts', () => {
    // the probe started at 0 answered slowly (arrives last); those started at 500, 1000, 1500 timed out
    const r = judge([obs(500, 'fail'), obs(1000, 'fail'), obs(1500, 'fail'), obs(0, 'pass')], 2500);
    assert.equal(r.verdict, 'fail', r.reason);
    assert.equal(r.targets[0].hung, true);
    assert.match(r.reason, /3 consecutive failures/);
  });

  it('late timeouts from earlier probes do not mask a later success', () => {
    // probes at 0, 500, 1000 timed out and arrive after the one started at 1500, which passed
    const r = judge([obs(1500, 'pass'), obs(0, 'fail'), obs(500, 'fail'), obs(1000, 'fail')], 2000);
    assert.equal(r.verdict, 'pass', r.reason);
  });

  it('a success between timeouts breaks the run of consecutive failures, wherever it arrives', () => {
    const r = judge([obs(0, 'fail'), obs(1000, 'fail'), obs(1500, 'fail'), obs(500, 'pass')], 2500);
    assert.notEqual(r.verdict, 'fail', `only 2 consecutive failures after the pass at 500: ${r.reason}`);
    const more = judge([obs(0, 'fail'), obs(1000, 'fail'), obs(1500, 'fail'), obs(500, 'pass'), obs(2000, 'fail')], 3000);
    assert.equal(more.verdict, 'fail', more.reason);
  });
});
