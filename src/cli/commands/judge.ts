// `etape judge --baseline FILE --canary FILE [--json]`: the canary judge on series from files (CSV or
// JSON, see docs/judge.md), so a team can try it on its own data before trusting it with a rollout.
// Exit code: 0 pass, 1 fail, 3 inconclusive or error (not enough evidence to pass), 2 bad usage or input.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EtapeError } from '../../core/errors.js';
import { DEFAULT_JUDGE_CONFIG, judge, type Direction, type JudgeResult } from '../../judge/judge.js';
import { buildJudgeInput, parseSeries } from '../../judge/series.js';

interface JudgeOptions {
  baseline: string;
  canary: string;
  json?: boolean;
  direction?: string;
  critical?: string;
  effectFloor?: string;
  confidence: string;
  minSamples: string;
  minRequests: string;
  passScore: string;
  marginalScore: string;
  perCell: boolean;
  alignInTime?: boolean;
  endOfBake?: boolean;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new EtapeError(
      'usage',
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; give a CSV or JSON series file`,
      { cause: e },
    );
  }
}

function num(flag: string, v: string, lo: number, hi: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new EtapeError('usage', `${flag} ${v}: give a number from ${lo} to ${hi}`);
  return n;
}

/** `name=value,name=value` lists. */
function pairs(flag: string, v: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v) return out;
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.lastIndexOf('=');
    if (i <= 0) throw new EtapeError('usage', `${flag} "${part}": write metric=value, for example ${flag} "p99 latency=either"`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export function formatJudgment(r: JudgeResult): string {
  const lines = [
    `verdict: ${r.verdict.toUpperCase()}   score ${r.score}   evidence ${Math.round(r.evidenceFraction * 100)}%`,
    r.reason,
    '',
  ];
  for (const m of r.metrics) {
    lines.push(`${m.verdict.toUpperCase().padEnd(12)} ${m.name} (${m.kind}${m.critical ? ', critical' : ''})`);
    for (const s of m.scopes) lines.push(`  ${s.verdict.padEnd(12)} ${s.detail}`);
  }
  return lines.join('\n') + '\n';
}

export function registerJudgeCommand(program: Command): void {
  program
    .command('judge')
    .description('judge a canary against its baseline from CSV or JSON series (see docs/judge.md)')
    .requiredOption('--baseline <file>', 'series of the baseline (old version)')
    .requiredOption('--canary <file>', 'series of the canary (new version)')
    .option('--json', 'print the whole judgment as JSON')
    .option('--direction <list>', 'which change is bad, per metric: "errors=increase,throughput=decrease" (default increase)')
    .option('--critical <list>', 'metrics whose failure fails the whole judgment: "errors,p99 latency"')
    .option('--effect-floor <list>', 'smallest relative change that matters: a number for all metrics, or "p99 latency=0.05,errors=0.5"')
    .option('--confidence <p>', 'confidence of decisions and intervals', String(DEFAULT_JUDGE_CONFIG.confidence))
    .option('--min-samples <n>', 'latency samples each side needs to pass', String(DEFAULT_JUDGE_CONFIG.minSamples))
    .option('--min-requests <n>', 'requests each side needs for a count metric to pass', String(DEFAULT_JUDGE_CONFIG.minRequests))
    .option('--pass-score <n>', 'score needed to pass', String(DEFAULT_JUDGE_CONFIG.passScore))
    .option('--marginal-score <n>', 'score under which the judgment fails', String(DEFAULT_JUDGE_CONFIG.marginalScore))
    .option('--no-per-cell', 'do not judge each canary target on its own')
    .option('--align-in-time', 'latency: compare canary and baseline only within the same time (cancels a common daily cycle)')
    .option('--end-of-bake', 'judge as the last look of a bake: pass or fail unless data are too few')
    .action((opts: JudgeOptions) => {
      const baseline = parseSeries(readText(opts.baseline), opts.baseline);
      const canary = parseSeries(readText(opts.canary), opts.canary);
      const direction: Record<string, Direction> = {};
      for (const [k, v] of Object.entries(pairs('--direction', opts.direction))) {
        if (v !== 'increase' && v !== 'decrease' && v !== 'either')
          throw new EtapeError('usage', `--direction ${k}=${v}: use increase, decrease or either`);
        direction[k] = v;
      }
      let defaultEffectFloor: number | undefined;
      const effectFloor: Record<string, number> = {};
      if (opts.effectFloor !== undefined && /^[\d.]+$/.test(opts.effectFloor.trim()))
        defaultEffectFloor = num('--effect-floor', opts.effectFloor, 0, 100);
      else
        for (const [k, v] of Object.entries(pairs('--effect-floor', opts.effectFloor)))
          effectFloor[k] = num(`--effect-floor ${k}=`, v, 0, 100);
      const critical = new Set(
        (opts.critical ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      const input = buildJudgeInput(baseline, canary, { direction, critical, effectFloor, defaultEffectFloor }).map((m) => ({
        ...m,
        alignInTime: opts.alignInTime === true,
      }));
      // Offline data is the whole window at once: a file of one aggregated bucket may still fail.
      const buckets = new Set([...baseline, ...canary].filter((r) => r.total !== undefined).map((r) => r.t)).size;
      const result = judge(input, {
        confidence: num('--confidence', opts.confidence, 0.5, 0.9999),
        minSamples: num('--min-samples', opts.minSamples, 1, 1e12),
        minRequests: num('--min-requests', opts.minRequests, 1, 1e15),
        passScore: num('--pass-score', opts.passScore, 0, 100),
        marginalScore: num('--marginal-score', opts.marginalScore, 0, 100),
        perCell: opts.perCell,
        minBuckets: Math.max(1, Math.min(DEFAULT_JUDGE_CONFIG.minBuckets, buckets)),
        endOfBake: opts.endOfBake === true,
      });
      process.stdout.write(
        opts.json
          ? JSON.stringify(result, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n'
          : formatJudgment(result),
      );
      process.exitCode = result.verdict === 'pass' ? 0 : result.verdict === 'fail' ? 1 : 3;
    });
}
