// `etape demo`: the 2014 storage outage replayed on a local fleet of real processes, twice. First all at
// once (the bad version to every cell together, as in 2014); then through etape (the staged plan, the real
// Controller, Store, probes and fleet driver). Each run gets a fresh fleet and the same customer traffic;
// the verdict compares what customers and the fleet went through.
import type { Observation } from '../core/types.js';
import { setMaxListeners } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { systemClock } from '../core/clock.js';
import { EtapeError } from '../core/errors.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Plan } from '../plan/types.js';
import type { EventRecord, NewEvent, Store } from '../store/store.js';
import { createDriver } from '../drivers/index.js';
import { fleetDriverMaker } from './fleet-driver.js';
import { FAULTS, type Fault } from './blob-server.js';
import { defaultFleetSpec, Fleet, isRunning, pairsOf, type FleetSpec, type Incarnation, type VersionBehaviour } from './fleet.js';
import { PROCESS_HUNG, PROCESS_READY, PROCESS_STARTED, runFacts, runFactsFromStore, type RunFacts } from './facts.js';
import { failed, LoadGenerator, type Counts } from './load.js';
import { FleetMonitor } from './monitor.js';
import { createView, type CellView, type Frame, type Health, type RegionView, type View } from './view.js';
import { startStagedRollout, type StagedHandle } from './staged.js';
import { newProber } from '../controller/runtime.js';
import { DemoReporter, type DemoReports } from './reports.js';
import { BAD, demoConfig, GOOD } from './demo-config.js';
import { describeEvent } from './events.js';
import { openStore } from '../store/open.js';

export type RunMode = 'all-at-once' | 'staged';

export interface DemoOptions {
  fault: Fault;
  /** Regions besides the canary (default 8: four pairs over three geographies). */
  regions?: number;
  /** Cells per region (default 2 or 3 by region weight). */
  cells?: number;
  /** Output folder (default demo-out/<timestamp>). */
  out?: string;
  runs?: RunMode[];
  /** Probe interval and timeout, and consecutive failures that fail the gate (k). */
  intervalMs?: number;
  timeoutMs?: number;
  k?: number;
  /** Bake of the canary wave and of every later wave. */
  canaryBakeMs?: number;
  bakeMs?: number;
  /** Customer requests per second to each region, and their timeout. */
  ratePerRegion?: number;
  customerTimeoutMs?: number;
  /** Where the live view goes, and whether it redraws in place. */
  output?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  tty?: boolean;
  /** No live view at all (benchmarks). */
  quiet?: boolean;
  /** Write each run's status page and SLA report (default true; benchmarks turn it off). */
  reports?: boolean;
  /** Traffic before the bad deploy, once the fleet is healthy, and after recovery. */
  warmupMs?: number;
  tailMs?: number;
  signal?: AbortSignal;
}

export interface RunResult {
  mode: RunMode;
  fault: Fault;
  regionsTotal: number;
  cellsTotal: number;
  regionsAffected: string[];
  cellsAffected: string[];
  /** Share of fleet capacity (by weight) that ran the bad version at some point, 0–1. */
  badCapacityShare: number;
  /** Regions the status page's rules saw failing during the run (from the evidence in the run's store). */
  regionsOut: string[];
  requests: number;
  failedRequests: number;
  failedByRegion: Record<string, number>;
  /** When the first cell came up on the bad version. */
  firstBadAt?: number;
  /** When the first cell entered the infinite loop (hang). */
  firstHangAt?: number;
  detectedAt?: number;
  detection?: string;
  /** From the first bad cell up to detection (the verdict's figure). */
  detectionFromDeployMs?: number;
  /** From the fault's onset (the first hang for a hang, else the first bad cell up) to detection (the benchmark's figure). */
  detectionMs?: number;
  /** From the first bad cell until every cell is healthy on the good version again. */
  recoveryMs?: number;
  /** From detection until every cell is healthy on the good version again. */
  rollbackMs?: number;
  recovered: boolean;
  /** Pairs whose two regions were both lost (≥ 25 % of customer requests failing) in the same second. */
  pairsLostBoth: string[];
  pairsTotal: number;
  /** Cells that had to be killed to come back (a graceful request was not enough). */
  forcedCells: string[];
  /** Cells the front door took out of rotation (the driver's drain) before their way back. */
  drainedCells: string[];
  /** When the first failing probe of a bad cell came back (its start plus its latency). */
  failingProbeAt?: number;
  /** When the status page, rebuilt during the run, first showed that cell's region with a problem, after that. */
  pageShownAt?: number;
  /** Cells whose process reported entering the infinite loop. */
  hungCells: string[];
  rolloutId?: string;
  rolloutPhase?: string;
  /** Customer requests per second and region: ok, error, timeout. */
  customerTimeline: Array<{ at: number; regions: Record<string, Counts> }>;
  /** Every process the run started, and those still running when it ended (should be none). */
  pids: number[];
  leftoverPids: number[];
  startedAt: number;
  endedAt: number;
  eventLog: string;
  aborted?: boolean;
  /** The run's folder (`<out>/<run>/`): its etape.yaml, store, status page and SLA report. */
  dir: string;
  /** SLA credits owed over the run's window, by currency, as if the window were the billing month. */
  slaCredits?: Record<string, number>;
  /** The run's status page (file:// URL of its index.html). */
  statusPage?: string;
  /** What the status page and the SLA report say (see src/demo/reports.ts). */
  reports?: DemoReports;
}

export interface DemoVerdict {
  generated_at: string;
  fault: Fault;
  fleet: { regions: number; cells: number; pairs: number; canary: string[] };
  runs: Partial<Record<'all_at_once' | 'staged', RunResult>>;
  /** SLA credits each run would owe (by currency) if its own window were the billing month. */
  sla_credits: Partial<Record<'all_at_once' | 'staged', Record<string, number>>>;
  /** Each run's status page (file:// URL of its index.html). */
  status_pages: Partial<Record<'all_at_once' | 'staged', string>>;
  out: string;
  files: string[];
  pids: number[];
  leftover_pids: number[];
  aborted: boolean;
}

/** The demo customers' bills (per month, in this currency). */

/** How the bad version misbehaves for each fault. */
export function behaviourFor(fault: Fault): VersionBehaviour {
  switch (fault) {
    case 'hang':
      return { fault };
    // Mild on purpose: a few more errors, a slower tail. Probes (k in a row) rarely notice within a bake;
    // the canary judge does (src/demo/judge.ts).
    case 'errors':
      return { fault, errorRate: 0.05 };
    case 'latency':
      return { fault, latencyMs: 200 };
    case 'crash-loop':
      return { fault, crashAfterMs: 800 };
  }
}

export function defaultOut(now = Date.now()): string {
  return join(
    'demo-out',
    new Date(now)
      .toISOString()
      .replace(/[:]/g, '-')
      .replace(/\.\d+Z$/, 'Z'),
  );
}

interface Ctx {
  o: Required<Omit<DemoOptions, 'out' | 'cells' | 'output' | 'tty' | 'signal' | 'runs'>> & DemoOptions;
  spec: FleetSpec;
  out: string;
  view?: View;
  signal: AbortSignal;
}

export async function runDemo(opts: DemoOptions): Promise<DemoVerdict> {
  if (!FAULTS.includes(opts.fault)) throw new RangeError(`unknown fault ${opts.fault}`);
  const spec = defaultFleetSpec({ regions: opts.regions, cells: opts.cells });
  const out = resolve(opts.out ?? defaultOut());
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new EtapeError(
      'usage',
      `cannot create the output folder ${out} (${(e as NodeJS.ErrnoException).code ?? String(e)}): choose another with --out DIR`,
    );
  }
  const o = {
    regions: 8,
    json: false,
    intervalMs: 500,
    timeoutMs: 1000,
    k: 3,
    canaryBakeMs: 10_000,
    bakeMs: 4000,
    ratePerRegion: 10,
    customerTimeoutMs: 1000,
    quiet: false,
    warmupMs: 1500,
    tailMs: 1000,
    reports: true,
    ...opts,
  };
  const signal = opts.signal ?? new AbortController().signal;
  const view = o.quiet ? undefined : createView(opts.output ?? process.stdout, { tty: opts.tty });
  const ctx: Ctx = { o, spec, out, view, signal };
  const runs = opts.runs ?? ['all-at-once', 'staged'];
  const results: DemoVerdict['runs'] = {};
  const files: string[] = [];
  try {
    for (const mode of runs) {
      if (signal.aborted) break;
      const r = mode === 'all-at-once' ? await runAllAtOnce(ctx) : await runStaged(ctx);
      results[mode === 'all-at-once' ? 'all_at_once' : 'staged'] = r;
      files.push(r.eventLog);
    }
  } finally {
    view?.close();
  }
  const all = Object.values(results);
  const pids = all.flatMap((r) => r?.pids ?? []);
  const verdict: DemoVerdict = {
    generated_at: new Date().toISOString(),
    fault: opts.fault,
    fleet: {
      regions: spec.regions.length,
      cells: spec.regions.reduce((n, r) => n + r.cells.length, 0),
      pairs: pairsOf(spec).length,
      canary: spec.regions.filter((r) => r.canary).map((r) => r.id),
    },
    runs: results,
    sla_credits: Object.fromEntries(Object.entries(results).flatMap(([k, r]) => (r?.slaCredits ? [[k, r.slaCredits]] : []))),
    status_pages: Object.fromEntries(Object.entries(results).flatMap(([k, r]) => (r?.statusPage ? [[k, r.statusPage]] : []))),
    out,
    files: [],
    pids,
    leftover_pids: pids.filter(isRunning),
    aborted: signal.aborted,
  };
  const verdictFile = join(out, 'verdict.json');
  verdict.files = [...files, verdictFile];
  for (const r of Object.values(results)) {
    if (!r) continue;
    verdict.files.push(join(r.dir, 'etape.yaml'), join(r.dir, 'etape.db'));
    if (r.reports) verdict.files.push(...r.reports.files);
  }
  writeFileSync(verdictFile, JSON.stringify(verdict, null, 2) + '\n');
  return verdict;
}

// ---------------------------------------------------------------------------------------------- runs

interface Harness {
  fleet: Fleet;
  monitor: FleetMonitor;
  load: LoadGenerator;
  events: Array<{ at: number; actor: string; type: string; data: unknown }>;
  stage: Map<string, string>;
  /** The staged run's rollout, once started (for the progress view). */
  staged?: StagedHandle;
  /** Run before the fleet stops (the controller and its probes must not see the fleet go away). */
  beforeStop: Array<() => Promise<void>>;
  note(type: string, text: string, data?: Record<string, unknown>): void;
  startedAt: number;
  /** The run's folder and its etape.yaml (the running fleet's ports). */
  dir: string;
  config: EtapeConfig;
  /** The run's evidence store, once the run collects evidence; the status page, SLA report and verdict read it. */
  evidence?: { store: Store; from: number; reporter: DemoReporter; close?: () => Promise<void> };
  /** Records an event in the run's store (held until the store is there). */
  record(type: string, at: number, data: Record<string, unknown>): void;
  /** Starts the status page and the customers' counts on the run's store (both runs alike). */
  collect(store: Store, close?: () => Promise<void>): void;
}

async function withFleet(ctx: Ctx, mode: RunMode, body: (h: Harness) => Promise<Partial<RunResult>>): Promise<RunResult> {
  const { o, spec, view } = ctx;
  const startedAt = Date.now();
  const title =
    mode === 'all-at-once'
      ? `Run 1 · all at once: ${BAD} (${o.fault}) to every cell together, as in 2014`
      : `Run 2 · etape: the staged plan, probes and gates, ${BAD} (${o.fault})`;
  view?.startRun(startedAt);
  view?.event(`${title}`);
  view?.event(
    `starting a fleet of ${spec.regions.length} regions, ${spec.regions.reduce((n, r) => n + r.cells.length, 0)} cells on ${GOOD}`,
  );
  const fleet = await Fleet.start({ spec, initialVersion: GOOD, versions: { [BAD]: behaviourFor(o.fault) }, startTimeoutMs: 30_000 }).catch(
    (e: unknown) => {
      throw new EtapeError('internal', `the demo fleet could not start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    },
  );
  const dir = join(ctx.out, mode);
  mkdirSync(dir, { recursive: true });
  const { config, yamlText } = demoConfig(ctx, fleet);
  writeFileSync(join(dir, 'etape.yaml'), yamlText);
  const monitor = new FleetMonitor(fleet, { intervalMs: o.intervalMs, timeoutMs: o.timeoutMs, k: o.k });
  const load = new LoadGenerator({
    targets: spec.regions.map((r) => ({ region: r.id, cells: r.cells })),
    // Customers go through each region's front door, which skips a drained cell.
    resolve: (r, c) => fleet.frontDoor(r, c),
    ratePerRegion: o.ratePerRegion,
    timeoutMs: o.customerTimeoutMs,
    maxDurationMs: 5 * 60_000,
    maxRequests: 500_000,
  });
  const events: Harness['events'] = [];
  const stage = new Map<string, string>();
  // What the run records in its store, in order: held until the run has a store, then written one batch at a time.
  let held: NewEvent[] = [];
  let writing: Promise<void> = Promise.resolve();
  const writeHeld = () => {
    const store = h.evidence?.store;
    if (!store || held.length === 0) return writing;
    const batch = held;
    held = [];
    writing = writing.then(() => store.appendEvents(batch)).catch(() => undefined);
    return writing;
  };
  const h: Harness = {
    fleet,
    monitor,
    load,
    events,
    stage,
    startedAt,
    beforeStop: [],
    dir,
    config,
    note(type, text, data = {}) {
      const at = Date.now();
      events.push({ at, actor: 'demo', type, data: { ...data, text } });
      h.record(`demo.${type}`, at, { ...data, text });
      view?.event(text, at);
    },
    record(type, at, data) {
      held.push({ rolloutId: null, at, actor: 'demo', type, data });
      void writeHeld();
    },
    collect(store, close) {
      const reporter = new DemoReporter({
        store,
        config,
        dir,
        timeline: () => load.timeline(),
        customerTimeoutMs: o.customerTimeoutMs,
        reports: o.reports,
      });
      reporter.start();
      h.evidence = { store, from: Date.now(), reporter, close };
      void writeHeld();
    },
  };
  // Every process the fleet starts, as it starts, becomes ready and hangs: the verdict reads these from the store.
  const proc = (type: string) => (i: { region: string; cell: string; version: string; pid: number; cause?: string }, at: number) =>
    h.record(type, at, { target: `${i.region}/${i.cell}`, version: i.version, pid: i.pid, ...(i.cause ? { cause: i.cause } : {}) });
  fleet.on('start', (i: Incarnation) => proc(PROCESS_STARTED)(i, i.startedAt));
  fleet.on('ready', (i: Incarnation) => proc(PROCESS_READY)(i, i.readyAt ?? Date.now()));
  fleet.on('hang', (e: { region: string; cell: string; version: string; pid: number; at: number }) => proc(PROCESS_HUNG)(e, e.at));
  // Every hang goes to the log; the live view shows the first few and then a count, not a wall of lines.
  const hung = new Set<string>();
  const cellsTotal = spec.regions.reduce((n, r) => n + r.cells.length, 0);
  fleet.on('hang', (e: { region: string; cell: string; at: number }) => {
    const id = `${e.region}/${e.cell}`;
    stage.set(id, 'hung');
    hung.add(id);
    const text = `${id} is stuck in the blob path's infinite loop`;
    if (hung.size <= 2) return h.note('cell.hung', text, { target: id });
    events.push({ at: e.at, actor: 'demo', type: 'cell.hung', data: { target: id, text } });
    if (hung.size === cellsTotal || hung.size % 8 === 0) view?.event(`${hung.size} of ${cellsTotal} cells are stuck in the infinite loop`);
  });
  fleet.on('exit', (e: { region: string; cell: string; version: string; exit: string }) => {
    if (o.fault === 'crash-loop' && e.version === BAD) stage.set(`${e.region}/${e.cell}`, 'crashed');
  });
  let result: Partial<RunResult> = {};
  let aborted: boolean;
  // Ctrl-C: stop the traffic and kill every cell now; whatever was waiting on them fails fast and returns.
  const onAbort = () => {
    load.abort();
    void fleet.stop();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    monitor.start();
    load.start();
    view?.frame(() => frame(ctx, h, title, mode === 'all-at-once' ? allAtOnceStatus(h) : stagedStatus(h)));
    const warm = await monitor.waitFor(() => monitor.allHealthy(GOOD), 30_000, ctx.signal);
    if (!warm && !ctx.signal.aborted) {
      throw new EtapeError(
        'internal',
        'the demo fleet did not become healthy within 30s: the machine may be very busy; try a smaller fleet (--regions 2 --cells 2)',
      );
    }
    await sleep(o.warmupMs, ctx.signal);
    if (!ctx.signal.aborted) result = await body(h);
    // A short tail so the traffic after recovery is counted too.
    if (!ctx.signal.aborted) await sleep(o.tailMs, ctx.signal);
  } finally {
    aborted = ctx.signal.aborted;
    if (aborted) load.abort();
    else await load.stop();
    await monitor.stop();
    for (const fn of h.beforeStop) await fn().catch(() => undefined);
    view?.endRun();
    await fleet.stop();
    ctx.signal.removeEventListener('abort', onAbort);
  }
  const endedAt = Date.now();
  let reports: DemoReports | undefined;
  // The verdict's figures come from the run's store, as the status page's and the SLA report's do.
  let facts: RunFacts = runFacts({ events: [], customers: [], spec, badVersion: BAD, mode });
  const eventLog = join(ctx.out, `${mode}.events.jsonl`);
  let page: Pick<RunResult, 'failingProbeAt' | 'pageShownAt'> = {};
  let drained: string[] = [];
  if (h.evidence) {
    const { store, reporter, from, close } = h.evidence;
    await writeHeld();
    try {
      if (!aborted) {
        page = await pageFollowing(store, config, reporter, fleet);
        drained = [
          ...new Set((await store.listEvents({ types: ['target.drained'] })).map((e) => String((e.data as { target?: unknown }).target))),
        ];
        reports = await reporter.finish({ fromMs: from, toMs: endedAt, label: `${mode} run` });
      } else await reporter.abort();
    } catch (e) {
      view?.event(`the status page or the SLA report could not be written: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      facts = await runFactsFromStore(store, { spec, badVersion: BAD, mode, service: config.services[0].name });
      if (mode === 'all-at-once') {
        const stored = await store.listEvents({});
        writeFileSync(eventLog, stored.map((e) => JSON.stringify(e)).join('\n') + '\n');
      }
    } catch (e) {
      view?.event(`the run's store could not be read for the verdict: ${e instanceof Error ? e.message : String(e)}`);
    }
    await close?.().catch(() => undefined);
  }
  if (mode === 'all-at-once' && !existsSync(eventLog)) writeFileSync(eventLog, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const pids = fleet.pids();
  const onset = o.fault === 'hang' ? (facts.firstHangAt ?? facts.firstBadAt) : facts.firstBadAt;
  const { detectedAt, detection, ...measured } = facts;
  const r: RunResult = {
    mode,
    fault: o.fault,
    regionsTotal: spec.regions.length,
    cellsTotal: spec.regions.reduce((n, x) => n + x.cells.length, 0),
    ...measured,
    recovered: false,
    pairsTotal: pairsOf(ctx.spec).length,
    customerTimeline: load.timeline().map((b) => ({ at: b.at, regions: b.regions })),
    drainedCells: drained,
    ...page,
    pids,
    leftoverPids: pids.filter(isRunning),
    startedAt,
    endedAt,
    eventLog,
    aborted,
    dir,
    ...(reports ? { reports, slaCredits: reports.sla.totals, statusPage: reports.statusUrl } : {}),
    ...result,
    // Detection as the store recorded it (the demo's own, or the rollout's halt), not as a loop remembers it.
    ...(detectedAt !== undefined ? { detectedAt, detection } : {}),
  };
  if (r.detectedAt !== undefined && onset !== undefined) r.detectionMs = Math.max(0, r.detectedAt - onset);
  if (r.detectedAt !== undefined && facts.firstBadAt !== undefined) r.detectionFromDeployMs = Math.max(0, r.detectedAt - facts.firstBadAt);
  return r;
}

/** The first failing probe of a cell on the bad version, and when the page written during the run first showed it. */
async function pageFollowing(
  store: Store,
  config: EtapeConfig,
  reporter: DemoReporter,
  fleet: Fleet,
): Promise<Pick<RunResult, 'failingProbeAt' | 'pageShownAt'>> {
  const svc = config.services[0];
  const probes = new Set(svc.probes.map((p) => p.name));
  const bad = fleet.incarnations().filter((i) => i.version === BAD);
  const obs = await store.queryObservations({ service: svc.name, from: min(bad.map((i) => i.startedAt)) ?? Date.now() });
  const onBad = (o: Observation) =>
    bad.some((i) => i.region === o.region && i.cell === o.cell && o.at >= i.startedAt && (i.exitedAt === undefined || o.at < i.exitedAt));
  const first = obs
    .filter((o) => probes.has(o.source) && o.verdict !== 'pass' && onBad(o))
    .map((o) => ({ region: o.region, answeredAt: o.at + (o.latencyMs ?? 0) }))
    .sort((a, b) => a.answeredAt - b.answeredAt)[0];
  if (!first) return {};
  const shown = reporter.firstShownBad(first.region, first.answeredAt);
  return { failingProbeAt: first.answeredAt, ...(shown !== undefined ? { pageShownAt: shown } : {}) };
}

async function runAllAtOnce(ctx: Ctx): Promise<RunResult> {
  const { o } = ctx;
  return withFleet(ctx, 'all-at-once', async (h) => {
    const { fleet, monitor, stage, note } = h;
    // The same evidence as the staged run: the probe runner on the same probes, writing to a store.
    const store = await openStore(join(h.dir, 'etape.db'));
    const prober = newProber(h.config, store);
    prober.start();
    h.collect(store, () => store.close());
    h.beforeStop.push(() => prober.stop());
    const cells = fleet.list();
    note('deploy.all', `deploying ${BAD} to all ${cells.length} cells at once`, { version: BAD, cells: cells.length });
    // Only the bad version's failures count, as etape's gates judge only the new version (I9).
    monitor.arm(Date.now(), BAD);
    let detectedAt: number | undefined;
    let detection: string | undefined;
    // As etape's controller does on a halt, detection stops the deploy calls still waiting: a new process
    // that hangs before its first /health answer would otherwise hold its cell until the start timeout.
    const stopDeploy = new AbortController();
    setMaxListeners(0, stopDeploy.signal); // one listener per cell's deploy call
    const onAbort = () => stopDeploy.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    monitor.onDetect((d) => {
      detectedAt = d.at;
      detection = `${d.region}/${d.cell}: ${d.detail}`;
      note('detected', `detected: ${detection}`, { target: `${d.region}/${d.cell}`, detection });
      stopDeploy.abort();
    });
    let waiting = 0;
    let notDeployed = 0;
    await Promise.all(
      cells.map(async (c) => {
        const id = `${c.region}/${c.cell}`;
        stage.set(id, 'deploying');
        // Every cell is asked, as in 2014; detection only stops waiting for new processes to answer.
        const r = await fleet.gracefulRestart(c.region, c.cell, BAD, { askTimeoutMs: 2000, stopWaiting: stopDeploy.signal });
        if (!r.ok && stopDeploy.signal.aborted) waiting++;
        else if (!r.ok) notDeployed++;
        if (stage.get(id) === 'deploying') stage.set(id, r.ok ? 'deployed' : 'deploy failed');
      }),
    );
    ctx.signal.removeEventListener('abort', onAbort);
    if (waiting)
      note('deploy.stopped', `deploy stopped at detection: ${waiting} of ${cells.length} cells had not answered /health on ${BAD} yet`, {
        cells: waiting,
      });
    else if (notDeployed)
      note('deploy.incomplete', `${notDeployed} of ${cells.length} cells could not be restarted on ${BAD}`, { cells: notDeployed });
    else note('deploy.done', `every cell restarted on ${BAD}`);
    const found = await monitor.waitFor(() => monitor.detected() !== undefined, 30_000, ctx.signal);
    if (!found) note('not_detected', `no probe failed ${o.k} times in a row within 30s; reverting anyway`);
    if (ctx.signal.aborted) return { detectedAt, detection };

    // The revert, as in 2014: ask every cell to go back; the hung ones cannot hear it and must be killed.
    const revertAt = Date.now();
    note('revert.started', `reverting: asking every cell to restart on ${GOOD}`);
    const forced: string[] = [];
    await Promise.all(
      fleet.list().map(async (c) => {
        const id = `${c.region}/${c.cell}`;
        stage.set(id, 'reverting');
        const r = await fleet.gracefulRestart(c.region, c.cell, GOOD, { askTimeoutMs: 2000 });
        if (r.ok) {
          stage.set(id, 'back');
          return;
        }
        forced.push(id);
        stage.set(id, 'forcing');
        const f = await fleet.forceRestart(c.region, c.cell, GOOD);
        stage.set(id, f.ok ? 'forced back' : 'force failed');
      }),
    );
    if (ctx.signal.aborted) return { detectedAt, detection };
    if (forced.length)
      note('revert.forced', `${forced.length} of ${cells.length} cells ignored the revert and were killed and restarted on ${GOOD}`, {
        cells: forced,
      });
    const ok = await monitor.waitFor(() => monitor.allHealthy(GOOD, revertAt), 60_000, ctx.signal);
    const recoveredAt = ok ? Date.now() : undefined;
    if (ok) note('recovered', `every cell is healthy on ${GOOD} again`);
    const first = min(
      fleet
        .incarnations()
        .filter((i) => i.version === BAD)
        .map((i) => i.readyAt ?? i.startedAt),
    );
    return {
      detectedAt,
      detection,
      recovered: ok,
      recoveryMs: recoveredAt !== undefined && first !== undefined ? recoveredAt - first : undefined,
      rollbackMs: recoveredAt !== undefined && detectedAt !== undefined ? recoveredAt - detectedAt : undefined,
    };
  });
}

async function runStaged(ctx: Ctx): Promise<RunResult> {
  let staged: StagedHandle | undefined;
  const result = await withFleet(ctx, 'staged', async (h) => {
    const { fleet, monitor, note } = h;
    staged = await startStagedRollout({
      config: h.config,
      storePath: join(h.dir, 'etape.db'),
      driverFor: (svc) => createDriver(svc, { extra: { fleet: fleetDriverMaker(fleet, { startTimeoutMs: 30_000 }) } }),
      version: BAD,
      signal: ctx.signal,
      // The run's status page follows what the runtime records (h.collect below starts it).
      listener: {
        evidence: (obs) => h.evidence?.reporter?.listener.evidence(obs),
        events: (evs) => h.evidence?.reporter?.listener.events(evs),
      },
      onEvent: (e) => {
        const text = describeEvent(e);
        if (text) ctx.view?.event(text, e.at);
      },
    });
    h.staged = staged;
    h.collect(staged.store);
    h.beforeStop.push(() => staged!.stop());
    note('rollout.started', `rollout ${staged.rolloutId}: ${staged.plan.waves.length} waves, ${planSummary(staged.plan)}`, {
      rollout: staged.rolloutId,
    });
    const end = await staged.waitForEnd(3 * 60_000, ctx.signal);
    const halted = (await staged.events()).find((e) => e.type === 'rollout.halted');
    const detectedAt = halted?.at;
    const detection = halted ? String((halted.data as { reason?: string }).reason ?? 'halted') : undefined;
    let recoveredAt: number | undefined;
    if (end === 'rolled_back' || end === 'failed') {
      const ok = await monitor.waitFor(() => monitor.allHealthy(GOOD, detectedAt ?? 0), 60_000, ctx.signal);
      if (ok) {
        recoveredAt = Date.now();
        note('recovered', `every cell is healthy on ${GOOD} again`);
      }
    }
    const first = min(
      fleet
        .incarnations()
        .filter((i) => i.version === BAD)
        .map((i) => i.readyAt ?? i.startedAt),
    );
    return {
      rolloutId: staged.rolloutId,
      rolloutPhase: end,
      detectedAt,
      detection,
      recovered: recoveredAt !== undefined,
      recoveryMs: recoveredAt !== undefined && first !== undefined ? recoveredAt - first : undefined,
      rollbackMs: recoveredAt !== undefined && detectedAt !== undefined ? recoveredAt - detectedAt : undefined,
    };
  }).finally(async () => {
    if (staged) {
      await staged.stop();
      // The event log from the store, as JSON lines.
      const events = await staged.events().catch(() => [] as EventRecord[]);
      writeFileSync(join(ctx.out, 'staged.events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      await staged.close();
    }
  });
  return result;
}

// ----------------------------------------------------------------------------------------- the view

function frame(ctx: Ctx, h: Harness, title: string, status: () => string[]): Frame {
  const { spec } = ctx;
  const stats = h.load.snapshot();
  const regions: RegionView[] = spec.regions.map((r) => ({
    id: r.id,
    geography: r.geography,
    pair: r.pair ?? spec.regions.find((x) => x.pair === r.id)?.id,
    canary: r.canary,
    ok: stats.regions[r.id]?.ok ?? 0,
    failed: stats.regions[r.id] ? failed(stats.regions[r.id]) : 0,
    cells: r.cells.map((c): CellView => {
      const s = h.fleet.get(r.id, c);
      const m = h.monitor.get(r.id, c);
      const id = `${r.id}/${c}`;
      const version = s?.version ?? '?';
      // The monitor's latest answer, if it is about the process running now.
      let health: Health = m && m.pid === s?.pid ? (m.health === 'ok' && m.blob !== 'ok' ? m.blob : m.health) : 'unknown';
      if (s && s.state !== 'up') health = 'down';
      if (s?.hung) health = 'timeout';
      let st = h.staged?.targetStage(id) ?? h.stage.get(id) ?? '';
      if (s?.hung && !/forc/.test(st)) st = 'hung';
      return { cell: c, version, health, stage: st, bad: version === BAD };
    }),
  }));
  return { title, status: status(), regions, startedAt: h.startedAt };
}

function allAtOnceStatus(h: Harness): () => string[] {
  return () => {
    const s = h.load.snapshot();
    return [`customers: ${s.total.ok} ok, ${failed(s.total)} failed (${s.total.timeout} timed out)`];
  };
}

function stagedStatus(h: Harness): () => string[] {
  return () => {
    const s = h.load.snapshot();
    const lines = h.staged ? h.staged.statusLines() : ['planning…'];
    return [...lines, `customers: ${s.total.ok} ok, ${failed(s.total)} failed (${s.total.timeout} timed out)`];
  };
}

function planSummary(plan: Plan): string {
  return plan.waves.map((w) => `${w.index}:${w.kind}[${w.regions.join(',')}]`).join(' → ');
}

/** One line for a stored event, or undefined for the ones the live view leaves out (the log keeps all). */
// --------------------------------------------------------------------------------------- the verdict

/** The side-by-side table people read at the end. */
// ------------------------------------------------------------------------------------------- helpers

/** The open incidents the run's status page ends with, and whether they are a banner. */
function min(xs: Array<number | undefined>): number | undefined {
  let m: number | undefined;
  for (const x of xs) if (x !== undefined && (m === undefined || x < m)) m = x;
  return m;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal);
}
