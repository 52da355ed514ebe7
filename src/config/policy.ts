// policy: how waves are formed.
import { z } from 'zod';
import { duration, id } from './common.js';

export const freezeWindowSchema = z.strictObject({
  /** ISO 8601 instants; no wave starts inside [start, end). */
  start: z.iso.datetime({ offset: true }),
  end: z.iso.datetime({ offset: true }),
  reason: z.string().optional(),
});

export const policySchema = z.strictObject({
  /** Regions (`westeurope`) or cells (`westeurope/cell-1`) that take every change first. Defaults to regions marked canary. */
  canary: z.array(z.string().min(1)).optional(),
  bake: z
    .strictObject({
      canary: duration().default('1h'),
      first: duration().default('2h'),
      later: duration().default('4h'),
    })
    .default({ canary: '1h', first: '2h', later: '4h' }),
  /** Each wave's weight is at most growth × the weight already verified (I1). */
  growth: z.number().default(2),
  /** The single region of wave 2: `smallest` by weight, or a region id. */
  firstRegion: z.union([z.literal('smallest'), id()]).default('smallest'),
  maxRegionsPerWave: z.number().int().positive().optional(),
  maxPerGeographyPerWave: z.number().int().positive().optional(),
  freeze: z.array(freezeWindowSchema).default([]),
  /** Waves that wait for a manual approval before they start: numbers (1-based) or kinds. */
  approvals: z.array(z.union([z.number().int().positive(), z.enum(['canary', 'first', 'later', 'all'])])).default([]),
});

export type PolicyConfig = z.infer<typeof policySchema>;

/**
 * One wave of a plan written by hand (`services[].plan`): whole regions and/or `region/cell` targets.
 * Kinds follow position: wave 1 canary, wave 2 first, the rest later. The plan is checked against I1 and I2.
 */
export const planWaveSchema = z.strictObject({
  regions: z.array(id()).optional(),
  targets: z.array(z.string().min(1)).optional(),
  /** Overrides the policy's bake for this wave. */
  bake: duration().optional(),
  /** Wait for a manual approval before this wave starts (in addition to policy.approvals). */
  approval: z.boolean().optional(),
});

export type PlanWaveConfig = z.infer<typeof planWaveSchema>;
