// Benchmark of the canary judge against the faithful Kayenta baseline (bench/kayenta.ts) on labelled
// canary-vs-baseline cases: a generated set (several seeds) and a set cut from real service metrics
// (bench/fixtures/judge-real, JumpStarter's Dataset2). Each judge runs at its own defaults under one
// protocol; the output says how each figure is measured. Prints figures; asserts nothing.
//   npm run bench:judge                    both sets
//   npm run bench:judge -- --scale 0.1     fewer generated cases per seed (default 0.25), for a quick look
//   npm run bench:judge -- --seeds 1,2,3   other reproducible draws
import { readFileSync } from 'node:fs';
import { judge, type CountPoint, type JudgeMetricInput, type TargetSeries, type ValuePoint } from '../src/judge/judge.js';
import { kayentaJudge, type KMetric } from './kayenta.js';
import { seededRandom } from '../src/core/random.js';

const args = process.argv.slice(2);
const argOf = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const SEEDS = argOf('--seeds', '20141119,7,1999').split(',').map(Number);
const SCALE = Number(argOf('--scale', '0.25')); // share of each scenario's count per seed
const LOOKS = 60; // the bake: 60 looks, one point per cell per look
const INTERIM = 10; // Kayenta with interim analyses: every 10 looks

/** One cell's data per look: a count (failed of total) and a value (latency-like), NaN where missing. */
interface Cell {
  name: string;
  total: number[];
  failed: number[];
  value: number[];
}

type Band = 'none' | 'below floor' | 'floor to margin' | 'margin and above';

interface Case {
  set: string;
  scenario: string;
  bad: boolean;
  band: Band;
  /** which metrics the case judges */
  metrics: ('count' | 'value')[];
  /** direction of the value metric */
  valueDirection: 'increase' | 'either';
  canary: Cell[];
  baseline: Cell[];
}

// ----- the generated set ------------------------------------------------------------------------------------

interface Scenario {
  name: string;
  count: number;
  bad: boolean;
  band: Band;
  gen: (r: () => number) => {
    errorFactor: number;
    errorDelta: number;
    latencyShift: number;
    lowTraffic?: boolean;
    heavy?: boolean;
    daily?: boolean;
    badCell?: boolean;
    canaryCells?: number;
  };
}

const pick = <T>(r: () => number, xs: T[]) => xs[Math.floor(r() * xs.length)];
const uni = (r: () => number, a: number, b: number) => a + (b - a) * r();
const cond = (r: () => number) => ({ heavy: r() < 0.25, daily: r() < 0.25, canaryCells: pick(r, [1, 1, 2, 4]) });
const none = { errorFactor: 1, errorDelta: 0, latencyShift: 0 };

const SCENARIOS: Scenario[] = [
  { name: 'no change', count: 140, bad: false, band: 'none', gen: (r) => ({ ...none, canaryCells: pick(r, [1, 2, 4]) }) },
  {
    name: 'no change, heavy-tailed noise',
    count: 80,
    bad: false,
    band: 'none',
    gen: (r) => ({ ...none, heavy: true, canaryCells: pick(r, [1, 2, 4]) }),
  },
  {
    name: 'no change, daily cycle',
    count: 80,
    bad: false,
    band: 'none',
    gen: (r) => ({ ...none, daily: true, canaryCells: pick(r, [1, 2, 4]) }),
  },
  {
    name: 'no change, low traffic',
    count: 50,
    bad: false,
    band: 'none',
    gen: (r) => ({ ...none, lowTraffic: true, canaryCells: pick(r, [1, 2]) }),
  },
  {
    name: 'errors ×1.25–1.5',
    count: 60,
    bad: true,
    band: 'floor to margin',
    gen: (r) => ({ ...cond(r), ...none, errorFactor: uni(r, 1.25, 1.5) }),
  },
  {
    name: 'errors +1 point',
    count: 80,
    bad: true,
    band: 'margin and above',
    gen: (r) => ({ ...cond(r), ...none, errorDelta: uni(r, 0.0075, 0.0125) }),
  },
  {
    name: 'errors +3–10 points',
    count: 60,
    bad: true,
    band: 'margin and above',
    gen: (r) => ({ ...cond(r), ...none, errorDelta: uni(r, 0.03, 0.1) }),
  },
  {
    name: 'latency +10–20%',
    count: 60,
    bad: true,
    band: 'floor to margin',
    gen: (r) => ({ ...cond(r), ...none, latencyShift: uni(r, 0.1, 0.2) }),
  },
  {
    name: 'latency +20–30%',
    count: 60,
    bad: true,
    band: 'margin and above',
    gen: (r) => ({ ...cond(r), ...none, latencyShift: uni(r, 0.2, 0.3) }),
  },
  {
    name: 'latency +50–100%',
    count: 50,
    bad: true,
    band: 'margin and above',
    gen: (r) => ({ ...cond(r), ...none, latencyShift: uni(r, 0.5, 1.0) }),
  },
  {
    name: 'low traffic, errors +3–10 points',
    count: 30,
    bad: true,
    band: 'margin and above',
    gen: (r) => ({ ...none, errorDelta: uni(r, 0.03, 0.1), lowTraffic: true, canaryCells: 1 }),
  },
  {
    name: 'one bad cell of 4 (errors +2–4 points)',
    count: 60,
    bad: true,
    band: 'margin and above',
    gen: (r) => ({ ...none, errorDelta: uni(r, 0.02, 0.04), badCell: true, canaryCells: 4, heavy: r() < 0.25, daily: r() < 0.25 }),
  },
];

function generate(seed: number, id: number, sc: Scenario): Case {
  const r = seededRandom(seed ^ Math.imul(id + 1, 0x9e3779b1));
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const heavyNoise = () => Math.max(-20, Math.min(20, normal() / Math.sqrt((normal() ** 2 + normal() ** 2) / 2))); // Student t, 2 df
  const p = sc.gen(r);
  const lambda = p.lowTraffic ? uni(r, 3, 15) : uni(r, 200, 1000); // requests per cell per look
  const p0 = uni(r, 0.002, 0.02);
  const lat0 = uni(r, 50, 300);
  const phase = uni(r, 0, 2 * Math.PI);
  const cyc = (t: number, amp: number) => (p.daily ? 1 + amp * Math.sin((2 * Math.PI * t) / 120 + phase) : 1);
  const poisson = (mu: number) => {
    if (mu < 30) {
      let k = 0;
      let prod = r();
      const L = Math.exp(-mu);
      while (prod > L) {
        k++;
        prod *= r();
      }
      return k;
    }
    return Math.max(0, Math.round(mu + Math.sqrt(mu) * normal()));
  };
  const binom = (n: number, q: number) => {
    q = Math.min(1, Math.max(0, q));
    if (n * q < 25 || n * (1 - q) < 25) {
      let k = 0;
      for (let i = 0; i < n; i++) if (r() < q) k++;
      return k;
    }
    return Math.max(0, Math.min(n, Math.round(n * q + Math.sqrt(n * q * (1 - q)) * normal())));
  };
  const cell = (name: string, factor: number, delta: number, shift: number): Cell => {
    const c: Cell = { name, total: [], failed: [], value: [] };
    for (let t = 0; t < LOOKS; t++) {
      const n = poisson(lambda * cyc(t, 0.7));
      const burst = p.heavy && r() < 0.03 ? uni(r, 5, 20) : 1;
      const e = binom(n, p0 * cyc(t, 0.5) * burst * factor + delta);
      const sigma = Math.min(1, 0.12 * Math.sqrt(500 / Math.max(1, n)));
      const eps = p.heavy ? heavyNoise() : normal();
      c.total.push(n);
      c.failed.push(e);
      c.value.push(n === 0 ? NaN : lat0 * cyc(t, 0.4) * (1 + shift) * Math.exp(sigma * eps));
    }
    return c;
  };
  const nCanary = p.canaryCells ?? 1;
  const badIndex = p.badCell ? Math.floor(r() * nCanary) : -1;
  const canary = Array.from({ length: nCanary }, (_, i) => {
    const on = !p.badCell || i === badIndex;
    return cell(`region-a/cell-${i + 1}`, on ? p.errorFactor : 1, on ? p.errorDelta : 0, p.latencyShift);
  });
  const baseline = [cell('region-a/cell-8', 1, 0, 0), cell('region-a/cell-9', 1, 0, 0)];
  return {
    set: 'generated',
    scenario: sc.name,
    bad: sc.bad,
    band: sc.band,
    metrics: ['count', 'value'],
    valueDirection: 'increase',
    canary,
    baseline,
  };
}

// ----- the real set -------------------------------------------------------------------------------------------

interface RealSide {
  lat: number[];
  err: number[];
  vol: number[];
}
interface RealWindow {
  id: string;
  kind: 'nochange' | 'labelled';
  label: number[];
  canary: RealSide;
  baseline: RealSide[];
}

const LAT_FLOOR = 0.1; // etape's default floors (and margins, twice the floors): the bands of the real set
const COUNT_FLOOR = 0.25;

function realCases(): Case[] {
  const file = JSON.parse(readFileSync(new URL('./fixtures/judge-real/cases.json', import.meta.url), 'utf8')) as { windows: RealWindow[] };
  const toCell = (name: string, s: RealSide): Cell => {
    // a step where every metric is 0 is a collection gap: missing, not a zero
    const gap = s.lat.map((v, i) => v === 0 && s.vol[i] === 0);
    return {
      name,
      total: s.vol.map((v, i) => (gap[i] ? 0 : v)),
      failed: s.err.map((v, i) => (gap[i] ? 0 : Math.min(v, s.vol[i]))),
      value: s.lat.map((v, i) => (gap[i] || !(v > 0) ? NaN : v)),
    };
  };
  const out: Case[] = [];
  const rnd = seededRandom(4242);
  const poisson = (mu: number) => {
    let k = 0;
    let prod = rnd();
    const L = Math.exp(-Math.min(mu, 500));
    while (prod > L) {
      k++;
      prod *= rnd();
    }
    return k;
  };
  const band = (shift: number, floor: number): Band =>
    shift < floor ? 'below floor' : shift < 2 * floor ? 'floor to margin' : 'margin and above';
  const medianOf = (v: number[]) => {
    const s = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    return s.length ? s[s.length >> 1] : NaN;
  };
  for (const w of file.windows) {
    const canary = [toCell('real/canary', w.canary)];
    const baseline = w.baseline.map((b, i) => toCell(`real/baseline-${i + 1}`, b));
    const base = { set: 'real', canary, baseline, valueDirection: 'either' as const };
    if (w.kind === 'labelled') {
      // the size of the labelled change, as each metric shows it over the labelled steps
      const inLabel = (v: number[]) => v.filter((_, i) => w.label[i] === 1);
      const bv = medianOf(baseline.flatMap((c) => c.value));
      const cv = medianOf(inLabel(canary[0].value));
      const latShift = Math.abs(Math.log(cv / bv));
      const rate = (cs: Cell[], only?: boolean) => {
        let f = 0;
        let n = 0;
        for (const c of cs)
          c.total.forEach((t, i) => {
            if (only && w.label[i] !== 1) return;
            f += c.failed[i];
            n += t;
          });
        return (f + 0.5) / (n + 1);
      };
      const countShift = Math.abs(rate(canary, true) / rate(baseline) - 1);
      out.push({
        ...base,
        scenario: 'labelled anomaly, latency-like',
        bad: true,
        band: band(Number.isFinite(latShift) ? Math.expm1(latShift) : 0, LAT_FLOOR),
        metrics: ['value'],
      });
      out.push({ ...base, scenario: 'labelled anomaly, count-like', bad: true, band: band(countShift, COUNT_FLOOR), metrics: ['count'] });
      continue;
    }
    out.push({ ...base, scenario: 'no change, latency-like', bad: false, band: 'none', metrics: ['value'] });
    out.push({ ...base, scenario: 'no change, count-like', bad: false, band: 'none', metrics: ['count'] });
    // injected: the same real window with a known shift from look 10 on (real noise, known truth)
    for (const shift of [0.05, 0.15, 0.3, 0.5]) {
      const shifted = canary.map((c) => ({ ...c, value: c.value.map((v, t) => (t >= 10 ? v * (1 + shift) : v)) }));
      out.push({
        ...base,
        canary: shifted,
        scenario: `injected latency +${shift * 100}%`,
        bad: true,
        band: band(shift, LAT_FLOOR),
        metrics: ['value'],
      });
    }
    let f = 0;
    let n = 0;
    for (const c of [...canary, ...baseline]) c.total.forEach((t, i) => ((f += c.failed[i]), (n += t)));
    if (f < 20) continue; // too few failures in the window for a relative change to mean anything
    for (const factor of [0.1, 0.35, 0.75, 2]) {
      const rate = f / n;
      const more = canary.map((c) => ({
        ...c,
        failed: c.failed.map((e, t) => (t >= 10 ? Math.min(c.total[t], e + poisson(factor * rate * c.total[t])) : e)),
      }));
      out.push({
        ...base,
        canary: more,
        scenario: `injected errors ×${1 + factor}`,
        bad: true,
        band: band(factor, COUNT_FLOOR),
        metrics: ['count'],
      });
    }
  }
  return out;
}

// ----- the protocol -------------------------------------------------------------------------------------------

interface Decision {
  flagged: boolean;
  undecided: boolean;
  /** look (1..60) that decided */
  look: number;
  /** canary samples (value metric) or requests (count metric) seen when it decided */
  samples: number;
}

function canaryVolume(c: Case, k: number): number {
  const counts = c.metrics.includes('count');
  return c.canary.reduce(
    (a, x) => a + (counts ? x.total.slice(0, k).reduce((s, n) => s + n, 0) : x.value.slice(0, k).filter((v) => Number.isFinite(v)).length),
    0,
  );
}

function etapeInputs(c: Case, k: number): JudgeMetricInput[] {
  const counts = (cells: Cell[]): TargetSeries<CountPoint>[] =>
    cells.map((x) => ({ target: x.name, points: x.total.slice(0, k).map((n, t) => ({ t, total: n, errors: x.failed[t] })) }));
  const values = (cells: Cell[]): TargetSeries<ValuePoint>[] =>
    cells.map((x) => ({
      target: x.name,
      points: x.value
        .slice(0, k)
        .map((v, t) => ({ t, value: v }))
        .filter((pt) => Number.isFinite(pt.value)),
    }));
  const out: JudgeMetricInput[] = [];
  if (c.metrics.includes('count'))
    out.push({
      name: 'errors',
      kind: 'count',
      direction: 'increase',
      critical: false,
      weight: 1,
      canary: counts(c.canary),
      baseline: counts(c.baseline),
    });
  if (c.metrics.includes('value'))
    out.push({
      name: 'latency',
      kind: 'latency',
      direction: c.valueDirection,
      critical: false,
      weight: 1,
      canary: values(c.canary),
      baseline: values(c.baseline),
    });
  return out;
}

/** etape: a look after every point, on everything since the start; the last look ends the bake. */
function etapeDecide(c: Case): Decision {
  for (let k = 1; k <= LOOKS; k++) {
    const res = judge(etapeInputs(c, k), { endOfBake: k === LOOKS });
    if (res.verdict === 'fail' || res.verdict === 'pass')
      return { flagged: res.verdict === 'fail', undecided: false, look: k, samples: canaryVolume(c, k) };
  }
  return { flagged: false, undecided: true, look: LOOKS, samples: canaryVolume(c, LOOKS) };
}

function kayentaMetrics(c: Case, k: number): KMetric[] {
  // per look, one value per side: the failure rate of all its cells, and the mean of their values
  const rate = (cells: Cell[]) =>
    Array.from({ length: k }, (_, t) => {
      const n = cells.reduce((a, x) => a + x.total[t], 0);
      return n === 0 ? NaN : cells.reduce((a, x) => a + x.failed[t], 0) / n;
    });
  const value = (cells: Cell[]) =>
    Array.from({ length: k }, (_, t) => {
      const vs = cells.map((x) => x.value[t]).filter((v) => Number.isFinite(v));
      return vs.length === 0 ? NaN : vs.reduce((a, b) => a + b, 0) / vs.length;
    });
  const out: KMetric[] = [];
  if (c.metrics.includes('count'))
    out.push({
      name: 'error rate',
      control: rate(c.baseline),
      experiment: rate(c.canary),
      groups: ['errors'],
      config: { direction: 'increase' },
    });
  if (c.metrics.includes('value'))
    out.push({
      name: 'latency',
      control: value(c.baseline),
      experiment: value(c.canary),
      groups: ['latency'],
      config: { direction: c.valueDirection },
    });
  return out;
}

/**
 * Kayenta as Spinnaker's canary stage runs it, at pass 95 / marginal 75: by default one analysis at the end
 * of the bake (the analysis interval defaults to the lifetime); with `interim`, an analysis every 10 looks
 * on the cumulative window that stops the bake at the first score below marginal, the last one needing pass.
 */
function kayentaDecide(c: Case, seed: number, interim: boolean): Decision {
  const noise = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - noise())) * Math.cos(2 * Math.PI * noise());
  for (let k = interim ? INTERIM : LOOKS; k <= LOOKS; k += INTERIM) {
    const j = kayentaJudge(kayentaMetrics(c, k), { pass: 95, marginal: 75 }, gaussian);
    if (k < LOOKS && j.score < 75) return { flagged: true, undecided: false, look: k, samples: canaryVolume(c, k) };
    if (k === LOOKS) return { flagged: j.score < 95, undecided: false, look: k, samples: canaryVolume(c, k) };
  }
  throw new Error('unreachable');
}

// ----- run and report ---------------------------------------------------------------------------------------

interface Row {
  c: Case;
  e: Decision;
  k: Decision;
  ki: Decision;
}
const time = { e: 0, k: 0, ki: 0 };
function run(cases: Case[]): Row[] {
  return cases.map((c, i) => {
    let t0 = performance.now();
    const e = etapeDecide(c);
    time.e += performance.now() - t0;
    t0 = performance.now();
    const k = kayentaDecide(c, i * 7919 + 1, false);
    time.k += performance.now() - t0;
    t0 = performance.now();
    const ki = kayentaDecide(c, i * 7919 + 1, true);
    time.ki += performance.now() - t0;
    return { c, e, k, ki };
  });
}

const med = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const line = (label: string, ...cols: string[]) => console.log(`${label.padEnd(60)}${cols.map((c) => c.padStart(12)).join('')}`);

function table(title: string, rows: Row[], ms: { e: number; k: number; ki: number }) {
  const judges: [string, (r: Row) => Decision][] = [
    ['etape', (r) => r.e],
    ['Kayenta', (r) => r.k],
    ['K.interim', (r) => r.ki],
  ];
  const good = rows.filter((r) => !r.c.bad);
  const bad = rows.filter((r) => r.c.bad && r.c.band !== 'below floor');
  const below = rows.filter((r) => r.c.bad && r.c.band === 'below floor');
  console.log(
    `\n${title}: ${rows.length} cases (${good.length} no change, ${bad.length} bad at or beyond the floor, ${below.length} bad below the floor)`,
  );
  line('', ...judges.map(([n]) => n));
  const per = (f: (d: (r: Row) => Decision) => string) => judges.map(([, d]) => f(d));
  line('false-positive rate: no-change cases judged fail', ...per((d) => f3(good.filter((r) => d(r).flagged).length / good.length)));
  line('recall: bad cases (at or beyond the floor) judged fail', ...per((d) => f3(bad.filter((r) => d(r).flagged).length / bad.length)));
  line(
    'precision: of the fails, bad (any band)',
    ...per((d) => {
      const fl = rows.filter((r) => d(r).flagged);
      return f3(fl.filter((r) => r.c.bad).length / fl.length);
    }),
  );
  for (const b of ['floor to margin', 'margin and above'] as Band[]) {
    const rs = bad.filter((r) => r.c.band === b);
    if (rs.length) line(`  recall, shift ${b} (n=${rs.length})`, ...per((d) => f3(rs.filter((r) => d(r).flagged).length / rs.length)));
  }
  if (below.length)
    line(
      `  flagged, shift below the floor (n=${below.length})`,
      ...per((d) => f3(below.filter((r) => d(r).flagged).length / below.length)),
    );
  line('undecided at the end of the bake (too few data)', ...per((d) => f3(rows.filter((r) => d(r).undecided).length / rows.length)));
  line('median looks to decision, all cases', ...per((d) => f0(med(rows.map((r) => d(r).look)))));
  line('median looks to catch a bad case', ...per((d) => f0(med(bad.filter((r) => d(r).flagged).map((r) => d(r).look)))));
  line('median looks to decide a no-change case', ...per((d) => f0(med(good.map((r) => d(r).look)))));
  const withCounts = rows.filter((r) => r.c.metrics.includes('count'));
  const valuesOnly = rows.filter((r) => !r.c.metrics.includes('count'));
  if (withCounts.length)
    line('median canary requests at decision (cases with a count metric)', ...per((d) => f0(med(withCounts.map((r) => d(r).samples)))));
  if (valuesOnly.length)
    line('median canary points at decision (latency-like cases)', ...per((d) => f0(med(valuesOnly.map((r) => d(r).samples)))));
  line('compute time, whole set (ms, wall clock)', f0(ms.e), f0(ms.k), f0(ms.ki));
  console.log('  per scenario: share judged fail (etape | Kayenta | K.interim), median looks to decision (etape | Kayenta | K.interim)');
  for (const sc of [...new Set(rows.map((r) => r.c.scenario))]) {
    const rs = rows.filter((r) => r.c.scenario === sc);
    const share = (d: (r: Row) => Decision) => f3(rs.filter((r) => d(r).flagged).length / rs.length);
    const und = rs.filter((r) => r.e.undecided).length;
    console.log(
      `    ${(rs[0].c.bad ? '[bad] ' : '[ok]  ') + sc.padEnd(40)} n=${String(rs.length).padStart(4)}  fail ${share((r) => r.e)} | ${share((r) => r.k)} | ${share((r) => r.ki)}` +
        `   looks ${f0(med(rs.map((r) => r.e.look))).padStart(2)} | ${f0(med(rs.map((r) => r.k.look)))} | ${f0(med(rs.map((r) => r.ki.look))).padStart(2)}` +
        (und ? `   (etape undecided: ${und})` : ''),
    );
  }
}

console.log('canary judge benchmark: etape against a faithful Kayenta (bench/kayenta.ts), each at its defaults, one protocol');
console.log(`bake: ${LOOKS} looks, one point per cell per look; canary cells against baseline cells of the same window`);
console.log(`etape: judge() after every point on everything since the start, the last look with endOfBake (fixed-sample decision);`);
console.log(`  decided at its first pass or fail; "undecided" only when data are missing or below the minimums at the end`);
console.log(`Kayenta: NetflixACAJudge (MW 98%, tolerance 0.25, mean-ratio effect size), pass 95 / marginal 75, on one value per`);
console.log(`  side per look (failure rate, or mean value over the cells); "Kayenta": one analysis at the end of the bake`);
console.log(
  `  (Spinnaker's default interval); "K.interim": an analysis every ${INTERIM} looks, stopping at the first score below marginal`,
);

const t0 = { ...time };
const generated: Case[] = [];
for (const seed of SEEDS) {
  let id = 0;
  for (const sc of SCENARIOS) for (let i = 0; i < Math.max(1, Math.round(sc.count * SCALE)); i++) generated.push(generate(seed, id++, sc));
}
const genRows = run(generated);
table(`generated set (seeds ${SEEDS.join(', ')})`, genRows, { e: time.e - t0.e, k: time.k - t0.k, ki: time.ki - t0.ki });
const t1 = { ...time };
const realRows = run(realCases());
table('real set (JumpStarter Dataset2: labelled anomalies, and injected shifts on no-change windows)', realRows, {
  e: time.e - t1.e,
  k: time.k - t1.k,
  ki: time.ki - t1.ki,
});
console.log(`\nreproduce: npm run bench:judge -- --seeds ${SEEDS.join(',')}${SCALE !== 1 ? ` --scale ${SCALE}` : ''}`);
