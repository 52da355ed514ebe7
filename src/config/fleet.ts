// fleet: regions with geography, pair partners, weight and cells.
import { z } from 'zod';
import { id } from './common.js';

export const cellSchema = z.strictObject({
  id: id(),
  weight: z.number().positive().default(1),
  /** Values for probe URL templates and drivers, e.g. { port: "7101" }. */
  vars: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
});

export const regionSchema = z.strictObject({
  id: id(),
  name: z.string().optional(),
  geography: id(),
  /** Pair partner(s). Declared on either side; the pair graph is undirected (I2). */
  pair: z.union([id(), z.array(id())]).optional(),
  /** Share of capacity/traffic, in any unit; the planner uses ratios. */
  weight: z.number().positive().default(1),
  canary: z.boolean().default(false),
  cells: z
    .array(cellSchema)
    .min(1)
    .default([{ id: 'cell-1', weight: 1, vars: {} }]),
  vars: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
});

export const fleetSchema = z.strictObject({
  regions: z.array(regionSchema).min(1),
});

export type FleetConfig = z.infer<typeof fleetSchema>;
