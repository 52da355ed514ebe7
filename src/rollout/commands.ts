// What a person can ask of a rollout: pause, resume, abort, approve, retry, force a target. Pure: state + command → state + events,
// or an EtapeError that says why the command does not apply now.
import { EtapeError } from '../core/errors.js';
import type { NewEvent } from '../store/store.js';
import { transition } from './phases.js';
import { cloneState, currentWave, type RolloutState } from './state.js';

export type Command =
  | { kind: 'pause'; reason?: string }
  | { kind: 'resume' }
  | { kind: 'abort'; reason?: string }
  | { kind: 'approve'; wave?: number }
  | { kind: 'retry' }
  | { kind: 'force'; target: string; reason?: string };

export function applyCommand(
  state: RolloutState,
  cmd: Command,
  now: number,
  actor: string,
): { nextState: RolloutState; events: NewEvent[] } {
  const s = cloneState(state);
  const events: NewEvent[] = [];
  const go = (to: RolloutState['phase'], data: Record<string, unknown> = {}) => {
    const r = transition(s, to, now, actor, data);
    s.phase = r.state.phase;
    events.push(r.event);
  };
  const refuse = (what: string) => new EtapeError('conflict', `cannot ${what} rollout ${s.id}: it is ${s.phase}`);

  switch (cmd.kind) {
    case 'pause':
      if (s.phase === 'paused')
        throw new EtapeError('conflict', `rollout ${s.id} is already paused${s.pausedBy ? ` (by ${s.pausedBy})` : ''}: resume it to go on`);
      if (s.phase !== 'running' && s.phase !== 'pending') throw refuse('pause');
      s.pausedBy = actor;
      go('paused', cmd.reason ? { reason: cmd.reason } : {});
      break;
    case 'resume':
      if (s.phase !== 'paused') throw new EtapeError('conflict', `cannot resume rollout ${s.id}: it is ${s.phase}, not paused`);
      s.pausedBy = undefined;
      {
        // A rollout paused because a judge stayed inconclusive at the end of the bake: resuming accepts that
        // wave without the verdict, as the person who resumed.
        const w = currentWave(s);
        if (w?.waitingForPerson?.length && w.inconclusiveAcceptedBy === undefined) {
          w.inconclusiveAcceptedBy = actor;
          go('running', { accepted: { wave: w.index, gates: w.waitingForPerson } });
          break;
        }
      }
      go('running');
      break;
    case 'abort':
      if (s.phase === 'aborted' || s.phase === 'rolling_back') return { nextState: s, events };
      if (!['pending', 'running', 'paused', 'halted'].includes(s.phase)) throw refuse('abort');
      s.stop = { kind: 'abort', by: actor, reason: cmd.reason ?? 'aborted by a person', at: now };
      s.pausedBy = undefined;
      go('aborted', { reason: s.stop.reason });
      break;
    case 'retry': {
      // A failed rollback goes again for whatever is not back yet, along the same pair-safe order (I2). A
      // target that could not be put back is treated as down (forcing it costs nothing); a held one as healthy.
      if (s.phase !== 'failed' || !s.rollback) throw refuse('retry the rollback of');
      const again: string[] = [];
      for (const t of Object.values(s.targets)) {
        if (t.status === 'pending' || (t.status === 'rolled_back' && t.provenBackAt !== undefined)) continue;
        if (t.fromVersion === undefined) continue;
        const wasFailed = t.status === 'failed' || t.status === 'rolled_back';
        t.status = 'deployed';
        t.failing = wasFailed || !!t.failing;
        t.hung = wasFailed || !!t.hung;
        t.held = undefined;
        t.waitReason = undefined;
        t.backAt = undefined;
        t.provenBackAt = undefined;
        // A target whose drain failed may be drained in the new round; a drained one stays out of rotation.
        if (!t.drained) t.drainTried = undefined;
        t.attemptBase = { ...t.attempts };
        again.push(t.id);
      }
      if (again.length === 0)
        throw new EtapeError('conflict', `nothing to retry in rollout ${s.id}: every touched target it can put back is back`);
      s.rollback = { ...s.rollback, round: s.rollback.round + 1 };
      s.endedAt = undefined;
      go('rolling_back', { targets: again, round: s.rollback.round, retry: true });
      break;
    }
    case 'force': {
      // A target whose rollback failed is forced back to its last verified version, inside this rollout: it
      // goes again as a down target (forcing it costs nothing), so the pair rule lets it go unless its
      // partner region is being changed now, and it is proven back like any rollback (I2, I9).
      const t = s.targets[cmd.target];
      if (!t) {
        const ids = Object.keys(s.targets);
        throw new EtapeError('not_found', `rollout ${s.id} has no target ${cmd.target} (its targets: ${ids.join(', ')})`);
      }
      if (s.phase !== 'rolling_back' && !(s.phase === 'failed' && s.rollback)) throw refuse(`force ${cmd.target} of`);
      if (t.status !== 'failed')
        throw new EtapeError(
          'conflict',
          `cannot force ${t.id} of rollout ${s.id}: it is ${t.held ? 'held (its partner region is down; retry once the partner is back)' : t.status.replace('_', ' ')}, and only a target whose rollback failed is forced`,
        );
      if (t.fromVersion === undefined)
        throw new EtapeError(
          'conflict',
          `cannot force ${t.id} of rollout ${s.id}: no last verified version is known for it; force it to a version with \`etape target force ${s.service} ${t.id} <version>\` once this rollout is over`,
        );
      t.status = 'deployed';
      t.failing = true;
      t.hung = true;
      t.hungReason = `forced by ${actor}`;
      t.waitReason = undefined;
      t.backAt = undefined;
      t.provenBackAt = undefined;
      t.attemptBase = { ...t.attempts };
      events.push({
        rolloutId: s.id,
        at: now,
        actor,
        type: 'target.force_requested',
        data: { target: t.id, version: t.fromVersion, ...(cmd.reason ? { reason: cmd.reason } : {}) },
      });
      if (s.phase === 'failed') {
        s.rollback = { ...s.rollback!, round: s.rollback!.round + 1 };
        s.endedAt = undefined;
        go('rolling_back', { targets: [t.id], round: s.rollback.round, force: true });
      }
      break;
    }
    case 'approve': {
      if (!['pending', 'running', 'paused'].includes(s.phase)) throw refuse('approve a wave of');
      const cur = currentWave(s);
      const index = cmd.wave ?? cur?.index;
      if (index === undefined) throw refuse('approve a wave of');
      const w = s.waves.find((x) => x.index === index);
      if (!w) {
        throw new EtapeError('bad_request', `wave ${index} does not exist: rollout ${s.id} has waves 1 to ${s.waves.length}`, {
          problems: [{ path: 'wave', message: `must be between 1 and ${s.waves.length}` }],
        });
      }
      if (w.status === 'verified') throw new EtapeError('conflict', `wave ${index} of rollout ${s.id} is already verified`);
      const needs = w.approval || w.gates.some((g) => s.gates[g]?.kind === 'approval');
      if (!needs) throw new EtapeError('conflict', `wave ${index} of rollout ${s.id} needs no approval: it goes on by itself`);
      if (w.approvedBy) return { nextState: s, events };
      w.approvedBy = actor;
      events.push({ rolloutId: s.id, at: now, actor, type: 'wave.approved', data: { wave: index } });
      break;
    }
  }
  s.updatedAt = now;
  return { nextState: s, events };
}
