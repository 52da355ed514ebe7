// A plan: ordered waves of targets, each with a bake and gates. Derived from fleet + policy by the planner,
// or written by hand and then checked against I1 and I2.

export type WaveKind = 'canary' | 'first' | 'later';

/** What the planner needs of the policy (from `policy` in etape.yaml; durations in ms). */
export interface PlanPolicy {
  /** Regions or `region/cell` targets that take every change first; default: the regions marked canary. */
  canary?: readonly string[];
  bakeMs: Readonly<Record<WaveKind, number>>;
  /** Each wave's weight is at most growth × the weight already verified (I1). */
  growth: number;
  /** The single region of wave 2: `smallest` by weight, or a region id. */
  firstRegion: string;
  maxRegionsPerWave?: number;
  maxPerGeographyPerWave?: number;
  /** Waves that wait for a manual approval: 1-based numbers or kinds. */
  approvals: ReadonlyArray<number | WaveKind | 'all'>;
}

/** One wave of a plan written by hand: whole regions and/or `region/cell` targets. */
export interface PlanWave {
  regions?: readonly string[];
  targets?: readonly string[];
  /** Overrides the policy's bake for this wave. */
  bakeMs?: number;
  approval?: boolean;
}

/** What the planner needs of a service. */
export interface PlanService {
  name: string;
  regions: 'all' | string[];
  gates: ReadonlyArray<{ kind: string; name: string }>;
  plan?: readonly PlanWave[];
}

/** Why a plan cannot be made, at a path into etape.yaml (`['policy', 'growth']`, or into `services[].plan`). */
export interface PlanProblem {
  path: ReadonlyArray<string | number>;
  message: string;
}

export interface PlannedTarget {
  region: string;
  cell: string;
  /** Share of capacity this target carries: the region's weight split over its cells by cell weight. */
  weight: number;
}

export interface Wave {
  /** 1-based position in the plan. */
  index: number;
  kind: WaveKind;
  targets: PlannedTarget[];
  /** Distinct regions of the targets, in plan order. */
  regions: string[];
  /** Sum of the targets' weights. */
  weight: number;
  bakeMs: number;
  /** Names of the service's gates judged during this wave's bake. */
  gates: string[];
  /** The wave waits for a manual approval before it starts. */
  approval: boolean;
}

export interface Plan {
  service: string;
  waves: Wave[];
  /** Total weight of every target of the service. */
  totalWeight: number;
  /** Least total duration: the sum of the bakes. */
  minDurationMs: number;
  growth: number;
}

/** One broken promise found by the checker, named by wave and region. */
export interface PlanViolation {
  /** `policy`: a per-wave limit of the policy (maxRegionsPerWave, maxPerGeographyPerWave). */
  rule: 'I1' | 'I2' | 'coverage' | 'policy';
  wave: number;
  region?: string;
  message: string;
}
