// How fast etape catches each kind of bad version on the local fleet, and what it costs: for each fault,
// N staged demo runs (fresh fleet each), then the medians of detection time against both floors (the fixed
// schedule's and the one follow-up probes allow; the ratio is to the lower), rollback
// time, blast radius, failed customer requests (with drain), and how long the status page took to show the
// first failing probe (published on change). Prints figures; asserts nothing.
//
//   npm run bench:detect                       10 runs of each fault
//   npm run bench:detect -- --runs 3 --faults hang,errors
//   npm run bench:detect -- --interval 500 --timeout 1000 --k 3 --regions 2 --cells 2
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus } from 'node:os';
import { FAULTS, type Fault } from '../src/demo/blob-server.js';
import { behaviourFor, runDemo, type RunResult } from '../src/demo/run.js';
import { ms } from '../src/config/common.js';
import { probeSchema } from '../src/config/service.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const runs = Number(arg('runs', '10'));
const faults = arg('faults', FAULTS.join(',')).split(',') as Fault[];
const intervalMs = Number(arg('interval', '500'));
const timeoutMs = Number(arg('timeout', '1000'));
const k = Number(arg('k', '3'));
const regions = Number(arg('regions', '2'));
const cells = Number(arg('cells', '2'));
for (const f of faults) if (!FAULTS.includes(f)) throw new Error(`unknown fault ${f}; choose from ${FAULTS.join(', ')}`);

// The demo's probes confirm a failure with the default follow-ups (docs/probes.md).
const probeDefaults = probeSchema.parse({ name: 'p', url: 'http://127.0.0.1/' });
const confirm = probeDefaults.confirm;
const confirmEveryMs = ms(probeDefaults.confirmEvery);

/** The least detection time of the fixed schedule alone, for each fault (from the moment the fault begins). */
function floorMs(fault: Fault): { ms: number; formula: string } {
  switch (fault) {
    case 'hang':
    case 'latency':
      // k probes must time out; they start `interval` apart and the last one ends `timeout` after it starts.
      return { ms: (k - 1) * intervalMs + timeoutMs, formula: '(k−1)·interval + timeout' };
    case 'errors':
      // Only if every probe fails, each answering at once: k probes, `interval` apart.
      return { ms: (k - 1) * intervalMs, formula: '(k−1)·interval, if every probe fails' };
    case 'crash-loop': {
      const crash = behaviourFor('crash-loop').crashAfterMs ?? 0;
      return { ms: crash + (k - 1) * intervalMs, formula: 'crash delay + (k−1)·interval' };
    }
  }
}

/** The least detection time with follow-up probes confirming the first failure (needs confirm ≥ k − 1). */
function confirmFloorMs(fault: Fault): { ms: number; formula: string } | undefined {
  if (confirm < k - 1) return undefined;
  const c = (k - 1) * confirmEveryMs;
  switch (fault) {
    case 'hang':
    case 'latency':
      // the first probe times out, then k−1 follow-ups start confirmEvery apart and time out too
      return { ms: 2 * timeoutMs + c, formula: '2·timeout + (k−1)·confirmEvery' };
    case 'errors':
      return { ms: c, formula: '(k−1)·confirmEvery, if every probe fails' };
    case 'crash-loop':
      return { ms: (behaviourFor('crash-loop').crashAfterMs ?? 0) + c, formula: 'crash delay + (k−1)·confirmEvery' };
  }
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** From the first failing probe of a bad cell coming back to the status page (rebuilt during the run) showing its region. */
const pageLag = (r: RunResult) =>
  r.pageShownAt !== undefined && r.failingProbeAt !== undefined ? r.pageShownAt - r.failingProbeAt : undefined;

const fmt = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)}s`);

const stamp = new Date()
  .toISOString()
  .replace(/[:]/g, '-')
  .replace(/\.\d+Z$/, 'Z');
const outRoot = resolve('bench-out', 'detect', stamp);
mkdirSync(outRoot, { recursive: true });

const ac = new AbortController();
process.on('SIGINT', () => ac.abort());

console.log(`bench:detect — ${runs} staged run(s) per fault on a fleet of canary + ${regions} regions × ${cells} cells`);
console.log(
  `probes every ${intervalMs}ms, timeout ${timeoutMs}ms, ${confirm} follow-up(s) ${confirmEveryMs}ms apart after a failure, gate fails after k=${k}; node ${process.version}, ${cpus().length} cpu(s)`,
);
console.log('');

interface Row {
  fault: Fault;
  results: RunResult[];
}
const rows: Row[] = [];
const t0 = Date.now();
for (const fault of faults) {
  const row: Row = { fault, results: [] };
  rows.push(row);
  for (let i = 0; i < runs && !ac.signal.aborted; i++) {
    const v = await runDemo({
      fault,
      regions,
      cells,
      runs: ['staged'],
      quiet: true,
      warmupMs: 500,
      tailMs: 0,
      intervalMs,
      timeoutMs,
      k,
      reports: true, // the status page rebuilt during the run: when it shows the first failing probe
      out: join(outRoot, `${fault}-${i + 1}`),
      signal: ac.signal,
    });
    const r = v.runs.staged!;
    row.results.push(r);
    process.stdout.write(
      `  ${fault.padEnd(10)} run ${String(i + 1).padStart(2)}: detected ${fmt(r.detectionMs)}, page ${fmt(pageLag(r))} after the first failing probe, healthy ${fmt(r.rollbackMs)} after, ` +
        `${r.cellsAffected.length}/${r.cellsTotal} cells on v2 (${r.drainedCells.length} drained), ${r.failedRequests}/${r.requests} requests failed, ${r.rolloutPhase}\n`,
    );
    if (v.leftover_pids.length) console.log(`    WARNING: processes left running: ${v.leftover_pids.join(', ')}`);
  }
}

console.log('');
const head = [
  'fault',
  'detected',
  'median detection',
  'schedule floor',
  'confirm floor',
  'ratio to the lower',
  'median page lag',
  'median rollback',
  'cells on v2',
  'capacity on v2',
  'failed requests',
  'failed per bad cell',
  'ended',
];
const table: string[][] = [head];
for (const { fault, results } of rows) {
  const det = results.map((r) => r.detectionMs).filter((x): x is number => x !== undefined);
  const fixed = floorMs(fault);
  const confirmed = confirmFloorMs(fault);
  const floor = confirmed && confirmed.ms < fixed.ms ? confirmed : fixed;
  const md = median(det);
  const phases = [...new Set(results.map((r) => r.rolloutPhase ?? '?'))].join('/');
  table.push([
    fault,
    `${det.length}/${results.length}`,
    fmt(md),
    fmt(fixed.ms),
    fmt(confirmed?.ms),
    md === undefined ? '—' : (md / floor.ms).toFixed(2),
    fmt(median(results.map(pageLag).filter((x): x is number => x !== undefined))),
    fmt(median(results.map((r) => r.rollbackMs).filter((x): x is number => x !== undefined))),
    String(median(results.map((r) => r.cellsAffected.length)) ?? '—'),
    `${((median(results.map((r) => r.badCapacityShare)) ?? 0) * 100).toFixed(1)}%`,
    String(median(results.map((r) => r.failedRequests)) ?? '—'),
    (median(results.map((r) => r.failedRequests / Math.max(1, r.cellsAffected.length))) ?? 0).toFixed(1),
    phases,
  ]);
}
const widths = head.map((_, i) => Math.max(...table.map((r) => r[i].length)));
for (const [n, r] of table.entries()) {
  console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  if (n === 0) console.log(widths.map((w) => '─'.repeat(w)).join('  '));
}
console.log('');
for (const f of faults)
  console.log(
    `floors for ${f}: schedule ${floorMs(f).formula}; with follow-ups ${confirmFloorMs(f)?.formula ?? `none (confirm ${confirm} < k−1)`}`,
  );
if (faults.some((f) => f === 'errors' || f === 'latency')) {
  console.log(
    'errors and latency are mild on purpose (5% errors, +200 ms): probes rarely see k failures in a row, so the canary\n' +
      'judge decides them when a prometheus binary is installed; its time is set by the data it needs, not by a probe floor,\n' +
      "so their ratios are not comparable with the hang's.",
  );
}
console.log("detection is measured from the fault's onset: the first cell entering the loop (hang), else the first cell up on v2;");
console.log('rollback from detection until every cell answers both probes on v1 again; page lag from the first failing probe');
console.log('of a bad cell coming back until the status page, rebuilt on change and every buildEvery, was written showing its region.');
console.log(`took ${((Date.now() - t0) / 1000).toFixed(0)}s; runs written to ${outRoot}`);
console.log('');
console.log(
  `reproduce: npm run bench:detect -- --runs ${runs} --faults ${faults.join(',')} --interval ${intervalMs} --timeout ${timeoutMs} --k ${k} --regions ${regions} --cells ${cells}`,
);
