// Prometheus as an evidence source: PromQL instant and range queries over the HTTP API, per target, with
// {region}, {cell}, {version} templates and timeouts. Failures are values: a query error or timeout is an
// `error` measurement, an empty result is `inconclusive`, never a pass (I3).
import type { Observation } from '../core/types.js';
import { parseDuration } from '../core/duration.js';
import type { GateConfig, ServiceConfig } from '../config/service.js';
import type { FleetConfig } from '../config/fleet.js';
import { ms } from '../config/common.js';
import { systemClock, type Clock } from '../core/clock.js';
import { compileConditions, metricMeasurement, type QueryOutcome } from '../gates/metric-gate.js';
import {
  endOfBakeAction,
  judge,
  type CountPoint,
  type JudgeMetricInput,
  type JudgeResult,
  type TargetSeries,
  type ValuePoint,
} from '../judge/judge.js';

type MetricGateConfig = Extract<GateConfig, { kind: 'metric' }>;
type JudgeGateConfig = Extract<GateConfig, { kind: 'judge' }>;

/** Where a query is aimed: one cell of one region, on one version. */
export interface QueryTarget {
  region: string;
  cell: string;
  version?: string;
  /** Extra template variables (region or cell `vars`). */
  vars?: Record<string, string>;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  /** [unix ms, value] */
  points: [number, number][];
}

export type InstantOutcome = { ok: true; samples: Sample[] } | { ok: false; error: string };
export type RangeOutcome = { ok: true; series: RangeSeries[] } | { ok: false; error: string };

/** PromQL string literals: escape backslashes and quotes so a value cannot break out of its label matcher. */
function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Fills `{region}`, `{cell}`, `{version}` and any `vars` in a PromQL template. Only names it knows are
 * replaced, so label matchers like `{code=~"5.."}` are left alone. Unknown placeholders stay as written.
 */
export function renderQuery(template: string, target: QueryTarget): string {
  const vars: Record<string, string> = { ...(target.vars ?? {}), region: target.region, cell: target.cell };
  if (target.version !== undefined) vars.version = target.version;
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? escapeLabelValue(vars[name]) : whole,
  );
}

export interface PrometheusOptions {
  baseUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** A Prometheus HTTP API client whose calls never throw: every failure comes back as `{ ok: false }`. */
export class PrometheusClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: PrometheusOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** Instant query at `timeMs` (default: the server's now). */
  async instant(query: string, timeMs?: number): Promise<InstantOutcome> {
    const params = new URLSearchParams({ query });
    if (timeMs !== undefined) params.set('time', (timeMs / 1000).toFixed(3));
    const r = await this.call('/api/v1/query', params);
    if (!r.ok) return r;
    const data = r.data as { resultType?: string; result?: unknown };
    if (data.resultType === 'scalar') {
      const [, v] = data.result as [number, string];
      return { ok: true, samples: [{ metric: {}, value: Number(v) }] };
    }
    if (data.resultType !== 'vector' || !Array.isArray(data.result)) {
      return { ok: false, error: `expected an instant vector, got ${data.resultType ?? 'nothing'}` };
    }
    return {
      ok: true,
      samples: (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
        metric: s.metric ?? {},
        value: Number(s.value[1]),
      })),
    };
  }

  /** Range query from `startMs` to `endMs` every `stepMs`. */
  async range(query: string, startMs: number, endMs: number, stepMs: number): Promise<RangeOutcome> {
    const params = new URLSearchParams({
      query,
      start: (startMs / 1000).toFixed(3),
      end: (endMs / 1000).toFixed(3),
      step: `${Math.max(1, stepMs) / 1000}`,
    });
    const r = await this.call('/api/v1/query_range', params);
    if (!r.ok) return r;
    const data = r.data as { resultType?: string; result?: unknown };
    if (data.resultType !== 'matrix' || !Array.isArray(data.result)) {
      return { ok: false, error: `expected a range vector, got ${data.resultType ?? 'nothing'}` };
    }
    return {
      ok: true,
      series: (data.result as { metric: Record<string, string>; values: [number, string][] }[]).map((s) => ({
        metric: s.metric ?? {},
        points: (s.values ?? []).map(([t, v]) => [Math.round(t * 1000), Number(v)] as [number, number]),
      })),
    };
  }

  private async call(path: string, params: URLSearchParams): Promise<{ ok: true; data: unknown } | { ok: false; error: string }> {
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: params.toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError')
        return { ok: false, error: `Prometheus query timed out after ${this.timeoutMs}ms (${this.base})` };
      const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
      return {
        ok: false,
        error: `cannot reach Prometheus at ${this.base}: ${cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e)}`,
      };
    }
    let body: { status?: string; data?: unknown; error?: string; errorType?: string };
    try {
      body = (await res.json()) as typeof body;
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'TimeoutError' || name === 'AbortError')
        return { ok: false, error: `Prometheus query timed out after ${this.timeoutMs}ms (${this.base})` };
      return { ok: false, error: `Prometheus answered HTTP ${res.status} without JSON` };
    }
    if (body.status !== 'success') {
      return { ok: false, error: `Prometheus ${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? 'query failed'}` };
    }
    return { ok: true, data: body.data };
  }
}

/** One metric-gate measurement of one target, as an observation to store (source = the gate name). */
export async function measureMetricGate(
  client: PrometheusClient,
  gate: MetricGateConfig,
  service: string,
  target: QueryTarget,
  now: number,
): Promise<Observation> {
  const conds = compileConditions(gate);
  const out = await client.instant(renderQuery(gate.query, target), now);
  const outcome: QueryOutcome = out.ok ? { ok: true, values: out.samples.map((s) => s.value) } : out;
  const m = metricMeasurement(outcome, conds);
  return {
    service,
    region: target.region,
    cell: target.cell,
    source: gate.name,
    at: now,
    verdict: m.verdict,
    value: m.value,
    version: target.version,
    detail: m.detail,
  };
}

const targetName = (t: QueryTarget) => `${t.region}/${t.cell}`;

/** Turns cumulative counter series into per-step increments keyed by time (resets count from zero). */
export function counterIncrements(series: RangeSeries[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of series) {
    for (let i = 1; i < s.points.length; i++) {
      const [t, v] = s.points[i];
      const prev = s.points[i - 1][1];
      if (!Number.isFinite(v) || !Number.isFinite(prev)) continue;
      const inc = v >= prev ? v - prev : v; // a reset: the process restarted and counts from zero
      out.set(t, (out.get(t) ?? 0) + inc);
    }
  }
  return out;
}

export type JudgeInputOutcome = { ok: true; metrics: JudgeMetricInput[] } | { ok: false; error: string };

/**
 * Fetches what the judge compares: for each metric, the canary targets' and the baseline targets' series
 * from `startMs` to `endMs`. Any query error makes the whole look an error (never a pass).
 */
export async function collectJudgeInput(
  client: PrometheusClient,
  gate: JudgeGateConfig,
  canary: QueryTarget[],
  baseline: QueryTarget[],
  startMs: number,
  endMs: number,
): Promise<JudgeInputOutcome> {
  const stepMs = parseDuration(gate.step) ?? 15_000;
  const metrics: JudgeMetricInput[] = [];
  for (const m of gate.metrics) {
    const spec = {
      name: m.name,
      direction: m.direction,
      critical: m.critical,
      effectFloor: m.effectFloor,
      weight: m.weight,
      minSamples: m.minSamples,
      passMargin: m.passMargin,
      alignInTime: m.alignInTime,
    };
    if (m.kind === 'count') {
      const side = async (targets: QueryTarget[]): Promise<TargetSeries<CountPoint>[] | string> => {
        const out: TargetSeries<CountPoint>[] = [];
        for (const t of targets) {
          const [errs, totals] = await Promise.all([
            client.range(renderQuery(m.query, t), startMs, endMs, stepMs),
            client.range(renderQuery(m.totalQuery ?? '', t), startMs, endMs, stepMs),
          ]);
          if (!errs.ok) return `${m.name} for ${targetName(t)}: ${errs.error}`;
          if (!totals.ok) return `${m.name} (total) for ${targetName(t)}: ${totals.error}`;
          const e = counterIncrements(errs.series);
          const n = counterIncrements(totals.series);
          // No error series at all means no failed request yet: zero, as long as requests were counted.
          const points = [...n.entries()]
            .sort((a, b) => a[0] - b[0])
            .map(([tt, total]) => ({ t: tt, total, errors: Math.min(total, e.get(tt) ?? 0) }));
          out.push({ target: targetName(t), points });
        }
        return out;
      };
      const c = await side(canary);
      if (typeof c === 'string') return { ok: false, error: c };
      const b = await side(baseline);
      if (typeof b === 'string') return { ok: false, error: b };
      metrics.push({ ...spec, kind: 'count', canary: c, baseline: b });
    } else {
      const side = async (targets: QueryTarget[]): Promise<TargetSeries<ValuePoint>[] | string> => {
        const out: TargetSeries<ValuePoint>[] = [];
        for (const t of targets) {
          const r = await client.range(renderQuery(m.query, t), startMs, endMs, stepMs);
          if (!r.ok) return `${m.name} for ${targetName(t)}: ${r.error}`;
          const points: ValuePoint[] = [];
          for (const s of r.series) for (const [tt, v] of s.points) if (Number.isFinite(v)) points.push({ t: tt, value: v });
          out.push({ target: targetName(t), points });
        }
        return out;
      };
      const c = await side(canary);
      if (typeof c === 'string') return { ok: false, error: c };
      const b = await side(baseline);
      if (typeof b === 'string') return { ok: false, error: b };
      metrics.push({ ...spec, kind: 'latency', canary: c, baseline: b });
    }
  }
  return { ok: true, metrics };
}

export interface JudgeMeasurement {
  result?: JudgeResult;
  observations: Observation[];
}

/**
 * One look of a judge gate: fetch, judge, and one observation per canary target (source = the gate name,
 * value = score, evidenceFraction set). The controller stores these; the judge gate reads them.
 */
export async function measureJudge(
  client: PrometheusClient,
  gate: JudgeGateConfig,
  service: string,
  canary: QueryTarget[],
  baseline: QueryTarget[],
  startMs: number,
  now: number,
  endOfBake = false,
): Promise<JudgeMeasurement> {
  const obs = (verdict: Observation['verdict'], detail: string, extra: Partial<Observation> = {}): Observation[] =>
    canary.map((t) => ({
      service,
      region: t.region,
      cell: t.cell,
      source: gate.name,
      at: now,
      verdict,
      version: t.version,
      detail,
      ...extra,
    }));
  if (baseline.length === 0)
    return { observations: obs('inconclusive', 'no baseline targets on the old version to compare with', { evidenceFraction: 0 }) };
  const input = await collectJudgeInput(client, gate, canary, baseline, startMs, now);
  if (!input.ok) return { observations: obs('error', input.error) };
  const result = judge(input.metrics, {
    confidence: gate.confidence,
    passScore: gate.passScore,
    marginalScore: gate.marginalScore,
    minSamples: gate.minSamples,
    minRequests: gate.minRequests,
    negligibleIncrease: gate.negligibleIncrease,
    minBuckets: gate.minBuckets,
    perCell: gate.perCell,
    endOfBake,
  });
  const { verdict, reason } = endOfBakeAction(result, gate.inconclusive);
  return {
    result,
    observations: obs(verdict, reason, { value: result.score, evidenceFraction: result.evidenceFraction }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The runner: keeps metric and judge gate evidence coming while `etape serve` runs, like the Prober does
// for probes. It only measures and stores; verdicts about gates live in src/gates.
// ---------------------------------------------------------------------------------------------------------

/** Which targets a judge gate compares right now; undefined when no wave of the service is baking. */
export interface JudgeTargets {
  canary: QueryTarget[];
  baseline: QueryTarget[];
  /** When the canary targets started on the new version (the window starts here). */
  since: number;
  /** When the wave's bake time is over: the first look from then on decides (endOfBake). */
  bakeEndsAt?: number;
}

export interface GateRunnerOptions {
  store: { recordObservations(obs: Observation[]): Promise<void> };
  clock?: Clock;
  services: ServiceConfig[];
  fleet: FleetConfig;
  /** For judge gates: asked at every look. */
  judgeTargets?: (service: string, gate: string) => JudgeTargets | undefined;
  /** The version a target runs, for `{version}` in metric gate queries. */
  versionOf?: (t: { service: string; region: string; cell: string }) => string | undefined;
  fetch?: typeof fetch;
  /** Called with every observation before it is stored (tests, the status page). */
  onObservation?: (o: Observation) => void;
}

/** Measures every metric gate of every service on every target, and every judge gate, on their intervals. */
export class PrometheusGateRunner {
  private stopper: AbortController | undefined;
  private loops: Promise<void>[] = [];
  private readonly clock: Clock;

  constructor(private readonly opts: GateRunnerOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  start(): void {
    if (this.stopper) return;
    const stop = (this.stopper = new AbortController());
    for (const svc of this.opts.services) {
      for (const gate of svc.gates) {
        if (gate.kind !== 'metric' && gate.kind !== 'judge') continue;
        const client = new PrometheusClient({ baseUrl: gate.prometheus, timeoutMs: ms(gate.timeout), fetch: this.opts.fetch });
        const every = ms(gate.interval);
        this.loops.push(
          (async () => {
            while (!stop.signal.aborted) {
              const obs = await this.measure(svc, gate, client);
              for (const o of obs) this.opts.onObservation?.(o);
              if (obs.length) await this.opts.store.recordObservations(obs).catch(() => undefined);
              await this.clock.sleep(every, stop.signal);
            }
          })(),
        );
      }
    }
  }

  async stop(): Promise<void> {
    this.stopper?.abort();
    await Promise.all(this.loops);
    this.loops = [];
    this.stopper = undefined;
  }

  /** One round of one gate (exposed for tests and for a controller that wants to look now). */
  async measure(svc: ServiceConfig, gate: GateConfig, client: PrometheusClient): Promise<Observation[]> {
    const now = this.clock.now();
    if (gate.kind === 'metric') {
      const targets = serviceTargets(this.opts.fleet, svc).map((t) => ({
        ...t,
        version: this.opts.versionOf?.({ service: svc.name, ...t }),
      }));
      return Promise.all(targets.map((t) => measureMetricGate(client, gate, svc.name, t, now)));
    }
    if (gate.kind === 'judge') {
      const jt = this.opts.judgeTargets?.(svc.name, gate.name);
      if (!jt || jt.canary.length === 0) return [];
      const endOfBake = jt.bakeEndsAt !== undefined && now >= jt.bakeEndsAt;
      return (await measureJudge(client, gate, svc.name, jt.canary, jt.baseline, jt.since, now, endOfBake)).observations;
    }
    return [];
  }
}

/** Every cell of every region a service runs in, with the fleet's template vars. */
export function serviceTargets(fleet: FleetConfig, svc: ServiceConfig): QueryTarget[] {
  const regions = svc.regions === 'all' ? fleet.regions : fleet.regions.filter((r) => (svc.regions as string[]).includes(r.id));
  const out: QueryTarget[] = [];
  for (const r of regions) {
    for (const c of r.cells) {
      const vars: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...(r.vars ?? {}), ...(c.vars ?? {}) })) vars[k] = String(v);
      out.push({ region: r.id, cell: c.id, vars });
    }
  }
  return out;
}
