// Benchmark: plan a rollout over 100 regions × 100 cells (10,000 targets). Prints figures; asserts nothing.
//   npm run bench:plan            (node --expose-gc --import tsx bench/plan.ts)
//   npm run bench:plan -- --regions 200 --cells 50 --runs 50
import { performance } from 'node:perf_hooks';
import { configSchema } from '../src/config/schema.js';
import { buildFleet } from '../src/fleet/fleet.js';
import { checkPlan } from '../src/plan/check.js';
import { planRollout } from '../src/config/plan.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const REGIONS = arg('regions', 100);
const CELLS = arg('cells', 100);
const RUNS = arg('runs', 30);
const WARMUP = arg('warmup', 5);

// A deterministic fleet: 6 geographies, pairs between neighbours (some declared on both sides, some on one),
// every tenth region unpaired, weights 1–50, uneven cell weights, two canary regions.
let seed = 20141119;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const regions = Array.from({ length: REGIONS }, (_, i) => ({
  id: `region-${String(i).padStart(3, '0')}`,
  geography: ['americas', 'europe', 'asia-pacific', 'middle-east', 'africa', 'oceania'][i % 6],
  weight: 1 + Math.floor(rand() * 50),
  canary: i === 0 || i === 3,
  pair:
    i % 10 === 9
      ? undefined
      : i % 2 === 0
        ? `region-${String((i + 1) % REGIONS).padStart(3, '0')}`
        : i % 4 === 1
          ? `region-${String(i - 1).padStart(3, '0')}`
          : undefined,
  cells: Array.from({ length: CELLS }, (_, j) => ({ id: `cell-${j + 1}`, weight: 1 + Math.floor(rand() * 4) })),
}));
const config = configSchema.parse({
  fleet: { regions },
  policy: { growth: 2, maxRegionsPerWave: 20, maxPerGeographyPerWave: 5 },
  services: [{ name: 'blob', gates: [{ kind: 'approval', name: 'sign-off' }] }],
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const gc = (globalThis as { gc?: () => void }).gc;
for (let i = 0; i < WARMUP; i++) planRollout(config, 'blob');
gc?.();
const rssBefore = process.memoryUsage().rss;
const times: number[] = [];
let plan = planRollout(config, 'blob');
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  plan = planRollout(config, 'blob');
  times.push(performance.now() - t0);
}
const fleet = buildFleet(config.fleet);
const checkTimes: number[] = [];
let violations = 0;
for (let i = 0; i < Math.max(5, Math.floor(RUNS / 3)); i++) {
  const t0 = performance.now();
  violations = checkPlan(plan, fleet, config.policy).length;
  checkTimes.push(performance.now() - t0);
}
const mem = process.memoryUsage();
const targets = plan.waves.reduce((n, w) => n + w.targets.length, 0);
console.log(
  `plan: ${REGIONS} regions × ${CELLS} cells = ${targets} targets -> ${plan.waves.length} waves (checker: ${violations} violations)`,
);
console.log(
  `planRollout: median ${median(times).toFixed(2)} ms per plan (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)}; ${RUNS} runs after ${WARMUP} warm-up)`,
);
console.log(`checkPlan:   median ${median(checkTimes).toFixed(2)} ms per check`);
console.log(
  `memory: peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB, RSS ${(mem.rss / 1048576).toFixed(1)} MiB (${((mem.rss - rssBefore) / 1048576).toFixed(1)} MiB over the runs), heap used ${(mem.heapUsed / 1048576).toFixed(1)} MiB`,
);
console.log(
  `node ${process.version}, ${process.platform}/${process.arch}; reproduce: npm run bench:plan${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
);
