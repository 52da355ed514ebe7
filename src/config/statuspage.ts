// statuspage and incidents: how evidence becomes component status, and when the front page must speak.
import { z } from 'zod';
import { duration, secretRef } from './common.js';

export const statusRulesSchema = z.strictObject({
  /** Share of a region's cells failing at or above which the component is partial_outage / major_outage. */
  partialOutageShare: z.number().min(0).max(1).default(0.01),
  majorOutageShare: z.number().min(0).max(1).default(0.5),
  /** Probe latency over this is degraded_performance. */
  degradedLatency: duration().default('1s'),
  /** Evidence older than this is not evidence: the component is unknown (I6). */
  freshFor: duration().default('3m'),
});

export const statusPageSchema = z.strictObject({
  title: z.string().default('Service status'),
  url: z.string().optional(),
  out: z.string().default('.etape/status'),
  /** Command run after each build, e.g. an rsync or upload script; gets ETAPE_STATUS_DIR. */
  publish: z.string().optional(),
  /** The page warns when its generated_at is older than this (I6). */
  staleAfter: duration().default('5m'),
  /** An incident open longer than this goes on the banner (I7). */
  bannerAfter: duration().default('30m'),
  /** Open incidents need a public update at least this often (I7). */
  updateCadence: duration().default('30m'),
  rules: statusRulesSchema.default({
    partialOutageShare: 0.01,
    majorOutageShare: 0.5,
    degradedLatency: '1s',
    freshFor: '3m',
  }),
});

export const incidentRulesSchema = z.strictObject({
  /** A component away from operational this long opens an incident. */
  openAfter: duration().default('5m'),
  /** An incident resolves itself after its components have been healthy this long. */
  resolveAfter: duration().default('15m'),
});

export const webhookSchema = z.strictObject({
  url: z.string().url(),
  secret: secretRef(),
});

export type StatusPageConfig = z.infer<typeof statusPageSchema>;
export type StatusRulesConfig = z.infer<typeof statusRulesSchema>;
export type IncidentRulesConfig = z.infer<typeof incidentRulesSchema>;
