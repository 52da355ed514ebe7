// The whole etape.yaml. Each section lives in its own file; this one puts them together.
import { z } from 'zod';
import { fleetSchema } from './fleet.js';
import { policySchema } from './policy.js';
import { serviceSchema } from './service.js';
import { incidentRulesSchema, statusPageSchema } from './statuspage.js';
import { notificationsSchema } from './notifications.js';
import { customerSchema, slaSchema } from './sla.js';
import { duration, FLOORS, secretRef } from './common.js';
import { parseDuration } from '../core/duration.js';
import { healthSchema } from './health.js';

export const tokenSchema = z.strictObject({
  name: z.string().min(1),
  /** The bearer token, inline or (better) `{ env: NAME }`. Never logged. */
  token: secretRef(),
  role: z.enum(['viewer', 'operator']),
});

/**
 * How long the store keeps evidence (docs/store.md, retention): raw observations, then the per-minute
 * availability rolled up from them, which the status page's history and the SLA read. Events and rollout
 * state are kept for ever.
 */
const retentionSchema = z
  .strictObject({
    raw: duration({
      min: '2d',
      why: 'a day is rolled up only once it is over, and gates, the line-stop and late evidence read the last hours raw',
    }).default('14d'),
    rollups: duration({ min: '90d', why: 'the status page shows 90 days of history' }).default('400d'),
  })
  .refine((r) => (parseDuration(r.rollups) ?? Infinity) >= (parseDuration(r.raw) ?? 0), {
    message: 'rollups must be kept at least as long as raw observations',
    path: ['rollups'],
  });

export const configSchema = z.strictObject({
  version: z.literal(1).default(1),
  fleet: fleetSchema,
  services: z.array(serviceSchema).default([]),
  policy: policySchema.default(policySchema.parse({})),
  statuspage: statusPageSchema.default(statusPageSchema.parse({})),
  incidents: incidentRulesSchema.default(incidentRulesSchema.parse({})),
  /** Health signals that belong to no rollout, and stop-the-line (docs/stop-the-line.md). */
  health: healthSchema.default(healthSchema.parse({})),
  sla: z.array(slaSchema).default([]),
  customers: z.array(customerSchema).default([]),
  notifications: notificationsSchema.default(notificationsSchema.parse({})),
  server: z
    .strictObject({
      listen: z.string().default('127.0.0.1:7070'),
      tokens: z.array(tokenSchema).default([]),
      reconcileEvery: duration(FLOORS.reconcileEvery).default('1s'),
      retention: retentionSchema.default(retentionSchema.parse({})),
    })
    .default({ listen: '127.0.0.1:7070', tokens: [], reconcileEvery: '1s', retention: retentionSchema.parse({}) }),
  /** Store URL: a SQLite file path (default .etape/etape.db) or postgres://… ; ETAPE_STORE overrides. */
  store: z.string().optional(),
});

export type EtapeConfig = z.infer<typeof configSchema>;
