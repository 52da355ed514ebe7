// Blame: how well each rollout that changed a failing region explains its fault. Pure.
//
// Each suspect's evidence is a likelihood ratio: how much likelier the observed fault is if the rollout
// caused it than if it did not (a fault that would have happened anyway, such as a region-wide outage).
//   time    the lag from the rollout's first change in the region to the fault's start. If the rollout did
//           it, the lag follows a latency model (most bad changes fail within minutes, some are latent up to
//           the window); if not, the fault's time is unrelated to the change (uniform over the window).
//           A fault that began before the change cannot be its doing.
//   spread  every other region where the rollout has run at least as long as that lag: failing there is
//           strong evidence for it, healthy there is strong evidence against.
//   space   the share of the region's failing targets that run its new version, squared: failing targets
//           it never touched point elsewhere.
// Suspects compete with each other and with "no rollout" (prior odds below), so two equally good
// explanations share the confidence and neither is blamed until more evidence comes.
import type { RegionHealth } from './health.js';

/** What a rollout changed, as the line-stop reads it. */
export interface RolloutFootprint {
  id: string;
  service: string;
  version: string;
  phase: string;
  /** Who paused it, when paused (`line-stop` for this module's own pauses). */
  pausedBy?: string;
  /** Targets it changed: where, since when it runs the new version there, and whether it still does. */
  changes: { target: string; region: string; at: number; onNewVersion: boolean }[];
}

export interface BlameSettings {
  /** A rollout is a suspect for a fault in a region it changed within this long before the fault began. */
  windowMs: number;
  /** Confidence (0..1) at which the leading suspect is blamed and rolled back. */
  confidence: number;
}

export const DEFAULT_BLAME: BlameSettings = { windowMs: 60 * 60_000, confidence: 0.5 };

/** The latency model of a bad change: this share fails soon (exponential, mean below), the rest latently. */
export const PROMPT_SHARE = 0.8;
export const PROMPT_MEAN_MS = 2 * 60_000;
/** Prior probability that a given suspect caused a fault in a region it changed within the window. */
export const PRIOR = 0.3;
/** How often a region it ran in fails if the rollout is bad, and by chance if it is not. */
const FAIL_IF_BAD = 0.9;
const FAIL_BY_CHANCE = 0.05;

export interface Suspect {
  rolloutId: string;
  service: string;
  version: string;
  /** Posterior probability (0..1) that this rollout caused the fault. */
  confidence: number;
  /** The likelihood ratios behind it. */
  time: number;
  spread: number;
  space: number;
  /** The evidence in words. */
  explanation: string;
}

/** Likelihood ratio of a fault `lag` ms after a change: bad change against unrelated fault. */
export function timeRatio(lag: number, windowMs: number): number {
  if (lag < 0) return 0;
  const prompt = (PROMPT_SHARE * windowMs * Math.exp(-lag / PROMPT_MEAN_MS)) / PROMPT_MEAN_MS;
  return prompt + (1 - PROMPT_SHARE);
}

/** Rollouts that changed `fault.region` within the window before its fault, most likely cause first. */
export function rankSuspects(
  fault: RegionHealth,
  all: readonly RegionHealth[],
  rollouts: readonly RolloutFootprint[],
  now: number,
  settings: BlameSettings,
): Suspect[] {
  const since = fault.since ?? now;
  const failingSince = new Map(all.filter((r) => r.condition === 'failing').map((r) => [r.region, r.since ?? now]));
  const scored: (Omit<Suspect, 'confidence' | 'explanation'> & { ratio: number; words: string[] })[] = [];
  for (const r of rollouts) {
    const here = r.changes.filter((c) => c.region === fault.region);
    if (here.length === 0) continue;
    const lastChange = Math.max(...here.map((c) => c.at));
    if (lastChange < since - settings.windowMs) continue; // changed the region too long before the fault
    const onNew = new Set(r.changes.filter((c) => c.onNewVersion).map((c) => c.target));
    const failing = fault.failingTargets;
    const explained = failing.filter((t) => onNew.has(t)).length;
    const share = failing.length ? explained / failing.length : 0;
    const space = share * share;
    const words: string[] = [`${explained} of ${failing.length} failing target(s) in ${fault.region} run ${r.service} ${r.version}`];

    const newHere = here.filter((c) => c.onNewVersion).map((c) => c.at);
    const firstNew = newHere.length ? Math.min(...newHere) : undefined;
    // A fault seen to begin a little before the change (within the evidence's resolution) may be its doing.
    const early = firstNew === undefined ? -1 : since - firstNew;
    const lag = early < 0 && early >= -(fault.resolutionMs ?? 0) ? 0 : early;
    const time = timeRatio(lag, settings.windowMs);
    if (firstNew === undefined) words.push(`it no longer runs ${r.version} there`);
    else if (lag < 0) words.push(`the fault began ${fmt(-lag)} before it reached ${fault.region}`);
    else words.push(`the fault began ${fmt(lag)} after it reached ${fault.region}`);

    // Every other region it has run in at least as long as the fault took to show here.
    const firstNewByRegion = new Map<string, number>();
    for (const c of r.changes) {
      if (!c.onNewVersion || c.region === fault.region) continue;
      const prev = firstNewByRegion.get(c.region);
      if (prev === undefined || c.at < prev) firstNewByRegion.set(c.region, c.at);
    }
    let exposed = 0;
    let failingThere = 0;
    for (const [region, at] of firstNewByRegion) {
      const f = failingSince.get(region);
      if (f !== undefined && f < at) continue; // failing before it came: says nothing about it
      if (f !== undefined) {
        exposed++;
        failingThere++;
      } else if (now - at >= Math.max(0, lag)) exposed++;
    }
    const spread =
      Math.pow(FAIL_IF_BAD / FAIL_BY_CHANCE, failingThere) * Math.pow((1 - FAIL_IF_BAD) / (1 - FAIL_BY_CHANCE), exposed - failingThere);
    words.push(
      exposed === 0
        ? 'no other region has run it long enough to tell'
        : `the fault shows in ${failingThere} of ${exposed} other region(s) it has run in as long`,
    );
    scored.push({ rolloutId: r.id, service: r.service, version: r.version, time, spread, space, ratio: time * spread * space, words });
  }
  // Posterior over "this suspect" for each suspect and "none of them".
  const prior = PRIOR / (1 - PRIOR);
  const total = 1 + scored.reduce((a, x) => a + prior * x.ratio, 0);
  return scored
    .map(({ ratio, words, ...x }) => {
      const confidence = (prior * ratio) / total;
      return { ...x, confidence, explanation: `${words.join('; ')}: confidence ${confidence.toFixed(2)}` };
    })
    .sort((a, b) => b.confidence - a.confidence || a.rolloutId.localeCompare(b.rolloutId));
}

/** The suspect to blame, if the evidence is clear enough. */
export function blamed(suspects: readonly Suspect[], settings: BlameSettings): Suspect | undefined {
  const first = suspects[0];
  return first && first.confidence >= settings.confidence ? first : undefined;
}

function fmt(msd: number): string {
  const s = Math.round(msd / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}min` : `${(m / 60).toFixed(1)}h`;
}
