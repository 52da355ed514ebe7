// Statuspage conventions tools rely on: status.indicator stays within none|minor|major|critical (maintenance
// shows through scheduled_maintenances), Atom entry ids survive a renamed page, and a maintenance entry gives
// its window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderAtom } from '../src/statuspage/atom.js';
import { v2Files } from '../src/statuspage/v2.js';
import { createSiteModel } from '../src/statuspage/build.js';
import { componentsFromConfig } from '../src/status/status.js';
import { fleetConfig, healthyEvidence, maintenanceFixture, modelFor, NOW, wideIncident } from './statuspage-fixtures.js';

const entryIds = (atom: string) => [...atom.matchAll(/<entry>\n<id>([^<]+)<\/id>/g)].map((m) => m[1]);

test('during maintenance status.indicator is none and the window is in scheduled_maintenances', () => {
  const cfg = fleetConfig(6, 2);
  const m = maintenanceFixture(NOW);
  const during = NOW + 3 * 3600_000; // inside the announced window
  const model = createSiteModel({
    statuspage: cfg.statuspage,
    defs: componentsFromConfig(cfg),
    observations: healthyEvidence(cfg, during - 10_000),
    incidents: [m],
    now: during,
  });
  assert.equal(model.headline.status, 'under_maintenance');
  const summary = JSON.parse(v2Files(model).get('api/v2/summary.json')!);
  assert.equal(summary.status.indicator, 'none');
  assert.ok(['none', 'minor', 'major', 'critical'].includes(summary.status.indicator));
  assert.deepEqual(
    summary.scheduled_maintenances.map((x: { id: string; status: string }) => [x.id, x.status]),
    [[m.id, 'in_progress']],
  );
  assert.equal(summary.components.find((c: { id: string }) => c.id === 'svc-1/region-05').status, 'under_maintenance');
});

test('Atom entry ids stay the same when the page title changes; a maintenance entry gives its window', () => {
  const cfg = fleetConfig(6, 2);
  const incidents = [wideIncident(NOW), maintenanceFixture(NOW)];
  const before = renderAtom(modelFor(cfg, healthyEvidence(cfg, NOW), incidents));
  const renamed = fleetConfig(6, 2);
  renamed.statuspage.title = 'Example Cloud: service health';
  const after = renderAtom(modelFor(renamed, healthyEvidence(renamed, NOW), incidents));
  assert.equal(entryIds(before).length, 3);
  assert.deepEqual(entryIds(after), entryIds(before));
  const mnt = before.split('<entry>').find((e) => e.includes('Database upgrade'))!;
  assert.match(mnt, /<summary type="text">Maintenance scheduled; window 2026-11-25 03:00 UTC to 2026-11-25 05:00 UTC;/);
  assert.match(mnt, /Maintenance window: 2026-11-25 03:00 UTC to 2026-11-25 05:00 UTC\./);
});
