// statuspage and incidents: how evidence becomes component status, and when the front page must speak.
import { z } from 'zod';
import { duration, FLOORS, secretRef } from './common.js';

export const statusRulesSchema = z.strictObject({
  /** Share of a region's cells failing at or above which the component is partial_outage / major_outage. */
  partialOutageShare: z.number().min(0).max(1).default(0.01),
  majorOutageShare: z.number().min(0).max(1).default(0.5),
  /** Probe latency over this is degraded_performance. */
  degradedLatency: duration().default('1s'),
  /** Share of a region's measured cells over degradedLatency at or above which it is degraded (0: any one). */
  degradedShare: z.number().min(0).max(1).default(0),
  /** Evidence older than this is not evidence: the component is unknown (I6). */
  freshFor: duration().default('3m'),
});

export const statusPageSchema = z.strictObject({
  title: z.string().default('Service status'),
  /**
   * Stable id of the page: the v2 JSON's page.id and, without `url`, the feed's id. Default: derived from the
   * title, so set it (or `url`) before renaming the page if feed readers and tools should keep following it.
   */
  pageId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'letters, digits, "_" and "-", at most 64' })
    .optional(),
  /** Public address of the page; used for links in JSON, the Atom feed and incident shortlinks. */
  url: z.string().optional(),
  out: z.string().default('.etape/status'),
  /** Command run after each build, e.g. an rsync or upload script; gets ETAPE_STATUS_DIR. */
  publish: z.string().optional(),
  /** How often `etape serve` rebuilds the page. */
  buildEvery: duration(FLOORS.buildEvery).default('15s'),
  /** The page warns when its generated_at is older than this (I6). */
  staleAfter: duration().default('5m'),
  /** An incident open longer than this goes on the banner (I7). */
  bannerAfter: duration().default('30m'),
  /** Open incidents need a public update at least this often (I7). */
  updateCadence: duration().default('30m'),
  /** Days of uptime history shown per component. */
  historyDays: z.number().int().min(1).max(366).default(90),
  rules: statusRulesSchema.default({
    partialOutageShare: 0.01,
    majorOutageShare: 0.5,
    degradedLatency: '1s',
    degradedShare: 0,
    freshFor: '3m',
  }),
});

export const incidentRulesSchema = z.strictObject({
  /** A component away from operational this long opens an incident. */
  openAfter: duration().default('5m'),
  /** An incident resolves itself after its components have been healthy this long. */
  resolveAfter: duration().default('15m'),
  /** Open an incident when a rollout gate fails (events gate.failed / rollout.halted). */
  openOnGateFailure: z.boolean().default(true),
  /** Also open one when a component has had no fresh evidence for openAfter (it shows unknown either way). */
  openOnUnknown: z.boolean().default(false),
});

export const webhookSchema = z.strictObject({
  url: z.string().url(),
  secret: secretRef(),
  /** Which changes to send: incident changes, component status changes, or both (default). */
  events: z.array(z.enum(['incident', 'component'])).default(['incident', 'component']),
  timeout: duration(FLOORS.webhookTimeout).default('5s'),
  retries: z.number().int().min(0).max(10).default(3),
});

export type StatusPageConfig = z.infer<typeof statusPageSchema>;
export type StatusRulesConfig = z.infer<typeof statusRulesSchema>;
export type IncidentRulesConfig = z.infer<typeof incidentRulesSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
