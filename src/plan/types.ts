// A plan: ordered waves of targets, each with a bake and gates. Derived from fleet + policy by the planner,
// or written by hand and then checked against I1 and I2.

export type WaveKind = 'canary' | 'first' | 'later';

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
