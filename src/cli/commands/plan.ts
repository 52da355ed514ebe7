// `etape plan <service> [--json]`: the waves a rollout of the service would go through, and the least time
// it takes (the sum of the bakes).
import type { Command } from 'commander';
import { formatDuration } from '../../core/duration.js';
import { planRollout } from '../../config/plan.js';
import { fmtWeight } from '../../plan/planner.js';
import type { Plan } from '../../plan/types.js';
import type { EtapeConfig } from '../../config/schema.js';
import { loadConfigFromProgram } from '../context.js';

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      'show the waves a rollout of <service> goes through: regions and cells, weight, share of the fleet, bake, gates, approvals',
    )
    .argument('<service>', 'service name (see services: in the config)')
    .option('--json', 'print the plan as JSON')
    .action(async (service: string, opts: { json?: boolean }, cmd: Command) => {
      const { config } = await loadConfigFromProgram(cmd);
      const plan = planRollout(config, service);
      process.stdout.write(opts.json ? JSON.stringify(planJson(plan), null, 2) + '\n' : formatPlanTable(plan, config));
    });
}

/** The plan as `etape plan --json` prints it. */
export function planJson(plan: Plan) {
  let cumulative = 0;
  return {
    service: plan.service,
    growth: plan.growth,
    totalWeight: plan.totalWeight,
    minDurationMs: plan.minDurationMs,
    minDuration: formatDuration(plan.minDurationMs),
    waves: plan.waves.map((w) => {
      cumulative += w.weight;
      return {
        index: w.index,
        kind: w.kind,
        regions: w.regions,
        targets: w.targets.map((t) => ({ region: t.region, cell: t.cell, weight: t.weight })),
        weight: w.weight,
        cumulativeWeight: cumulative,
        cumulativeShare: plan.totalWeight > 0 ? cumulative / plan.totalWeight : 0,
        bakeMs: w.bakeMs,
        bake: formatDuration(w.bakeMs),
        gates: w.gates,
        approval: w.approval,
      };
    }),
  };
}

function pct(x: number): string {
  const p = x * 100;
  return p >= 99.95 && p < 100 ? '99.9%' : `${p < 10 ? p.toFixed(1) : p.toFixed(1)}%`;
}

/** Regions of a wave as `westus` (all its cells) or `westus/cell-1+cell-2` (some of them). */
function waveRegionWords(plan: Plan, index: number, cellCount: Map<string, number>): string[] {
  const w = plan.waves[index];
  const cells = new Map<string, string[]>();
  for (const t of w.targets) {
    let l = cells.get(t.region);
    if (!l) cells.set(t.region, (l = []));
    l.push(t.cell);
  }
  return w.regions.map((r) => {
    const cs = cells.get(r) ?? [];
    return cs.length === cellCount.get(r) ? `${r} (${cs.length})` : `${r}/${cs.join('+')}`;
  });
}

function wrap(words: string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line}, ${w}` : w;
    if (line && next.length > width) {
      lines.push(line + ',');
      line = w;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

/** The readable table of `etape plan`. */
export function formatPlanTable(plan: Plan, config: EtapeConfig): string {
  const cellCount = new Map(config.fleet.regions.map((r) => [r.id, r.cells.length]));
  const header = ['wave', 'kind', 'weight', 'cumulative', 'bake', 'gates', 'approval', 'regions (cells)'];
  const rows: string[][] = [];
  let cumulative = 0;
  plan.waves.forEach((w, i) => {
    cumulative += w.weight;
    const regionLines = wrap(waveRegionWords(plan, i, cellCount), 64);
    rows.push([
      String(w.index),
      w.kind,
      fmtWeight(w.weight),
      pct(plan.totalWeight > 0 ? cumulative / plan.totalWeight : 0),
      formatDuration(w.bakeMs),
      w.gates.join(',') || '-',
      w.approval ? 'yes' : '-',
      regionLines[0],
    ]);
    for (const more of regionLines.slice(1)) rows.push(['', '', '', '', '', '', '', more]);
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((v, c) => (c === cells.length - 1 ? v : c === 2 || c === 3 ? v.padStart(widths[c]) : v.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  const regions = new Set(plan.waves.flatMap((w) => w.regions)).size;
  const targets = plan.waves.reduce((n, w) => n + w.targets.length, 0);
  return [
    `plan for ${plan.service}: ${plan.waves.length} waves, ${regions} regions, ${targets} cells, growth ${plan.growth}`,
    '',
    line(header),
    ...rows.map(line),
    '',
    `least total duration: ${formatDuration(plan.minDurationMs)} (the sum of the bakes; approvals and freeze windows add to it)`,
    '',
  ].join('\n');
}
