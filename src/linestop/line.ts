// Stop the line: when a region's health fails, every active rollout that changed it recently pauses, no
// wave starts there, the rollout that explains the fault is rolled back, and the others resume once the
// region is healthy again. Freezes (set by people) pause and hold the same way. Pure: one call looks at the
// region health, the active rollouts and the freezes, and says what to do; its memory is the rollouts' own
// `pausedBy` marks, so a restarted server decides the same.
import { blamed, rankSuspects, type BlameSettings, type RolloutFootprint, type Suspect } from './blame.js';
import type { RegionHealth } from './health.js';

export const LINE_STOP_ACTOR = 'line-stop';
export const FREEZE_ACTOR_PREFIX = 'freeze:';

export type FreezeScope = 'global' | 'region' | 'service';

/** A freeze set by a person (or by the line-stop while a region fails): no wave starts in its scope. */
export interface Freeze {
  id: string;
  scope: FreezeScope;
  /** The region or service, for those scopes. */
  value?: string;
  reason: string;
  by: string;
  at: number;
}

/** Why a wave may not start now, as the rollout core reads it. */
export interface Hold {
  scope: FreezeScope;
  value?: string;
  reason: string;
  by: string;
}

/** Whether a hold (or freeze) covers a rollout of `service` whose wave or plan touches `regions`. */
export function holdCovers(h: Pick<Hold, 'scope' | 'value'>, service: string, regions: readonly string[]): boolean {
  if (h.scope === 'global') return true;
  if (h.scope === 'service') return h.value === service;
  return h.value !== undefined && regions.includes(h.value);
}

export interface StoppedRegion {
  region: string;
  since: number;
  failingTargets: string[];
  suspects: Suspect[];
  /** The rollout blamed and rolled back, if the evidence was clear enough. */
  blamed?: string;
  /** In words: who is blamed and why, or why nobody is. */
  explanation: string;
}

export interface LineInput {
  now: number;
  regions: readonly RegionHealth[];
  /** Active rollouts, with the regions their plan touches. */
  rollouts: readonly (RolloutFootprint & { regions: readonly string[] })[];
  freezes: readonly Freeze[];
  settings: BlameSettings;
  /** Faults already blamed on a rollout (region and fault start): nobody else is blamed for them. */
  explained?: readonly { region: string; since: number; rolloutId: string }[];
}

export interface LineDecision {
  stopped: StoppedRegion[];
  pause: { rolloutId: string; actor: string; reason: string }[];
  rollBack: { rolloutId: string; region: string; confidence: number; reason: string }[];
  resume: { rolloutId: string; reason: string }[];
  /** No wave starts where one of these applies. */
  holds: Hold[];
}

const PAUSABLE = new Set(['pending', 'running']);
const STOPPING = new Set(['halted', 'aborted', 'rolling_back']);

export function decideLine(input: LineInput): LineDecision {
  const { now, regions, rollouts, freezes, settings } = input;
  const stopped: StoppedRegion[] = [];
  const holds: Hold[] = freezes.map((f) => ({
    scope: f.scope,
    ...(f.value !== undefined ? { value: f.value } : {}),
    reason: f.reason,
    by: `${FREEZE_ACTOR_PREFIX}${f.id}`,
  }));
  const suspectOf = new Map<string, string[]>(); // rollout → regions it is a suspect in
  const blame = new Map<string, { region: string; s: Suspect }>();

  for (const r of regions) {
    if (r.condition !== 'failing') continue;
    const already = input.explained?.find((x) => x.region === r.region && x.since === r.since);
    const suspects = rankSuspects(r, regions, rollouts, now, settings).filter((x) => x.rolloutId !== already?.rolloutId);
    const who = already ? undefined : blamed(suspects, settings);
    for (const s of suspects) suspectOf.set(s.rolloutId, [...(suspectOf.get(s.rolloutId) ?? []), r.region]);
    if (who && !blame.has(who.rolloutId)) blame.set(who.rolloutId, { region: r.region, s: who });
    if (already) for (const x of rollouts) if (x.id === already.rolloutId) suspectOf.delete(x.id);
    const explanation = already
      ? `explained by rollout ${already.rolloutId}, which is rolled back; the line waits for ${r.region} to pass its health signals again`
      : who
        ? `blamed rollout ${who.rolloutId} (${who.service} ${who.version}): ${who.explanation}`
        : suspects.length === 0
          ? `no rollout changed ${r.region} in the ${Math.round(settings.windowMs / 60_000)} minutes before the fault: no change explains it`
          : `no rollout explains the fault clearly enough (blame needs confidence ${settings.confidence}): ${suspects
              .map((s) => `${s.rolloutId} ${s.confidence.toFixed(2)}`)
              .join(', ')}`;
    stopped.push({
      region: r.region,
      since: r.since ?? now,
      failingTargets: r.failingTargets,
      suspects,
      ...(who ? { blamed: who.rolloutId } : already ? { blamed: already.rolloutId } : {}),
      explanation,
    });
    holds.push({ scope: 'region', value: r.region, reason: `region ${r.region} is failing its health signals`, by: LINE_STOP_ACTOR });
  }

  const pause: LineDecision['pause'] = [];
  const rollBack: LineDecision['rollBack'] = [];
  const resume: LineDecision['resume'] = [];
  for (const r of rollouts) {
    const b = blame.get(r.id);
    if (b) {
      if (!STOPPING.has(r.phase)) {
        rollBack.push({
          rolloutId: r.id,
          region: b.region,
          confidence: b.s.confidence,
          reason: `stop the line: ${r.id} explains the fault in ${b.region}: ${b.s.explanation}`,
        });
      }
      continue;
    }
    const stoppedIn = suspectOf.get(r.id);
    const freeze = freezes.find((f) => holdCovers(f, r.service, r.regions));
    if (PAUSABLE.has(r.phase)) {
      if (stoppedIn) {
        pause.push({
          rolloutId: r.id,
          actor: LINE_STOP_ACTOR,
          reason: `stop the line: ${stoppedIn.join(', ')} failing its health signals after this rollout changed it`,
        });
      } else if (freeze) {
        pause.push({ rolloutId: r.id, actor: `${FREEZE_ACTOR_PREFIX}${freeze.id}`, reason: `freeze ${freeze.id}: ${freeze.reason}` });
      }
      continue;
    }
    if (r.phase === 'paused' && r.pausedBy !== undefined && isOurs(r.pausedBy) && !stoppedIn && !freeze) {
      resume.push({
        rolloutId: r.id,
        reason:
          r.pausedBy === LINE_STOP_ACTOR
            ? 'the regions that stopped the line are healthy again'
            : `freeze ${r.pausedBy.slice(FREEZE_ACTOR_PREFIX.length)} was lifted`,
      });
    }
  }
  return { stopped, pause, rollBack, resume, holds };
}

function isOurs(pausedBy: string): boolean {
  return pausedBy === LINE_STOP_ACTOR || pausedBy.startsWith(FREEZE_ACTOR_PREFIX);
}
