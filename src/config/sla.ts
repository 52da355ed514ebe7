// sla and customers: what is promised, to whom, and what is owed when it is missed.
import { z } from 'zod';
import { id } from './common.js';

export const creditTierSchema = z.strictObject({
  /** Monthly availability strictly below this percentage earns the credit. */
  below: z.number().min(0).max(100),
  /** Share of the monthly bill credited, in percent. */
  credit: z.number().min(0).max(100),
});

export const slaSchema = z.strictObject({
  service: id(),
  /** `storage`: request-based error rate per 5 minutes; `compute`: minute-based. Fills in measure and tiers. */
  preset: z.enum(['storage', 'compute']).optional(),
  objective: z.number().min(0).max(100).optional(),
  measure: z.enum(['requests', 'minutes']).optional(),
  tiers: z.array(creditTierSchema).optional(),
  /** For geo-redundant offerings: available while either region of a pair is. */
  geoRedundant: z.boolean().default(false),
});

export const customerSchema = z.strictObject({
  id: id(),
  name: z.string().optional(),
  uses: z
    .array(
      z.strictObject({
        service: id(),
        regions: z.array(id()).min(1),
        /** Monthly bill for this service across these regions. */
        monthlyBill: z.number().min(0).optional(),
        geoRedundant: z.boolean().optional(),
      }),
    )
    .min(1),
});

export type SlaConfig = z.infer<typeof slaSchema>;
export type CustomerConfig = z.infer<typeof customerSchema>;
