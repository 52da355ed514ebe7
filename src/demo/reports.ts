// The demo's status page and SLA report, built from each run's own evidence store: the probe runner's
// observations and the customers' request counts (turned into observations with requests and failures per
// cell and second). While a run goes on, the status publisher rebuilds the page and applies the incident
// rules, as `etape serve` does; at the end one last build and the SLA report over the run's window.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { systemClock } from '../core/clock.js';
import type { Observation } from '../core/types.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { ms } from '../config/common.js';
import { isBanner } from '../incidents/lifecycle.js';
import { StatusBuilder, startStatusPublisher, type StatusPublisher } from '../statuspage/publisher.js';
import { slaReportJson } from '../sla/report-format.js';
import { slaReportForDemo } from '../sla/from-store.js';
import type { TimelineBucket } from './load.js';
import type { RuntimeListener } from '../controller/runtime.js';

/** The source name of the customers' request counts in the store. */
export const CUSTOMER_SOURCE = 'customers';

/**
 * Turns the load generator's per-second buckets into observations, one per cell and second: the requests
 * sent in that second and how many failed (5xx, connection error, or no answer in time). The verdict is
 * `fail` when any failed.
 */
export function customerObservations(service: string, buckets: readonly TimelineBucket[], bucketMs = 1000): Observation[] {
  const out: Observation[] = [];
  for (const b of buckets)
    for (const [id, c] of Object.entries(b.cells)) {
      const [region, cell] = id.split('/');
      const failures = c.error + c.timeout;
      const requests = c.ok + failures;
      if (requests === 0) continue;
      out.push({
        service,
        region,
        cell,
        source: CUSTOMER_SOURCE,
        // The end of the second the requests were sent in: when the count is known.
        at: b.at + bucketMs - 1,
        verdict: failures > 0 ? 'fail' : 'pass',
        requests,
        failures,
        detail:
          failures > 0
            ? `${failures} of ${requests} customer requests failed (${c.error} errors, ${c.timeout} timeouts)`
            : `${requests} customer requests ok`,
      });
    }
  return out;
}

export interface DemoReporterOptions {
  store: Store;
  config: EtapeConfig;
  /** The run's folder: the status page goes to `<dir>/status/`, the SLA report to `<dir>/sla.txt|json`. */
  dir: string;
  /** The customers' traffic so far, per second (LoadGenerator.timeline). */
  timeline: () => TimelineBucket[];
  /** A bucket is complete once its requests have all answered or timed out. */
  customerTimeoutMs: number;
  /** How often the status page is rebuilt during the run (default statuspage.buildEvery). */
  buildEveryMs?: number;
  /** Publish the status page and write the SLA report (default true); without, only the counts are stored. */
  reports?: boolean;
}

export interface DemoReports {
  files: string[];
  statusIndex: string;
  statusUrl: string;
  headline: string;
  banner: boolean;
  /** Incidents on the page; `rollouts` are the halted rollouts an incident covers (by its gate failures). */
  incidents: Array<{ id: string; title: string; status: string; impact: string; components: string[]; source: string; rollouts: string[] }>;
  sla: {
    window: { from: string; to: string; minutes: number };
    /** Credits owed over the window, by currency, as if the window were the billing month. */
    totals: Record<string, number>;
    customersOwed: number;
    customers: number;
    lowest?: { unit: string; shown: string };
    summary: string;
  };
}

/** Runs while a run runs: writes the customers' counts to the store and rebuilds the status page. */
export class DemoReporter {
  private written = 0;
  private timer?: NodeJS.Timeout;
  private pumping: Promise<void> = Promise.resolve();
  private publisher?: StatusPublisher;
  /** When each build during the run was written, and the components it showed with a problem. */
  private readonly builds: Array<{ doneAt: number; bad: string[] }> = [];
  private readonly service: string;

  /** What the run's runtime records: a status change is published at once, as `etape serve` does. */
  readonly listener: RuntimeListener = {
    evidence: (obs) => this.publisher?.evidence(obs),
    events: (evs) => this.publisher?.events(evs),
  };

  constructor(private readonly o: DemoReporterOptions) {
    this.service = o.config.services[0].name;
  }

  start(): void {
    this.timer = setInterval(() => void this.pump(false), 500);
    if (this.o.reports === false) return;
    mkdirSync(join(this.o.dir, 'status'), { recursive: true });
    this.publisher = startStatusPublisher({
      store: this.o.store,
      config: this.o.config,
      clock: systemClock,
      outDir: join(this.o.dir, 'status'),
      intervalMs: this.o.buildEveryMs,
      onBuilt: (r) =>
        this.builds.push({
          doneAt: Date.now(),
          bad: r.components.filter((c) => !['operational', 'unknown', 'under_maintenance'].includes(c.status)).map((c) => c.id),
        }),
    });
  }

  /** When the page first showed a problem with a component of `region`, written at or after `since`. */
  firstShownBad(region: string, since: number): number | undefined {
    return this.builds.find((b) => b.doneAt >= since && b.bad.some((id) => id.endsWith(`/${region}`)))?.doneAt;
  }

  /** Writes the buckets that are complete (all of them when `all`). */
  private pump(all: boolean): Promise<void> {
    this.pumping = this.pumping.then(async () => {
      const done = Date.now() - this.o.customerTimeoutMs - 200;
      const fresh = this.o.timeline().filter((b) => b.at >= this.written && (all || b.at + 1000 <= done));
      if (!fresh.length) return;
      this.written = fresh[fresh.length - 1].at + 1;
      await this.o.store.recordObservations(customerObservations(this.service, fresh)).catch(() => undefined);
    });
    return this.pumping;
  }

  /**
   * After the run (the traffic stopped): the last counts, the last status build (with the incident rules), and
   * the SLA report over [fromMs, toMs). Returns what was written (nothing without reports).
   */
  async finish(window: { fromMs: number; toMs: number; label: string }): Promise<DemoReports | undefined> {
    if (this.timer) clearInterval(this.timer);
    await this.pump(true);
    await this.publisher?.stop();
    if (this.o.reports === false) return undefined;
    return writeStatusAndSla({ store: this.o.store, config: this.o.config, dir: this.o.dir, ...window });
  }

  /** Stops without writing (the run was interrupted). */
  async abort(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.pumping;
    await this.publisher?.stop().catch(() => undefined);
  }
}

export interface DemoReportsInput {
  store: Store;
  config: EtapeConfig;
  /** The run's folder: the status page goes to `<dir>/status/`, the SLA report to `<dir>/sla.txt` and `sla.json`. */
  dir: string;
  /** The window the SLA is computed over (the run), and its name in the report. */
  fromMs: number;
  toMs: number;
  label: string;
}

/** One status build (incident rules applied) and the SLA report over the run's window, from the run's store. */
export async function writeStatusAndSla(input: DemoReportsInput): Promise<DemoReports> {
  const { store, config, dir } = input;
  const statusDir = join(dir, 'status');
  mkdirSync(statusDir, { recursive: true });
  const builder = new StatusBuilder({ store, config, clock: systemClock, outDir: statusDir, publish: false });
  const build = await builder.build();
  await builder.close();

  const { report, summary, text } = await slaReportForDemo({ config, store, fromMs: input.fromMs, toMs: input.toMs, label: input.label });
  const slaTxt = join(dir, 'sla.txt');
  const slaJson = join(dir, 'sla.json');
  const note =
    `SLA over the demo window only (${new Date(report.period.fromMs).toISOString()} → ${new Date(report.period.toMs).toISOString()}, whole minutes):\n` +
    `the credits each customer would be owed if this window were the whole billing month.\n\n`;
  writeFileSync(slaTxt, note + text + (text.endsWith('\n') ? '' : '\n') + '\n' + summary + '\n');
  writeFileSync(slaJson, JSON.stringify({ note: note.trim().replace(/\n/g, ' '), ...(slaReportJson(report) as object) }, null, 2) + '\n');

  const index = join(statusDir, 'index.html');
  const banner = build.incidents.some((i) => isBanner(i, build.at, ms(config.statuspage.bannerAfter)));
  const worst = [...report.units].sort((a, b) => a.percent - b.percent)[0];
  const minutes = Math.round((report.period.toMs - report.period.fromMs) / 60_000);
  return {
    files: [index, slaTxt, slaJson],
    statusIndex: index,
    statusUrl: pathToFileURL(index).href,
    headline: build.headline.description,
    banner,
    incidents: build.incidents
      .filter((i) => i.kind === 'incident')
      .map((i) => ({
        id: i.id,
        title: i.title,
        status: i.status,
        impact: i.impact,
        components: i.components,
        source: i.source,
        rollouts: ((i.data.gateKeys as string[] | undefined) ?? [])
          .filter((k) => k.startsWith('rollout:'))
          .map((k) => k.slice('rollout:'.length)),
      })),
    sla: {
      window: { from: new Date(report.period.fromMs).toISOString(), to: new Date(report.period.toMs).toISOString(), minutes },
      totals: report.totals,
      customersOwed: report.customersOwed,
      customers: report.customers.length,
      lowest: worst ? { unit: worst.id, shown: worst.shown } : undefined,
      summary,
    },
  };
}
