// 30 days of probes on the example fleet (examples/etape.yaml: every cell's probe at its interval) in virtual
// time, against a SQLite file, with retention running after each day as `etape serve` runs it. Prints the
// store's size after each day (flat once past the raw window) and compares the SLA report and the history
// read from the store (rollups for pruned days) with the same figures computed from the raw observations as
// they were generated. Prints figures; asserts nothing.
//
//   npm run bench:soak
//   npm run bench:soak -- --days 30 --raw 14d --fail 0.002 --interval 60s
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import type { Observation } from '../src/core/types.js';
import { parseDuration } from '../src/core/duration.js';
import { ms } from '../src/config/common.js';
import { loadConfig } from '../src/config/load.js';
import { pairGraph, resolveSla } from '../src/config/sla.js';
import { openStore } from '../src/store/open.js';
import {
  componentId,
  dailyUptime,
  DAY_MS,
  emptySeries,
  seriesFromObservations,
  spliceSeries,
  type MinuteSeries,
} from '../src/sla/availability.js';
import { seriesOptionsFromConfig, slaReportFromStore } from '../src/sla/from-store.js';
import { buildSlaReport } from '../src/sla/report.js';
import { runRetention } from '../src/sla/rollup.js';
import { componentsFromConfig } from '../src/status/status.js';
import { measureFromSlaConfig, StoreHistorySource } from '../src/statuspage/history.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const DAYS = Number(arg('days', '30'));
const FAIL = Number(arg('fail', '0.002'));
/** Probe every this instead of each probe's configured interval (a setting only the benchmark uses; printed). */
const INTERVAL = process.argv.includes('--interval') ? parseDuration(arg('interval', '10s')) : undefined;
const ROOT = new URL('..', import.meta.url).pathname;
const DAY0 = Date.UTC(2026, 0, 1);

async function main(): Promise<void> {
  const { config } = await loadConfig(join(ROOT, 'examples/etape.yaml'));
  const rawMs = parseDuration(arg('raw', config.server.retention.raw))!;
  const opts = seriesOptionsFromConfig(config);
  const defs = componentsFromConfig(config);
  const probes = config.services.flatMap((s) =>
    s.probes.map((p) => ({ service: s.name, source: p.name, everyMs: INTERVAL ?? ms(p.interval), regions: s.regions })),
  );
  const dir = mkdtempSync(join(tmpdir(), 'etape-soak-'));
  const file = join(dir, 'etape.db');
  const store = await openStore(file);
  const stats = new Database(file, { readonly: true });
  const raw = new Map<string, MinuteSeries>(defs.map((d) => [d.id, emptySeries(DAY0, DAY0 + DAYS * DAY_MS)]));
  const firstAt = new Map<string, number>();
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let written = 0;
  const t0 = performance.now();
  console.log(`bench:soak: ${DAYS} days, ${defs.length} components, ${config.fleet.regions.reduce((n, r) => n + r.cells.length, 0)} cells`);
  console.log(
    `  raw window ${arg('raw', config.server.retention.raw)}, rollups ${config.server.retention.rollups}, probe failure rate ${FAIL}, probes every ${INTERVAL === undefined ? 'configured interval' : arg('interval', '')}`,
  );
  console.log('  day  raw rows     rollup rows  file MB  used MB  s/day');
  let tail = new Map<string, Observation[]>(); // the last freshFor of the day before, per component
  for (let d = 0; d < DAYS; d++) {
    const day = DAY0 + d * DAY_MS;
    const td = performance.now();
    // An outage of one region every third day (40 minutes), flaky probes elsewhere.
    const down = config.fleet.regions[(d * 7) % config.fleet.regions.length].id;
    const nextTail = new Map<string, Observation[]>();
    for (const def of defs) {
      const obs: Observation[] = [];
      for (const p of probes.filter((x) => x.service === def.service))
        for (const cell of def.cells)
          for (let t = day + Math.floor(rnd() * p.everyMs); t < day + DAY_MS; t += p.everyMs) {
            const outage = d % 3 === 0 && def.region === down && t >= day + 14 * 3_600_000 && t < day + 14 * 3_600_000 + 40 * 60_000;
            obs.push({
              service: def.service,
              region: def.region,
              cell,
              source: p.source,
              at: t,
              verdict: outage || rnd() < FAIL ? 'fail' : 'pass',
              latencyMs: 20 + Math.floor(rnd() * 60),
            });
          }
      obs.sort((a, b) => a.at - b.at);
      if (!firstAt.has(def.id) && obs.length) firstAt.set(def.id, obs[0].at);
      for (let i = 0; i < obs.length; i += 5000) await store.recordObservations(obs.slice(i, i + 5000));
      written += obs.length;
      // From raw, as generated: the same function over the same evidence (with the day before's tail).
      const part = seriesFromObservations([...(tail.get(def.id) ?? []), ...obs], day, day + DAY_MS, { ...opts, cells: def.cells });
      spliceSeries(raw.get(def.id)!, part);
      nextTail.set(
        def.id,
        obs.filter((o) => o.at >= day + DAY_MS - opts.freshForMs),
      );
    }
    tail = nextTail;
    // The next day has begun (plus an hour): retention rolls this one up and prunes what is past the window.
    await runRetention({ store, config, rawMs }, day + DAY_MS + 3_600_000);
    const rows = (stats.prepare('SELECT COUNT(*) AS n FROM observations').get() as { n: number }).n;
    const rolled = (stats.prepare('SELECT COUNT(*) AS n FROM availability_days').get() as { n: number }).n;
    const pageSize = stats.pragma('page_size', { simple: true }) as number;
    const used =
      ((stats.pragma('page_count', { simple: true }) as number) - (stats.pragma('freelist_count', { simple: true }) as number)) * pageSize;
    const size = statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
    console.log(
      `  ${String(d + 1).padStart(3)}  ${String(rows).padStart(10)}  ${String(rolled).padStart(11)}  ${(size / 2 ** 20).toFixed(0).padStart(7)}  ${(used / 2 ** 20).toFixed(0).padStart(7)}  ${((performance.now() - td) / 1000).toFixed(1).padStart(5)}`,
    );
  }
  const now = DAY0 + DAYS * DAY_MS + 3_600_000;
  const period = { label: `${DAYS} days`, fromMs: DAY0, toMs: DAY0 + DAYS * DAY_MS };

  // SLA: from the store (rollups where raw is pruned) and from the raw series, built alike.
  const fromStore = await slaReportFromStore({ config, store, period, nowMs: now });
  const components = defs
    .filter((d) => config.sla.some((s) => s.service === d.service))
    .map((d) => ({ service: d.service, region: d.region }));
  const fromRaw = buildSlaReport({
    measurement: (s, r) => {
      const at = firstAt.get(componentId(s, r));
      return at === undefined ? undefined : { atMs: at, source: 'evidence' };
    },
    period,
    nowMs: now,
    slas: config.sla.map(resolveSla),
    customers: config.customers,
    pairs: pairGraph(config.fleet),
    series: (s, r) => raw.get(componentId(s, r)),
    incidents: [],
    components,
  });
  const unitFigures = (r: typeof fromStore) =>
    r.units.map((u) => ({ id: u.id, shown: u.shown, uptime: u.uptime, tier: u.tier?.credit ?? 0 }));
  const creditFigures = (r: typeof fromStore) => r.customers.map((c) => JSON.stringify(c));
  const slaEqual =
    isDeepStrictEqual(unitFigures(fromStore), unitFigures(fromRaw)) && isDeepStrictEqual(creditFigures(fromStore), creditFigures(fromRaw));

  // History: each finished day of each component, from the store and from the raw series.
  const measure = measureFromSlaConfig(config.sla);
  const page = await new StoreHistorySource(store, opts, { measure }).history(defs, now, DAYS + 1);
  let daysCompared = 0;
  let daysDiffering = 0;
  for (const def of defs) {
    const got = page.get(def.id)!.days.slice(0, DAYS);
    const want = dailyUptime(raw.get(def.id)!, DAY0, DAYS, { measure: measure(def.service) });
    for (let i = 0; i < DAYS; i++) {
      daysCompared++;
      if (!isDeepStrictEqual(got[i], want[i])) daysDiffering++;
    }
  }
  const worst = [...fromStore.units].sort((a, b) => a.percent - b.percent).slice(0, 3);
  console.log(
    `  observations written: ${written} (${(written / DAYS).toFixed(0)} a day); wall ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  console.log(
    `  SLA over ${DAYS} days from the store equals that from raw: ${slaEqual ? 'yes' : 'NO'} (${fromStore.units.length} units, ${fromStore.customers.length} customers)`,
  );
  console.log(`    lowest: ${worst.map((u) => `${u.id} ${u.shown}`).join(', ')}; customers owed ${fromStore.customersOwed}`);
  console.log(
    `  history from the store equals that from raw: ${daysDiffering === 0 ? 'yes' : 'NO'} (${daysCompared} component-days, ${daysDiffering} differ)`,
  );
  stats.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
