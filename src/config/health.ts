// health: signals that belong to no rollout (SLO probes per region, or per service × region), measured all
// the time by `etape serve`, and the stop-the-line settings that read them (docs/stop-the-line.md).
import { z } from 'zod';
import { duration, id } from './common.js';
import { probeSchema } from './service.js';

export const healthSignalSchema = z.strictObject({
  name: id(),
  /** The service whose health this is, in every region it runs in; omit for a region-wide signal. */
  service: id().optional(),
  /** Regions measured (`all`, the default: every region of the fleet, or of the service). */
  regions: z.union([z.literal('all'), z.array(id()).min(1)]).default('all'),
  /** The probe, as under services[].probes, without a name: the signal's name is its name. */
  probe: probeSchema.omit({ name: true }),
  /** Consecutive failed probes of one target that make its region fail. */
  failAfter: z.number().int().positive().default(3),
  /** Evidence older than this says nothing (default 3 × interval + timeout). */
  freshFor: duration().optional(),
});

export const healthSchema = z.strictObject({
  /** A rollout that changed a failing region within this long before the fault began is a suspect. */
  window: duration().default('1h'),
  /** Confidence (0..1) at which the rollout that best explains a fault is rolled back. */
  confidence: z.number().gt(0).lt(1).default(0.5),
  /** How often the line is judged. */
  every: duration().default('2s'),
  signals: z.array(healthSignalSchema).default([]),
});

export type HealthSignalConfig = z.infer<typeof healthSignalSchema>;
