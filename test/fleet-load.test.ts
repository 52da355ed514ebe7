// The demo's customer traffic against a real fleet: it counts successes and timeouts per region and cell,
// stays within its bounds, and stops by itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './helpers.js';
import { Fleet, getJson, type FleetSpec } from '../src/demo/fleet.js';
import { LoadGenerator, failed } from '../src/demo/load.js';

const fleets: Fleet[] = [];
after(async () => {
  for (const f of fleets) await f.stop();
});

const spec: FleetSpec = { regions: [{ id: 'r1', geography: 'g', weight: 1, canary: false, cells: ['cell-1', 'cell-2'] }] };

test('traffic to a region with one hung cell: the hung cell times out, the other keeps serving', async () => {
  const fleet = await Fleet.start({ spec, initialVersion: 'v2', versions: { v2: { fault: 'hang' } } });
  fleets.push(fleet);
  // Hang cell-1 before the traffic starts; cell-2 is v2 too, so keep traffic off its blob path by
  // restarting it on a healthy version first.
  const r = await fleet.gracefulRestart('r1', 'cell-2', 'v1');
  assert.equal(r.ok, true, r.detail);
  await getJson(`${fleet.url('r1', 'cell-1')}/blobs/probe`, 300);
  await waitFor('cell-1 to hang', () => fleet.get('r1', 'cell-1')!.hung);

  const load = new LoadGenerator({
    targets: [{ region: 'r1', cells: ['cell-1', 'cell-2'] }],
    resolve: (reg, c) => fleet.url(reg, c),
    ratePerRegion: 40,
    timeoutMs: 300,
    maxRequests: 40,
  });
  load.start();
  await waitFor('the load to send its 40 requests and stop', () => {
    const s = load.snapshot();
    return s.sent >= 40 && s.inFlight === 0;
  });
  await load.stop();
  const s = load.snapshot();
  assert.equal(s.sent, 40, 'bounded by maxRequests');
  const cells = s.regions.r1.cells;
  assert.equal(cells['cell-1'].ok, 0);
  assert.equal(cells['cell-1'].timeout, 20, 'every request to the hung cell timed out');
  assert.equal(cells['cell-2'].ok, 20, 'the healthy cell answered all of its share');
  assert.equal(failed(s.total), 20);
  assert.equal(s.total.ok + failed(s.total), 40);
  const buckets = load.timeline();
  assert.ok(buckets.length >= 1);
  assert.equal(
    buckets.reduce((n, b) => n + b.regions.r1.ok + failed(b.regions.r1), 0),
    40,
    'the timeline counts every request once',
  );
  await fleet.stop();
});

test('a region whose cells are all down fails at the front door, immediately', async () => {
  const fleet = await Fleet.start({ spec, initialVersion: 'v1' });
  fleets.push(fleet);
  await fleet.stop();
  const load = new LoadGenerator({
    targets: [{ region: 'r1', cells: ['cell-1', 'cell-2'] }],
    resolve: (reg, c) => fleet.url(reg, c),
    ratePerRegion: 50,
    timeoutMs: 1000,
    maxRequests: 10,
  });
  load.start();
  await waitFor('10 requests', () => load.snapshot().sent >= 10);
  await load.stop();
  const s = load.snapshot();
  assert.equal(s.total.error, 10);
  assert.equal(s.total.ok, 0);
});

test('the front door honours drain: a drained cell gets no customers; a region with none in rotation spills over', async () => {
  const two: FleetSpec = {
    regions: [
      { id: 'r1', geography: 'g', weight: 1, canary: false, cells: ['cell-1', 'cell-2'] },
      { id: 'r2', geography: 'g', weight: 1, canary: false, cells: ['cell-1'] },
    ],
  };
  const fleet = await Fleet.start({ spec: two, initialVersion: 'v1' });
  fleets.push(fleet);
  const run = async () => {
    const load = new LoadGenerator({
      targets: two.regions.map((r) => ({ region: r.id, cells: r.cells })),
      resolve: (reg, c) => fleet.frontDoor(reg, c),
      ratePerRegion: 50,
      timeoutMs: 1000,
      maxRequests: 20,
    });
    load.start();
    await waitFor('20 requests answered', () => {
      const s = load.snapshot();
      return s.sent >= 20 && s.inFlight === 0;
    });
    await load.stop();
    return load.snapshot();
  };
  fleet.drain('r1', 'cell-1');
  let s = await run();
  assert.equal(s.regions.r1.cells['cell-1'].ok + failed(s.regions.r1.cells['cell-1']), 0, 'nothing sent to the drained cell');
  assert.equal(s.regions.r1.ok, 10);
  fleet.drain('r1', 'cell-2');
  s = await run();
  assert.equal(s.regions.r1.ok, 10, "r1's customers are all served");
  assert.equal(s.regions.r2.cells['cell-1'].ok, 20, 'by the cell of r2');
  fleet.restore('r1', 'cell-1');
  s = await run();
  assert.equal(s.regions.r1.cells['cell-1'].ok, 10, 'back in rotation');
  await fleet.stop();
});
