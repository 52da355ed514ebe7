// Fixtures for the status page tests: a fleet config, evidence and incidents, in memory.
import type { Observation } from '../src/core/types.js';
import type { IncidentRecord } from '../src/store/store.js';
import { configSchema, type EtapeConfig } from '../src/config/schema.js';
import { componentsFromConfig, componentStatuses, headline, DEFAULT_STATUS_RULES, type ComponentState } from '../src/status/status.js';
import { openIncident, scheduleMaintenance, addUpdate, isOpenAt } from '../src/incidents/lifecycle.js';
import { pageIdFor, type SiteModel } from '../src/statuspage/model.js';
import { SeriesHistorySource } from '../src/statuspage/history.js';
import { DAY_MS, MINUTE_MS, MinuteState, startOfUtcDay, type MinuteSeries } from '../src/sla/availability.js';

export const NOW = Date.UTC(2026, 10, 25, 1, 0, 0);
export const GEOS = ['europe', 'americas', 'asia', 'africa', 'oceania', 'middle-east'];

export function fleetConfig(regions: number, services: number, cells = 2): EtapeConfig {
  return configSchema.parse({
    fleet: {
      regions: Array.from({ length: regions }, (_, i) => ({
        id: `region-${String(i).padStart(2, '0')}`,
        name: `Region ${i}`,
        geography: GEOS[i % GEOS.length],
        cells: Array.from({ length: cells }, (_, k) => ({ id: `cell-${k + 1}` })),
      })),
    },
    services: Array.from({ length: services }, (_, i) => ({ name: `svc-${i}`, description: `Service ${i}` })),
    statuspage: { title: 'Example Cloud status' },
  });
}

/** Passing evidence for every cell of every component, at `at`. */
export function healthyEvidence(cfg: EtapeConfig, at: number): Observation[] {
  const out: Observation[] = [];
  for (const d of componentsFromConfig(cfg))
    for (const cell of d.cells)
      out.push({ service: d.service, region: d.region, cell, source: 'http', at, verdict: 'pass', latencyMs: 40 });
  return out;
}

export function failing(service: string, region: string, cells: string[], at: number, detail = 'HTTP 503'): Observation[] {
  return cells.map((cell) => ({ service, region, cell, source: 'http', at, verdict: 'fail' as const, latencyMs: 40, detail }));
}

export function wideIncident(now: number): IncidentRecord {
  let i = openIncident(
    {
      id: 'inc-20261125-0040-abc123',
      title: 'Blob storage requests time out in several regions',
      impact: 'major',
      components: ['svc-0/region-00', 'svc-0/region-01', 'svc-0/region-02'],
      body: 'Requests to blob storage time out. We are investigating.',
      actor: 'cli:ops',
      source: 'manual',
    },
    now - 20 * MINUTE_MS,
  );
  i = addUpdate(
    i,
    { status: 'identified', body: 'A configuration change is the cause; it is being reverted.', actor: 'cli:ops' },
    now - 10 * MINUTE_MS,
  );
  return i;
}

export function maintenanceFixture(now: number): IncidentRecord {
  return scheduleMaintenance(
    {
      id: 'mnt-20261124-1200-def456',
      title: 'Database upgrade in region-05',
      components: ['svc-1/region-05'],
      body: 'We will upgrade the database; writes may pause for a minute.',
      scheduledFor: now + 2 * 3600_000,
      scheduledUntil: now + 4 * 3600_000,
      actor: 'cli:ops',
    },
    now - DAY_MS,
  );
}

/** A model for the page tests: the given evidence and incidents, 90 days of synthetic history. */
export function modelFor(cfg: EtapeConfig, obs: Observation[], incidents: IncidentRecord[], now = NOW, generatedAt = now): SiteModel {
  const defs = componentsFromConfig(cfg);
  const components: ComponentState[] = componentStatuses(defs, obs, now, DEFAULT_STATUS_RULES);
  const first = startOfUtcDay(now) - 89 * DAY_MS;
  const series = new Map<string, MinuteSeries>();
  for (const [k, d] of defs.entries()) {
    const states = new Uint8Array(90 * 1440).fill(MinuteState.UP);
    // A bad hour on a few days, unknown on one day for one component.
    states.fill(MinuteState.DOWN, (10 + (k % 7)) * 1440, (10 + (k % 7)) * 1440 + 60);
    if (k === 0) states.fill(MinuteState.UNKNOWN, 30 * 1440, 31 * 1440);
    series.set(d.id, { startMs: first, states });
  }
  const hs = new SeriesHistorySource((id) => ({ series: series.get(id)!, version: '1' }));
  const history = hs.historySync(defs, now, 90);
  return {
    generatedAt,
    title: cfg.statuspage.title,
    pageId: pageIdFor(cfg.statuspage.title),
    staleAfterMs: 5 * MINUTE_MS,
    bannerAfterMs: 30 * MINUTE_MS,
    updateCadenceMs: 30 * MINUTE_MS,
    components,
    headline: headline(
      components,
      incidents.filter((i) => isOpenAt(i, now)),
    ),
    incidents,
    history,
    historyDays: 90,
  };
}
