// How a rollout looks to people and API clients: a JSON summary of its state (bake left, verdicts, targets)
// and the text `etape rollout status` prints. Pure.
import { formatDuration } from '../core/duration.js';
import type { EventRecord, RolloutRecord } from '../store/store.js';
import { bakeLeft, currentWave } from './state.js';
import { loadRolloutState } from './state-schema.js';
import { stageOf, type RollbackStage } from './rollback.js';

export interface RolloutSummary {
  id: string;
  service: string;
  version: string;
  fromVersion: string | null;
  phase: string;
  /** A force (`etape target force`) of one target, not a release. */
  force: boolean;
  revision: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  currentWave: number | null;
  stop: { kind: string; by: string; reason: string; at: string } | null;
  pausedBy: string | null;
  waves: {
    index: number;
    status: string;
    regions: string[];
    bakeMs: number;
    bakeAccruedMs: number;
    bakeLeftMs: number;
    /** Bake is accruing right now (all gates passing when last judged). */
    accruing: boolean;
    approval: boolean;
    approvedBy: string | null;
    /** Why the wave may not start now: a freeze, or a region failing its health signals (stop the line). */
    heldBy: string | null;
    gates: { gate: string; kind: string; verdict: string; reason: string; at: string }[];
    targets: { id: string; status: string; attempt: number; lastError: string | null }[];
  }[];
  /** The rollback, in the order targets go back (failing first, then healthy; see docs/rollouts.md). */
  rollback: {
    startedAt: string;
    round: number;
    targets: { id: string; failing: boolean; hung: boolean; stage: RollbackStage; waitReason: string | null; lastError: string | null }[];
  } | null;
}

const iso = (t: number) => new Date(t).toISOString();

export function summarize(rec: RolloutRecord): RolloutSummary {
  const s = loadRolloutState(rec.state, rec.id);
  const cur = currentWave(s);
  return {
    id: rec.id,
    service: rec.service,
    version: rec.version,
    fromVersion: s.fromVersion ?? null,
    phase: rec.phase,
    force: s.force === true,
    revision: rec.revision,
    createdAt: iso(rec.createdAt),
    updatedAt: iso(rec.updatedAt),
    createdBy: s.createdBy,
    currentWave: cur?.index ?? null,
    stop: s.stop ? { kind: s.stop.kind, by: s.stop.by, reason: s.stop.reason, at: iso(s.stop.at) } : null,
    pausedBy: s.pausedBy ?? null,
    waves: s.waves.map((w) => ({
      index: w.index,
      status: w.status,
      regions: w.regions,
      bakeMs: w.bakeMs,
      bakeAccruedMs: w.bakeAccruedMs,
      bakeLeftMs: bakeLeft(w),
      accruing: w.status === 'baking' && w.lastAccrualAt !== null,
      approval: w.approval || w.gates.some((g) => s.gates[g]?.kind === 'approval'),
      approvedBy: w.approvedBy ?? null,
      heldBy: w.heldBy ?? null,
      gates: w.verdicts.map((v) => ({ ...v, at: iso(v.at) })),
      targets: w.targets.map((id) => {
        const t = s.targets[id];
        return { id, status: t.status, attempt: t.attempt, lastError: t.lastError ?? null };
      }),
    })),
    rollback: s.rollback
      ? {
          startedAt: iso(s.rollback.startedAt),
          round: s.rollback.round,
          targets: s.rollback.order
            .filter((id) => s.targets[id])
            .map((id) => {
              const t = s.targets[id];
              const stage = stageOf(t);
              return {
                id,
                failing: !!t.failing,
                hung: !!t.hung,
                stage,
                waitReason: stage === 'waiting' || stage === 'held' ? (t.waitReason ?? null) : null,
                lastError: t.lastError ?? null,
              };
            }),
        }
      : null,
  };
}

const STAGE_MARK: Record<RollbackStage, string> = { waiting: '·', in_flight: '>', proving: '~', back: '✓', failed: '✗', held: '!' };

const WAVE_MARK: Record<string, string> = {
  waiting: '·',
  awaiting_approval: '?',
  deploying: '>',
  baking: '~',
  verified: '✓',
};

/** Several lines: the rollout, then one line per wave with its targets, bake and verdicts. */
export function renderSummary(x: RolloutSummary): string {
  const lines = [
    `${x.id}  ${x.service} ${x.force ? `force of ${x.waves[0]?.targets[0]?.id ?? '?'}: ` : ''}${x.fromVersion ?? '?'} → ${x.version}  ${x.phase.toUpperCase()}`,
  ];
  if (x.pausedBy) lines.push(`  paused by ${x.pausedBy}`);
  if (x.stop) lines.push(`  ${x.stop.kind === 'abort' ? 'aborted' : 'halted'} by ${x.stop.by}: ${x.stop.reason}`);
  for (const w of x.waves) {
    let bake = '';
    if (w.status === 'baking') {
      bake = `  bake ${formatDuration(w.bakeLeftMs)} left of ${formatDuration(w.bakeMs)}${w.accruing ? '' : ' (held)'}`;
    } else if (w.status === 'verified') bake = `  baked ${formatDuration(w.bakeAccruedMs)}`;
    else if (w.status === 'awaiting_approval') bake = '  waits for approval: etape rollout approve ' + x.id + ' --wave ' + w.index;
    if (w.heldBy && (w.status === 'waiting' || w.status === 'awaiting_approval')) bake += `  held: ${w.heldBy}`;
    lines.push(`  ${WAVE_MARK[w.status] ?? ' '} wave ${w.index} ${w.status.padEnd(17)} ${w.regions.join(', ')}${bake}`);
    if (w.status !== 'waiting' && w.status !== 'awaiting_approval') {
      const targets = w.targets.map(
        (t) => `${t.id} ${t.status}${t.attempt > 1 ? ` (attempt ${t.attempt})` : ''}${t.lastError ? ` [${t.lastError}]` : ''}`,
      );
      lines.push(`      targets: ${targets.join('; ')}`);
    } else if (x.phase === 'rolling_back' || x.phase === 'rolled_back' || x.phase === 'failed') {
      const touched = w.targets.filter((t) => t.status !== 'pending');
      if (touched.length) lines.push(`      targets: ${touched.map((t) => `${t.id} ${t.status}`).join('; ')}`);
    }
    for (const g of w.gates) lines.push(`      gate ${g.gate}: ${g.verdict} — ${g.reason}`);
  }
  if (x.rollback) {
    const done = x.rollback.targets.filter((t) => t.stage === 'back').length;
    lines.push(
      `  rollback${x.rollback.round > 1 ? ` (round ${x.rollback.round})` : ''}: ${done} of ${x.rollback.targets.length} back, failing targets first, a region's partner only once it passes on the old version`,
    );
    x.rollback.targets.forEach((t, i) => {
      const why = t.waitReason ? ` — ${t.waitReason}` : t.lastError && t.stage === 'failed' ? ` — ${t.lastError}` : '';
      const was = t.hung ? ' (was hung)' : t.failing ? ' (was failing)' : '';
      lines.push(`    ${STAGE_MARK[t.stage]} ${String(i + 1).padStart(2)}. ${t.id}${was} ${t.stage.replace('_', ' ')}${why}`);
    });
  }
  return lines.join('\n');
}

/** One line per event, for `rollout history` and `--follow`. */
export function renderEvent(e: EventRecord | { seq?: number; at: number; actor: string; type: string; data: unknown }): string {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of ['wave', 'target', 'gate', 'verdict', 'version', 'attempt', 'reason', 'detail']) {
    if (d[k] !== undefined && d[k] !== null && d[k] !== '') parts.push(`${k}=${typeof d[k] === 'string' ? d[k] : JSON.stringify(d[k])}`);
  }
  return `${iso(e.at)}  ${e.type.padEnd(24)} ${e.actor.padEnd(14)} ${parts.join(' ')}`.trimEnd();
}
