// Benchmark of the canary judge against a faithful re-implementation of Kayenta's Mann–Whitney judge
// (bench/kayenta.ts) on the same labelled, generated canary/baseline cases. Prints figures; asserts nothing.
//   npm run bench:judge                 all cases (seeded: the same figures on every run)
//   npm run bench:judge -- --cases 500  fewer cases, for a quick look
//   npm run bench:judge -- --seed 7     another reproducible draw
import { judge, type JudgeMetricInput, type TargetSeries, type CountPoint, type ValuePoint } from '../src/judge/judge.js';
import { kayentaJudge, type KMetric } from './kayenta.js';
import { seededRandom } from '../src/core/random.js';

const args = process.argv.slice(2);
const argOf = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SEED = argOf('--seed', 20141119);
const SCALE = argOf('--cases', 2150) / 2150;
const MINUTES = 60; // bake length; one data point per cell per minute
const KAYENTA_INTERVAL = 10; // minutes between Kayenta's interim analyses (cumulative windows)

interface Cell {
  name: string;
  requests: number[];
  errors: number[];
  /** p99 latency of each minute (NaN for a minute without requests). */
  p99: number[];
}

interface Case {
  id: number;
  scenario: string;
  bad: boolean;
  canary: Cell[];
  baseline: Cell[];
}

interface Scenario {
  name: string;
  count: number;
  bad: boolean;
  gen: (r: () => number) => {
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

const SCENARIOS: Scenario[] = [
  { name: 'no change', count: 400, bad: false, gen: (r) => ({ errorDelta: 0, latencyShift: 0, canaryCells: pick(r, [1, 2, 4]) }) },
  {
    name: 'no change, heavy-tailed noise',
    count: 250,
    bad: false,
    gen: (r) => ({ errorDelta: 0, latencyShift: 0, heavy: true, canaryCells: pick(r, [1, 2, 4]) }),
  },
  {
    name: 'no change, daily cycle',
    count: 250,
    bad: false,
    gen: (r) => ({ errorDelta: 0, latencyShift: 0, daily: true, canaryCells: pick(r, [1, 2, 4]) }),
  },
  {
    name: 'no change, low traffic',
    count: 150,
    bad: false,
    gen: (r) => ({ errorDelta: 0, latencyShift: 0, lowTraffic: true, canaryCells: pick(r, [1, 2]) }),
  },
  { name: 'errors +1pp (small)', count: 250, bad: true, gen: (r) => ({ ...cond(r), errorDelta: uni(r, 0.0075, 0.0125), latencyShift: 0 }) },
  { name: 'errors +3..10pp (large)', count: 200, bad: true, gen: (r) => ({ ...cond(r), errorDelta: uni(r, 0.03, 0.1), latencyShift: 0 }) },
  { name: 'latency +20..30% (small)', count: 200, bad: true, gen: (r) => ({ ...cond(r), errorDelta: 0, latencyShift: uni(r, 0.2, 0.3) }) },
  { name: 'latency +50..100% (large)', count: 150, bad: true, gen: (r) => ({ ...cond(r), errorDelta: 0, latencyShift: uni(r, 0.5, 1.0) }) },
  {
    name: 'low traffic, errors +3..10pp',
    count: 100,
    bad: true,
    gen: (r) => ({ errorDelta: uni(r, 0.03, 0.1), latencyShift: 0, lowTraffic: true, canaryCells: 1 }),
  },
  {
    name: 'one bad cell of 4 (errors +2..4pp)',
    count: 200,
    bad: true,
    gen: (r) => ({ errorDelta: uni(r, 0.02, 0.04), latencyShift: 0, badCell: true, canaryCells: 4, heavy: r() < 0.25, daily: r() < 0.25 }),
  },
];

function generate(id: number, sc: Scenario): Case {
  const r = seededRandom(SEED ^ Math.imul(id + 1, 0x9e3779b1));
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const heavyNoise = () => Math.max(-20, Math.min(20, normal() / Math.sqrt((normal() ** 2 + normal() ** 2) / 2))); // Student t, 2 df
  const p = sc.gen(r);
  const lambda = p.lowTraffic ? uni(r, 3, 15) : uni(r, 200, 1000); // requests per cell per minute
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
  const cell = (name: string, errorDelta: number, shift: number): Cell => {
    const c: Cell = { name, requests: [], errors: [], p99: [] };
    for (let t = 0; t < MINUTES; t++) {
      const n = poisson(lambda * cyc(t, 0.7));
      const burst = p.heavy && r() < 0.03 ? uni(r, 5, 20) : 1;
      const e = binom(n, p0 * cyc(t, 0.5) * burst + errorDelta);
      const sigma = Math.min(1, 0.12 * Math.sqrt(500 / Math.max(1, n)));
      const eps = p.heavy ? heavyNoise() : normal();
      c.requests.push(n);
      c.errors.push(e);
      c.p99.push(n === 0 ? NaN : lat0 * cyc(t, 0.4) * (1 + shift) * Math.exp(sigma * eps));
    }
    return c;
  };
  const nCanary = p.canaryCells ?? 1;
  const badIndex = p.badCell ? Math.floor(r() * nCanary) : -1;
  const canary = Array.from({ length: nCanary }, (_, i) =>
    cell(`region-a/cell-${i + 1}`, p.badCell ? (i === badIndex ? p.errorDelta : 0) : p.errorDelta, p.latencyShift),
  );
  const baseline = [cell('region-a/cell-8', 0, 0), cell('region-a/cell-9', 0, 0)];
  return { id, scenario: sc.name, bad: sc.bad, canary, baseline };
}

// ----- etape: the sequential judge looks every minute at everything since the start -----------------------

interface Decision {
  flagged: boolean;
  /** minute of the look that decided */
  minute: number;
  /** canary requests seen when it decided */
  samples: number;
  how: 'fail' | 'pass' | 'inconclusive at end' | 'score below pass at end';
}

const upTo =
  (k: number) =>
  <T>(xs: T[]) =>
    xs.slice(0, k);

function etapeInputs(c: Case, k: number): JudgeMetricInput[] {
  const cut = upTo(k);
  const counts = (cells: Cell[]): TargetSeries<CountPoint>[] =>
    cells.map((x) => ({ target: x.name, points: cut(x.requests).map((n, t) => ({ t, total: n, errors: x.errors[t] })) }));
  const lat = (cells: Cell[]): TargetSeries<ValuePoint>[] =>
    cells.map((x) => ({
      target: x.name,
      points: cut(x.p99)
        .map((v, t) => ({ t, value: v }))
        .filter((pt) => Number.isFinite(pt.value)),
    }));
  return [
    {
      name: 'errors',
      kind: 'count',
      direction: 'increase',
      critical: false,
      weight: 1,
      canary: counts(c.canary),
      baseline: counts(c.baseline),
    },
    {
      name: 'p99 latency',
      kind: 'latency',
      direction: 'increase',
      critical: false,
      weight: 1,
      minSamples: 20,
      canary: lat(c.canary),
      baseline: lat(c.baseline),
    },
  ];
}

const canaryRequests = (c: Case, k: number) => c.canary.reduce((a, x) => a + x.requests.slice(0, k).reduce((s, n) => s + n, 0), 0);

function etapeDecide(c: Case): Decision {
  for (let k = 1; k <= MINUTES; k++) {
    const res = judge(etapeInputs(c, k));
    if (res.verdict === 'fail') return { flagged: true, minute: k, samples: canaryRequests(c, k), how: 'fail' };
    if (res.verdict === 'pass') return { flagged: false, minute: k, samples: canaryRequests(c, k), how: 'pass' };
  }
  // Never enough evidence to pass: the wave does not proceed (I3), which counts as flagged.
  return { flagged: true, minute: MINUTES, samples: canaryRequests(c, MINUTES), how: 'inconclusive at end' };
}

// ----- Kayenta: interim analyses every 10 minutes over the cumulative window --------------------------------

function kayentaMetrics(c: Case, k: number): KMetric[] {
  const rate: (cells: Cell[]) => number[] = (cells) =>
    Array.from({ length: k }, (_, t) => {
      const n = cells.reduce((a, x) => a + x.requests[t], 0);
      const e = cells.reduce((a, x) => a + x.errors[t], 0);
      return n === 0 ? NaN : e / n;
    });
  const p99: (cells: Cell[]) => number[] = (cells) =>
    Array.from({ length: k }, (_, t) => {
      const vs = cells.map((x) => x.p99[t]).filter((v) => Number.isFinite(v));
      return vs.length === 0 ? NaN : vs.reduce((a, b) => a + b, 0) / vs.length;
    });
  return [
    { name: 'error rate', control: rate(c.baseline), experiment: rate(c.canary), groups: ['errors'], config: { direction: 'increase' } },
    { name: 'p99 latency', control: p99(c.baseline), experiment: p99(c.canary), groups: ['latency'], config: { direction: 'increase' } },
  ];
}

function kayentaDecide(c: Case, id: number): Decision {
  const noise = seededRandom(id * 7919 + 1);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - noise())) * Math.cos(2 * Math.PI * noise());
  for (let k = KAYENTA_INTERVAL; k <= MINUTES; k += KAYENTA_INTERVAL) {
    const j = kayentaJudge(kayentaMetrics(c, k), { pass: 95, marginal: 75 }, gaussian);
    if (k < MINUTES && j.score < 75) return { flagged: true, minute: k, samples: canaryRequests(c, k), how: 'fail' };
    if (k === MINUTES) {
      return j.score >= 95
        ? { flagged: false, minute: k, samples: canaryRequests(c, k), how: 'pass' }
        : { flagged: true, minute: k, samples: canaryRequests(c, k), how: j.score < 75 ? 'fail' : 'score below pass at end' };
    }
  }
  throw new Error('unreachable');
}

// ----- run and report --------------------------------------------------------------------------------------

const cases: Case[] = [];
let id = 0;
for (const sc of SCENARIOS) for (let i = 0; i < Math.max(1, Math.round(sc.count * SCALE)); i++) cases.push(generate(id++, sc));

interface Row {
  c: Case;
  etape: Decision;
  kayenta: Decision;
}
const rows: Row[] = [];
let tEtape = 0;
let tKayenta = 0;
for (const c of cases) {
  let t0 = performance.now();
  const e = etapeDecide(c);
  tEtape += performance.now() - t0;
  t0 = performance.now();
  const k = kayentaDecide(c, c.id);
  tKayenta += performance.now() - t0;
  rows.push({ c, etape: e, kayenta: k });
}

function med(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summary(get: (r: Row) => Decision) {
  const tp = rows.filter((r) => r.c.bad && get(r).flagged).length;
  const fp = rows.filter((r) => !r.c.bad && get(r).flagged).length;
  const fn = rows.filter((r) => r.c.bad && !get(r).flagged).length;
  const neg = rows.filter((r) => !r.c.bad).length;
  const fpStrict = rows.filter((r) => !r.c.bad && get(r).how === 'fail').length;
  const positivesCaught = rows.filter((r) => r.c.bad && get(r).flagged);
  const tpFail = rows.filter((r) => r.c.bad && get(r).how === 'fail').length;
  const normalNeg = rows.filter((r) => !r.c.bad && !r.c.scenario.includes('low traffic'));
  return {
    precisionFail: tpFail / (tpFail + fpStrict),
    recallFail: tpFail / rows.filter((r) => r.c.bad).length,
    fprNormal: normalNeg.filter((r) => get(r).flagged).length / normalNeg.length,
    undecided: rows.filter((r) => get(r).how === 'inconclusive at end' || get(r).how === 'score below pass at end').length / rows.length,
    precision: tp / (tp + fp),
    recall: tp / (tp + fn),
    fpr: fp / neg,
    fprFailOnly: fpStrict / neg,
    medianMinutes: med(rows.map((r) => get(r).minute)),
    medianMinutesToCatch: med(positivesCaught.map((r) => get(r).minute)),
    medianMinutesNegatives: med(rows.filter((r) => !r.c.bad).map((r) => get(r).minute)),
    medianSamples: med(rows.map((r) => get(r).samples)),
    medianSamplesToCatch: med(positivesCaught.map((r) => get(r).samples)),
  };
}

const E = summary((r) => r.etape);
const K = summary((r) => r.kayenta);
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const line = (label: string, a: string, b: string) => console.log(`${label.padEnd(52)}${a.padStart(14)}${b.padStart(14)}`);

console.log(
  `canary judge benchmark: ${cases.length} labelled cases (${rows.filter((r) => r.c.bad).length} bad, ${rows.filter((r) => !r.c.bad).length} no change), seed ${SEED}`,
);
console.log(`bake ${MINUTES} min, one point per cell per minute; metrics: error rate (count) and p99 latency, direction increase`);
console.log(
  `etape: judge() at every minute on all data since the start; decides at the first pass or fail; never passing by the end counts as flagged`,
);
console.log(
  `Kayenta (bench/kayenta.ts: MW 98%, tolerance 0.25, mean-ratio effect size 1.0, pass 95 / marginal 75): analyses at ${KAYENTA_INTERVAL}, ${2 * KAYENTA_INTERVAL}, …, ${MINUTES} min on the cumulative window;`,
);
console.log(
  `  flagged at the first interim score < marginal, or a final score < pass; its time to decision is the minute of that analysis`,
);
console.log('');
line('', 'etape', 'Kayenta');
line('precision', f3(E.precision), f3(K.precision));
line('recall', f3(E.recall), f3(K.recall));
line('false-positive rate on no-change cases', f3(E.fpr), f3(K.fpr));
line('  of which judged "fail" (rest: never enough evidence)', f3(E.fprFailOnly), f3(K.fprFailOnly));
line('false-positive rate, no-change cases with normal traffic', f3(E.fprNormal), f3(K.fprNormal));
line('precision, counting only "fail" verdicts as flags', f3(E.precisionFail), f3(K.precisionFail));
line('recall, counting only "fail" verdicts as flags', f3(E.recallFail), f3(K.recallFail));
line('undecided at the end of the bake (all cases)', f3(E.undecided), f3(K.undecided));
line('median minutes to decision, all cases', f0(E.medianMinutes), f0(K.medianMinutes));
line('median minutes to catch a bad canary', f0(E.medianMinutesToCatch), f0(K.medianMinutesToCatch));
line('median minutes to decide a no-change canary', f0(E.medianMinutesNegatives), f0(K.medianMinutesNegatives));
line('median canary requests at decision, all cases', f0(E.medianSamples), f0(K.medianSamples));
line('median canary requests to catch a bad canary', f0(E.medianSamplesToCatch), f0(K.medianSamplesToCatch));
line('compute time, whole set (ms)', f0(tEtape), f0(tKayenta));
console.log('');
console.log('per scenario: flagged share (etape | Kayenta), median minutes to decision (etape | Kayenta)');
for (const sc of SCENARIOS) {
  const rs = rows.filter((r) => r.c.scenario === sc.name);
  if (rs.length === 0) continue;
  const share = (get: (r: Row) => Decision) => rs.filter((r) => get(r).flagged).length / rs.length;
  const inc = rs.filter((r) => r.etape.how === 'inconclusive at end').length;
  console.log(
    `  ${(sc.bad ? '[bad] ' : '[ok]  ') + sc.name.padEnd(40)} n=${String(rs.length).padStart(4)}  flagged ${f3(share((r) => r.etape))} | ${f3(share((r) => r.kayenta))}` +
      `   minutes ${f0(med(rs.map((r) => r.etape.minute))).padStart(2)} | ${f0(med(rs.map((r) => r.kayenta.minute))).padStart(2)}` +
      (inc ? `   (etape never enough evidence: ${inc})` : ''),
  );
}
console.log('');
console.log(`reproduce: npm run bench:judge -- --seed ${SEED}${SCALE !== 1 ? ` --cases ${cases.length}` : ''}`);
