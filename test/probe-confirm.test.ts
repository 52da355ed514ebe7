// A failed probe is confirmed at once by follow-up probes, against real loopback targets: one failure
// among passes does not fail the gate, and a hang is confirmed long before the next regular probe.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Observation, Target } from '../src/core/types.js';
import { probeSchema, serviceSchema } from '../src/config/service.js';
import { Prober } from '../src/evidence/prober.js';
import { probeGate } from '../src/gates/probe-gate.js';
import { listen, waitFor } from './helpers.js';

const servers: Server[] = [];
after(() => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  return listen(s);
}

const target: Target = { service: 'blob', region: 'r1', cell: 'c1' };
// One regular probe an hour: whatever else is measured within the test is a follow-up.
const probeOf = (timeout: string) =>
  probeSchema.parse({ name: 'health', url: 'http://127.0.0.1:{port}/', interval: '1h', timeout, confirm: 2, confirmEvery: '50ms' });
const gateOf = (p: ReturnType<typeof probeOf>) => {
  const svc = serviceSchema.parse({
    name: 'blob',
    probes: [p],
    gates: [{ kind: 'probe', name: 'healthy', probe: 'health', failAfter: 3 }],
  });
  return probeGate.compile(svc.gates[0], svc);
};
const judge = (spec: ReturnType<typeof gateOf>, obs: Observation[]) =>
  probeGate.evaluate({
    spec,
    targets: [{ id: 'r1/c1', region: 'r1', cell: 'c1', since: 0 }],
    observations: obs,
    now: Math.max(...obs.map((o) => o.at)),
  });

test('a single failed probe among passing ones is confirmed as a blip: the gate does not fail', async () => {
  let hits = 0;
  const port = await serve((_req, res) => (++hits === 1 ? res.writeHead(500).end('blip') : res.writeHead(200).end('ok')));
  const p = probeOf('2s');
  const got: Observation[] = [];
  const prober = new Prober({
    store: { recordObservations: async () => {} },
    checks: [{ target, probe: p, vars: { port } }],
    onObservation: (o) => got.push(o),
  });
  prober.start();
  await waitFor('the failure and its two follow-ups', () => got.length === 3);
  await prober.stop();
  assert.deepEqual(
    got.map((o) => o.verdict),
    ['fail', 'pass', 'pass'],
  );
  assert.equal(prober.stats.confirmations, 2);
  const r = judge(gateOf(p), got);
  assert.equal(r.verdict, 'pass', r.reason);
});

test('a hang is confirmed by the follow-ups before the next regular probe: the gate fails, the target is hung', async () => {
  const port = await serve(() => {}); // accepts, never answers
  const p = probeOf('300ms');
  const got: Observation[] = [];
  const prober = new Prober({
    store: { recordObservations: async () => {} },
    checks: [{ target, probe: p, vars: { port } }],
    onObservation: (o) => got.push(o),
  });
  const startedAt = Date.now();
  prober.start();
  await waitFor('three timeouts', () => got.length === 3);
  await prober.stop();
  assert.ok(got.every((o) => o.verdict === 'fail' && o.timedOut === true));
  // All three started within the first interval (an hour): the regular schedule alone would have one.
  assert.ok(got.every((o) => o.at - startedAt < 3_600_000));
  assert.equal(prober.stats.confirmations, 2);
  const r = judge(gateOf(p), got);
  assert.equal(r.verdict, 'fail', r.reason);
  assert.equal(r.targets[0].hung, true);
});

test('one burst per run of failures: a target that stays down is not flooded', async () => {
  const port = await serve((_req, res) => res.writeHead(503).end('down'));
  const got: Observation[] = [];
  const p = probeSchema.parse({
    name: 'health',
    url: 'http://127.0.0.1:{port}/',
    interval: '100ms',
    timeout: '1s',
    confirm: 2,
    confirmEvery: '50ms',
  });
  const prober = new Prober({
    store: { recordObservations: async () => {} },
    checks: [{ target, probe: p, vars: { port } }],
    onObservation: (o) => got.push(o),
  });
  prober.start();
  await waitFor('ten failures', () => got.length >= 10);
  await prober.stop();
  assert.equal(prober.stats.confirmations, 2, 'the follow-ups ran once, not after every failure');
});
