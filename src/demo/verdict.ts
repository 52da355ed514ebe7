// The demo's verdict as text: the side-by-side table of the two runs and the one-paragraph summary.
import { join, relative } from 'node:path';
import { formatDuration } from '../core/duration.js';
import type { DemoReports } from './reports.js';
import { BAD, DEMO_CURRENCY } from './demo-config.js';
import type { DemoVerdict, RunResult } from './run.js';

export function verdictTable(v: DemoVerdict): string {
  const a = v.runs.all_at_once;
  const s = v.runs.staged;
  const cols: Array<[string, (r: RunResult) => string]> = [
    ['regions affected', (r) => `${r.regionsAffected.length} of ${r.regionsTotal}`],
    ['cells affected', (r) => `${r.cellsAffected.length} of ${r.cellsTotal}`],
    ['regions failing on the status page', (r) => `${r.regionsOut.length} of ${r.regionsTotal}`],
    ['fleet capacity on the bad version', (r) => `${(r.badCapacityShare * 100).toFixed(r.badCapacityShare < 0.1 ? 1 : 0)}%`],
    ['failed customer requests', (r) => `${r.failedRequests} of ${r.requests}`],
    [
      'failed requests per bad cell',
      (r) =>
        `${(r.failedRequests / Math.max(1, r.cellsAffected.length)).toFixed(1)}${r.drainedCells.length ? ` (${r.drainedCells.length} drained before going back)` : ''}`,
    ],
    [
      'first bad deploy → detection',
      (r) => (r.detectionFromDeployMs !== undefined ? formatDuration(r.detectionFromDeployMs) : 'not detected'),
    ],
    [
      'first bad deploy → all healthy',
      (r) => (r.recoveryMs !== undefined ? formatDuration(r.recoveryMs) : r.recovered ? '?' : 'not recovered'),
    ],
    ['cells that had to be killed', (r) => String(r.forcedCells.length)],
    ['a pair lost both regions', (r) => (r.pairsLostBoth.length ? `yes, ${r.pairsLostBoth.length} of ${r.pairsTotal} pairs` : 'no')],
  ];
  if (a?.reports || s?.reports) {
    cols.push(
      [
        'SLA credits owed ¹',
        (r) => (r.reports ? `${money(r.reports.sla.totals)} to ${r.reports.sla.customersOwed} of ${r.reports.sla.customers}` : '—'),
      ],
      ['lowest availability ¹', (r) => (r.reports?.sla.lowest ? `${r.reports.sla.lowest.shown} ${r.reports.sla.lowest.unit}` : '—')],
      ['status page at the end', (r) => (r.reports ? statusLine(r.reports) : '—')],
    );
  }
  const w0 = Math.max(...cols.map((c) => c[0].length));
  const cell = (r: RunResult | undefined, f: (r: RunResult) => string) => (r ? f(r) : '—');
  const w1 = Math.max(11, ...cols.map((c) => cell(a, c[1]).length));
  const lines = [`${''.padEnd(w0)}   ${'all at once'.padEnd(w1)}   etape (staged)`];
  lines.push(`${'─'.repeat(w0)}   ${'─'.repeat(w1)}   ${'─'.repeat(16)}`);
  for (const [name, f] of cols) lines.push(`${name.padEnd(w0)}   ${cell(a, f).padEnd(w1)}   ${cell(s, f)}`);
  return lines.join('\n');
}

export function verdictSummary(v: DemoVerdict): string {
  const s = v.runs.staged;
  const lines: string[] = [];
  lines.push(
    `The verdict (fault: ${v.fault}; ${v.fleet.regions} regions, ${v.fleet.cells} cells, ${v.fleet.pairs} pairs; canary: ${v.fleet.canary.join(', ')})`,
  );
  lines.push('');
  lines.push(verdictTable(v));
  lines.push('');
  if (s?.rolloutId) {
    const only = s.cellsAffected.every((c) => v.fleet.canary.includes(c.split('/')[0]));
    lines.push(
      `etape: rollout ${s.rolloutId} ended ${s.rolloutPhase}${s.detection ? ` after "${s.detection}"` : ''}; ${only ? `only the canary ran ${BAD}` : `${BAD} reached ${s.cellsAffected.join(', ')}`}.`,
    );
  }
  if (v.runs.all_at_once?.reports || s?.reports) {
    const mins = [v.runs.all_at_once, s].map((r) => (r?.reports ? `${r.reports.sla.window.minutes}` : '—')).join(' and ');
    lines.push(
      `¹ Credits if the run's own window (whole minutes: ${mins}) were the billing month, for ${v.fleet.pairs} geo-redundant pair customer(s) and 2 single-region ones. Storage preset: 100 % − the mean error rate of customers' requests per 5-minute interval; below 99.9 % → 10 %, 99 % → 25 %, 95 % → 100 % of the bill.`,
    );
  }
  lines.push('In 2014 the same kind of change reached every region at once and took about eleven hours to undo.');
  lines.push('');
  const rel = relative(process.cwd(), v.out);
  lines.push(
    `Event logs, each run's etape.yaml, store, status page and SLA report, and verdict.json: ${rel && !rel.startsWith('..') ? rel : v.out}`,
  );
  for (const [name, r] of [
    ['all at once', v.runs.all_at_once],
    ['etape', s],
  ] as const) {
    if (!r?.reports) continue;
    lines.push(`  status page (${name}): ${r.reports.statusUrl}`);
    lines.push(`  SLA report (${name}):  ${join(r.dir, 'sla.txt')}`);
  }
  if (v.leftover_pids.length) lines.push(`WARNING: processes still running: ${v.leftover_pids.join(', ')}`);
  return lines.join('\n');
}

function statusLine(r: DemoReports): string {
  const open = r.incidents.filter((i) => i.status !== 'resolved' && i.status !== 'postmortem');
  if (!open.length) return r.headline;
  const regions = new Set(open.flatMap((i) => i.components.map((c) => c.split('/')[1] ?? c)));
  const impact = open.map((i) => i.impact).sort((a, b) => IMPACTS.indexOf(b) - IMPACTS.indexOf(a))[0];
  return `${r.banner ? 'banner: ' : ''}${impact} incident, ${regions.size} region${regions.size === 1 ? '' : 's'}`;
}
const IMPACTS = ['none', 'minor', 'major', 'critical'];

function money(totals: Record<string, number>): string {
  const parts = Object.entries(totals).map(
    ([cur, v]) => `${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}${cur ? ' ' + cur : ''}`,
  );
  return parts.length ? parts.join(' + ') : `0.00 ${DEMO_CURRENCY}`;
}
