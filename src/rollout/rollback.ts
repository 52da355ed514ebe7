// Pair-safe rollback (I2 for every driver action, I4). Pure: state + evidence + now → which touched targets
// start going back now. The order:
//   1. targets that were failing when the rollback began (a hung one is forced), in parallel wherever the
//      pair rule allows: two paired regions may be changed together only when both were already failing;
//   2. then the healthy touched targets, newest wave first; a region's partner starts only once the region
//      is back and passing its probes on the old version.
// A target is "back" when its rollback or force call succeeded, and "proven" once a probe of the rollout's
// gates passed on it after that, on the old version (when the observation says which version it saw).
import { OBSERVE_SOURCE, type Observation } from '../core/types.js';
import type { RolloutState, TargetState } from './state.js';

/** Where a touched target is in the rollback. */
export type RollbackStage =
  /** Waits for its turn (the pair rule or the failing-first order holds it). */
  | 'waiting'
  /** A rollback or force call is in flight (or the deploy it replaced). */
  | 'in_flight'
  /** The driver put it back; waits for a passing probe on the old version. */
  | 'proving'
  /** Back and passing on the old version. */
  | 'back'
  /** Could not be put back or proven: a person must act (`etape rollout retry`). */
  | 'failed'
  /** Left on the new version because its partner region is down and could not be brought back. */
  | 'held';

/** The undirected partners of each region, from the state's pair edges. */
export function partnersOf(s: Pick<RolloutState, 'pairs'>): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const [a, b] of s.pairs ?? []) {
    if (!m.has(a)) m.set(a, new Set());
    if (!m.has(b)) m.set(b, new Set());
    m.get(a)!.add(b);
    m.get(b)!.add(a);
  }
  return m;
}

/** Sources whose per-target observations prove a target healthy: the probes of the rollout's probe gates. */
export function proofSources(s: RolloutState): Set<string> {
  const out = new Set<string>();
  for (const g of Object.values(s.gates)) if (g.kind === 'probe') for (const src of g.sources) out.add(src);
  return out;
}

export function stageOf(t: TargetState): RollbackStage {
  if (t.status === 'failed') return 'failed';
  if (t.key) return 'in_flight';
  if (t.status === 'rolled_back') return t.provenBackAt !== undefined ? 'back' : 'proving';
  if (t.held) return 'held';
  return 'waiting';
}

/** A passing observation of `t` from a proof source, taken after it went back, on the old version. */
export function proofOfBack(t: TargetState, observations: readonly Observation[], sources: ReadonlySet<string>): Observation | undefined {
  if (t.backAt === undefined) return undefined;
  let best: Observation | undefined;
  for (const o of observations) {
    if (o.cell !== t.cell || o.region !== t.region || !sources.has(o.source)) continue;
    if (o.at <= t.backAt) continue; // taken at the same instant: maybe before it went back
    if (o.version !== undefined && o.version !== t.fromVersion) continue;
    if (o.verdict !== 'pass') continue;
    if (!best || o.at < best.at) best = o;
  }
  return best;
}

/**
 * Targets that are down already when the rollback begins: their newest evidence since their deploy is not a
 * pass, or a gate judges them hung (`hung`: the gate's verdict, whose newest evidence timed out).
 */
export function failingTargets(
  s: RolloutState,
  observations: readonly Observation[],
  hung: ReadonlyMap<string, { gate: string; reason: string }>,
): Map<string, { hung?: { gate: string; reason: string } }> {
  const newest = new Map<string, Observation>();
  for (const o of observations) {
    if (o.cell === null) continue;
    const id = `${o.region}/${o.cell}`;
    const t = s.targets[id];
    // Since the deploy returned: a version that hangs at once may never get to prove itself (I9), and its
    // timeouts carry no version; evidence that names another version is left out below.
    // A target whose deploy is still in flight counts what it showed since that call began.
    const since = t?.returnedAt ?? t?.deployedAt ?? t?.calledAt ?? (t?.key && t.step === 'deploy' ? t.deployStartedAt : undefined);
    if (!t || since === undefined || o.at < since) continue;
    if (o.source === OBSERVE_SOURCE || (o.version !== undefined && o.version !== s.version)) continue;
    const cur = newest.get(id);
    if (!cur || o.at > cur.at) newest.set(id, o);
  }
  const out = new Map<string, { hung?: { gate: string; reason: string } }>();
  for (const [id, o] of newest) if (o.verdict !== 'pass') out.set(id, {});
  for (const [id, h] of hung) if (s.targets[id]) out.set(id, { hung: h });
  return out;
}

/** The order targets go back in: failing first, then healthy; newest wave first within each; then by id. */
export function rollbackOrder(targets: readonly TargetState[]): TargetState[] {
  return [...targets].sort(
    (a, b) => Number(!!b.failing) - Number(!!a.failing) || b.wave - a.wave || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/**
 * May `t` start going back now, given what every touched target is doing? Says why not, for people.
 * Paired regions are never changed together unless both targets concerned were failing already.
 */
export function holdReason(
  t: TargetState,
  touched: readonly TargetState[],
  partners: ReadonlyMap<string, Set<string>>,
): string | undefined {
  const ps = partners.get(t.region);
  if (!t.failing) {
    const failingOpen = touched.find((u) => u.failing && ['waiting', 'in_flight', 'proving'].includes(stageOf(u)));
    if (failingOpen) return `failing targets go back first (${failingOpen.id} is ${stageOf(failingOpen).replace('_', ' ')})`;
  }
  if (!ps) return undefined;
  for (const u of touched) {
    if (!ps.has(u.region)) continue;
    const stage = stageOf(u);
    const bothFailing = !!t.failing && !!u.failing;
    if ((stage === 'in_flight' || stage === 'proving') && !bothFailing) {
      return `partner region ${u.region} is not back yet (${u.id} ${stage.replace('_', ' ')})`;
    }
    if (stage === 'waiting' && u.failing && !t.failing) return `partner region ${u.region} goes first (${u.id} is failing)`;
    if (stage === 'failed' && !t.failing) return `partner region ${u.region} is down (${u.id} could not be put back)`;
  }
  return undefined;
}
