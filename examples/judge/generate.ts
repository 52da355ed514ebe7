// Writes the example series of this folder (seeded, so the files never change by accident):
//   node --import tsx examples/judge/generate.ts
// baseline.csv: two cells on the old version; canary-bad.csv: two canary cells, one of them (cell-2)
// failing 1.5 points more often and 40% slower; canary-good.csv: the same code as the baseline.
// canary-bad.json: canary-bad.csv as JSON rows.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
let s = 6;
const r = () => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const start = Date.UTC(2026, 0, 12, 9, 0, 0);

interface Row { time: string; target: string; metric: string; value: number; total?: number }

function cell(target: string, errorRate: number, slowdown: number): Row[] {
  const rows: Row[] = [];
  for (let m = 0; m < 60; m++) {
    const time = new Date(start + m * 60_000).toISOString();
    const total = 600 + Math.round(60 * normal());
    let errors = 0;
    for (let i = 0; i < total; i++) if (r() < errorRate) errors++;
    rows.push({ time, target, metric: 'errors', value: errors, total });
    for (let i = 0; i < 6; i++) rows.push({ time, target, metric: 'latency ms', value: Math.round(42 * (1 + slowdown) * Math.exp(0.35 * normal()) * 10) / 10 });
  }
  return rows;
}

const csv = (rows: Row[]) => 'time,target,metric,value,total\n' + rows.map((x) => `${x.time},${x.target},${x.metric},${x.value},${x.total ?? ''}`).join('\n') + '\n';
const baseline = [...cell('westeurope/cell-1', 0.008, 0), ...cell('westeurope/cell-3', 0.008, 0)];
const bad = [...cell('westeurope/cell-2', 0.023, 0.4), ...cell('westeurope/cell-4', 0.008, 0)];
const good = [...cell('westeurope/cell-2', 0.008, 0), ...cell('westeurope/cell-4', 0.008, 0)];
writeFileSync(join(dir, 'baseline.csv'), csv(baseline));
writeFileSync(join(dir, 'canary-bad.csv'), csv(bad));
writeFileSync(join(dir, 'canary-good.csv'), csv(good));
writeFileSync(join(dir, 'canary-bad.json'), JSON.stringify(bad, null, 0).replace(/\},\{/g, '},\n{') + '\n');
