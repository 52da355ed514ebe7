// Rollout phases and per-wave statuses: closed sets, changed in one place (`transition`), which also emits
// the event that records the change (I5).
//
// Rollout phases and what they mean:
//   pending      created, nothing deployed yet                       → running, paused, aborted
//   running      waves are deploying and baking in order (I1, I2)     → completed, paused, halted, aborted
//   paused       a person paused it: no new wave starts, bake does not accrue; gates still watch
//                                                                    → running (resume), halted, aborted
//   completed    every wave verified (terminal)
//   halted       a gate failed, evidence kept erroring, or a driver gave up (I3, I4)
//                                                                    → rolling_back (or stays, if rollback is off), aborted
//   aborted      a person stopped it; it rolls back like a halt       → rolling_back
//   rolling_back touched targets are going back to their last verified version (rollback, then force)
//                                                                    → rolled_back, failed
//   rolled_back  every touched target is back on its last verified version (terminal)
//   failed       rollback itself failed on some target: a person must act; `rollout retry` → rolling_back
//
// Wave statuses: waiting → (awaiting_approval) → deploying → baking → verified.
import type { NewEvent } from '../store/store.js';

export const PHASES = {
  pending: 'pending',
  running: 'running',
  paused: 'paused',
  completed: 'completed',
  halted: 'halted',
  aborted: 'aborted',
  rolling_back: 'rolling_back',
  rolled_back: 'rolled_back',
  failed: 'failed',
} as const;
export type Phase = (typeof PHASES)[keyof typeof PHASES];

/** Which phase may follow which. Anything else is a bug in the core. */
export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  pending: ['running', 'paused', 'aborted', 'halted'],
  running: ['completed', 'paused', 'halted', 'aborted'],
  paused: ['running', 'halted', 'aborted'],
  completed: [],
  halted: ['rolling_back', 'aborted'],
  aborted: ['rolling_back'],
  rolling_back: ['rolled_back', 'failed'],
  rolled_back: [],
  // `etape rollout retry`: a person asks for the rollback again.
  failed: ['rolling_back'],
};

/** Phases in which the controller still has work to do. */
export const ACTIVE_PHASES: readonly Phase[] = ['pending', 'running', 'paused', 'halted', 'aborted', 'rolling_back'];
/** Phases nothing leaves. */
export const TERMINAL_PHASES: readonly Phase[] = ['completed', 'rolled_back', 'failed'];

export function isActive(p: string): boolean {
  return (ACTIVE_PHASES as readonly string[]).includes(p);
}
export function isTerminal(p: string): boolean {
  return (TERMINAL_PHASES as readonly string[]).includes(p);
}

export const WAVE_STATUSES = {
  waiting: 'waiting',
  awaiting_approval: 'awaiting_approval',
  deploying: 'deploying',
  baking: 'baking',
  verified: 'verified',
} as const;
export type WaveStatus = (typeof WAVE_STATUSES)[keyof typeof WAVE_STATUSES];

export const WAVE_TRANSITIONS: Readonly<Record<WaveStatus, readonly WaveStatus[]>> = {
  waiting: ['awaiting_approval', 'deploying'],
  awaiting_approval: ['deploying'],
  deploying: ['baking'],
  baking: ['verified'],
  verified: [],
};

/** Target statuses within one rollout. `pending` targets were never touched and are never rolled back. */
export const TARGET_STATUSES = {
  pending: 'pending',
  deploying: 'deploying',
  deployed: 'deployed',
  /** Being taken out of rotation before its way back (the driver's drain). */
  draining: 'draining',
  rolling_back: 'rolling_back',
  forcing: 'forcing',
  rolled_back: 'rolled_back',
  /** Back and proven on the old version; being put back into rotation (the driver's restore). */
  restoring: 'restoring',
  failed: 'failed',
} as const;
export type TargetStatus = (typeof TARGET_STATUSES)[keyof typeof TARGET_STATUSES];

export class TransitionError extends Error {
  constructor(what: string, from: string, to: string) {
    super(`illegal ${what} transition ${from} → ${to}`);
    this.name = 'TransitionError';
  }
}

/** The one place a rollout's phase changes: checks the transition and returns the event that records it. */
export function transition<S extends { id: string; phase: Phase }>(
  state: S,
  to: Phase,
  at: number,
  actor: string,
  data: Record<string, unknown> = {},
): { state: S; event: NewEvent } {
  if (!TRANSITIONS[state.phase].includes(to)) throw new TransitionError('phase', state.phase, to);
  return {
    state: { ...state, phase: to },
    event: { rolloutId: state.id, at, actor, type: `rollout.${to}`, data: { from: state.phase, ...data } },
  };
}

/** The one place a wave's status changes; returns the event that records it. */
export function waveTransition<W extends { index: number; status: WaveStatus }>(
  rolloutId: string,
  wave: W,
  to: WaveStatus,
  at: number,
  actor: string,
  data: Record<string, unknown> = {},
): { wave: W; event: NewEvent } {
  if (!WAVE_TRANSITIONS[wave.status].includes(to)) throw new TransitionError(`wave ${wave.index}`, wave.status, to);
  return {
    wave: { ...wave, status: to },
    event: { rolloutId, at, actor, type: `wave.${to}`, data: { wave: wave.index, from: wave.status, ...data } },
  };
}
