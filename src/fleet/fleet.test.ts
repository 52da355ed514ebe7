// The fleet model: cell weights, the undirected pair graph, and the canary set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetSchema } from '../config/fleet.js';
import { buildFleet, pairEdges, resolveCanary, serviceRegions } from './fleet.js';

const fleet = buildFleet(
  fleetSchema.parse({
    regions: [
      { id: 'a', geography: 'eu', weight: 30, canary: true, pair: 'b', cells: [{ id: 'x', weight: 2 }, { id: 'y' }] },
      { id: 'b', geography: 'eu', weight: 10, pair: ['c'] },
      { id: 'c', geography: 'am', weight: 5, pair: 'b' },
      { id: 'd', geography: 'am', weight: 5, cells: [{ id: 'x' }, { id: 'y' }, { id: 'z' }] },
    ],
  }),
);

test('a cell carries its region weight split by cell weight', () => {
  assert.deepEqual(
    fleet.byId.get('a')!.cells.map((c) => c.weight),
    [20, 10],
  );
  assert.deepEqual(
    fleet.byId.get('d')!.cells.map((c) => Number(c.weight.toFixed(6))),
    [1.666667, 1.666667, 1.666667],
  );
  assert.deepEqual(
    fleet.byId.get('b')!.cells.map((c) => c.id),
    ['cell-1'],
  );
  assert.equal(fleet.totalWeight, 50);
});

test('pairs are undirected, whichever side declared them, without duplicates', () => {
  assert.deepEqual(pairEdges(fleet), [
    ['a', 'b'],
    ['b', 'c'],
  ]);
  assert.deepEqual([...fleet.partners.get('b')!].sort(), ['a', 'c']);
  assert.deepEqual([...fleet.partners.get('d')!], []);
});

test('the canary set: regions marked canary by default, or policy entries of regions and cells', () => {
  assert.deepEqual([...resolveCanary(fleet, {})], ['a/x', 'a/y']);
  assert.deepEqual([...resolveCanary(fleet, { canary: ['d/y', 'c'] })], ['d/y', 'c/cell-1']);
  assert.deepEqual([...resolveCanary(fleet, { canary: [] })], []);
});

test('service regions keep fleet order', () => {
  assert.deepEqual(
    serviceRegions(fleet, ['d', 'a']).map((r) => r.id),
    ['a', 'd'],
  );
  assert.equal(serviceRegions(fleet, 'all').length, 4);
});
