// The local fleet and its driver on real processes: graceful deploy, a hung cell that ignores the revert,
// force, idempotency per key, crash restarts, and no process left behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './helpers.js';
import { Fleet, isRunning, getJson, type FleetSpec } from '../src/demo/fleet.js';
import { createFleetDriver } from '../src/demo/fleet-driver.js';
import type { DriverCall } from '../src/drivers/driver.js';

const fleets: Fleet[] = [];
after(async () => {
  for (const f of fleets) await f.stop();
});

const spec: FleetSpec = { regions: [{ id: 'r1', geography: 'g', weight: 1, canary: false, cells: ['cell-1', 'cell-2'] }] };

function call(step: string, cell: string, version: string, attempt = 1): DriverCall {
  return { key: `ro-1:r1/${cell}:${step}:${attempt}`, rolloutId: 'ro-1', target: { service: 'blob', region: 'r1', cell }, version };
}

test('deploy is a graceful restart; a hung cell ignores rollback (timedOut) and force brings it back on the same port', async () => {
  const fleet = await Fleet.start({ spec, initialVersion: 'v1', versions: { v2: { fault: 'hang' } } });
  fleets.push(fleet);
  const driver = createFleetDriver(fleet, { askTimeoutMs: 800 });
  const port = fleet.port('r1', 'cell-1');
  const firstPid = fleet.get('r1', 'cell-1')!.pid!;

  const d = await driver.deploy(call('deploy', 'cell-1', 'v2'));
  assert.equal(d.ok, true, d.detail);
  assert.equal(fleet.get('r1', 'cell-1')!.version, 'v2');
  assert.equal(fleet.port('r1', 'cell-1'), port, 'a cell keeps its port across restarts');
  assert.equal(isRunning(firstPid), false, 'the old process is gone');

  // Same key again: the stored result, no second restart.
  const restarts = fleet.get('r1', 'cell-1')!.restarts;
  const again = await driver.deploy(call('deploy', 'cell-1', 'v2'));
  assert.equal(again.ok, true);
  assert.equal(fleet.get('r1', 'cell-1')!.restarts, restarts);

  // A customer request hits the bad switch: the cell hangs.
  await getJson(`http://127.0.0.1:${port}/blobs/probe`, 500);
  await waitFor('the cell to report its hang', () => fleet.get('r1', 'cell-1')!.hung);
  const seen = await driver.observe({ service: 'blob', region: 'r1', cell: 'cell-1' });
  assert.equal(seen.version, 'v2');
  assert.equal(seen.healthy, false);

  const rb = await driver.rollback(call('rollback', 'cell-1', 'v1'));
  assert.equal(rb.ok, false);
  assert.equal(rb.timedOut, true, rb.detail);
  assert.equal(fleet.get('r1', 'cell-1')!.version, 'v2', 'still the hung v2 process');

  const hungPid = fleet.get('r1', 'cell-1')!.pid!;
  const f = await driver.force(call('force', 'cell-1', 'v1'));
  assert.equal(f.ok, true, f.detail);
  assert.equal(isRunning(hungPid), false, 'the hung process was killed');
  const after = await driver.observe({ service: 'blob', region: 'r1', cell: 'cell-1' });
  assert.equal(after.version, 'v1');
  assert.equal(after.healthy, true);
  assert.equal(fleet.port('r1', 'cell-1'), port);

  // The other cell was never touched.
  assert.equal(fleet.get('r1', 'cell-2')!.restarts, 0);
  const causes = fleet
    .incarnations()
    .filter((i) => i.cell === 'cell-1')
    .map((i) => `${i.cause}:${i.version}`);
  assert.deepEqual(causes, ['initial:v1', 'graceful:v2', 'force:v1']);

  const pids = fleet.pids();
  await fleet.stop();
  for (const pid of pids) assert.equal(isRunning(pid), false, `pid ${pid} is gone after stop`);
});

test('concurrent calls with one key restart once; deploying the running version is a no-op', async () => {
  const fleet = await Fleet.start({ spec, initialVersion: 'v1' });
  fleets.push(fleet);
  const driver = createFleetDriver(fleet);
  const [a, b] = await Promise.all([driver.deploy(call('deploy', 'cell-2', 'v3')), driver.deploy(call('deploy', 'cell-2', 'v3'))]);
  assert.equal(a.ok && b.ok, true);
  assert.equal(fleet.get('r1', 'cell-2')!.restarts, 1);
  const noop = await driver.deploy(call('deploy-again', 'cell-2', 'v3'));
  assert.equal(noop.ok, true);
  assert.match(noop.detail, /already running v3/);
  assert.equal(fleet.get('r1', 'cell-2')!.restarts, 1);
  const missing = await driver.deploy({ ...call('deploy', 'cell-9', 'v3') });
  assert.equal(missing.ok, false);
  await fleet.stop();
});

test('a crash-looping version is restarted by the supervisor until a rollback puts the old version back', async () => {
  const fleet = await Fleet.start({ spec, initialVersion: 'v1', versions: { v2: { fault: 'crash-loop', crashAfterMs: 300 } } });
  fleets.push(fleet);
  const driver = createFleetDriver(fleet);
  const d = await driver.deploy(call('deploy', 'cell-1', 'v2'));
  assert.equal(d.ok, true, d.detail);
  await waitFor('two crash restarts', () => fleet.incarnations().filter((i) => i.cause === 'crash-restart').length >= 2);
  const rb = await driver.rollback(call('rollback', 'cell-1', 'v1'));
  assert.equal(rb.ok, true, rb.detail);
  assert.equal(fleet.get('r1', 'cell-1')!.version, 'v1');
  // Stays up: no further crash restarts of v1.
  const n = fleet.incarnations().length;
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(fleet.incarnations().length, n);
  assert.equal((await fleet.health('r1', 'cell-1')).ok, true);
  const pids = fleet.pids();
  await fleet.stop();
  for (const pid of pids) assert.equal(isRunning(pid), false);
});
