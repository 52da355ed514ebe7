// notifications: who is told what, unprompted. Customers subscribe (email with double opt-in, or webhooks)
// to incident news; operators get rollout, drift and overdue-update events on the channels chosen per event.
import { z } from 'zod';
import { duration, id, secretRef } from './common.js';
import { webhookSchema } from './statuspage.js';

export const WEBHOOK_FORMATS = ['etape', 'slack', 'teams'] as const;

export const smtpSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(587),
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: z.boolean().default(false),
  /** Refuse to send without STARTTLS. */
  requireTLS: z.boolean().default(false),
  user: z.string().optional(),
  password: secretRef().optional(),
  /** Connections kept open to the server while sending. */
  maxConnections: z.number().int().min(1).max(50).default(5),
  timeout: duration().default('30s'),
});

export const emailSchema = z.strictObject({
  /** The sender, e.g. `Example Cloud status <status@example.com>`. */
  from: z.string().min(3),
  smtp: smtpSchema,
  /**
   * Public base URL of `etape serve`'s sign-up endpoint (`/subscribe`, `/subscribe/confirm`, `/unsubscribe`),
   * used in confirmation and unsubscribe links and by the status page's sign-up form.
   */
  publicUrl: z.string().url(),
  /** Sign-ups accepted per client address per minute on the public endpoint. */
  signupsPerMinute: z.number().int().min(1).max(1000).default(5),
});

export const channelSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('webhook'),
    url: z.string().url(),
    secret: secretRef(),
    /** `etape` (signed JSON), `slack` (incoming webhook `text`) or `teams` (an Adaptive Card message). */
    format: z.enum(WEBHOOK_FORMATS).default('etape'),
  }),
  z.strictObject({ kind: z.literal('email'), to: z.array(z.string().email()).min(1) }),
]);

export const operatorRouteSchema = z.strictObject({
  /**
   * Store event types, or prefixes ending in `*`: rollout.halted, rollout.rolled_back, rollout.failed,
   * wave.awaiting_approval, rollout.completed, drift.*, incident.update_overdue, …
   */
  events: z
    .array(z.string().regex(/^[a-z0-9_.]+\*?$|^\*$/, { message: 'an event type like rollout.halted, or a prefix like drift.*' }))
    .min(1),
  /** Names of channels under notifications.channels. */
  to: z.array(id()).min(1),
});

export const deliverySchema = z.strictObject({
  /** First retry after about this long; doubling up to retryMax. */
  retryBase: duration().default('5s'),
  retryMax: duration().default('10m'),
  /** A message not delivered within this long of being queued is given up (kept as failed, in the log). */
  giveUpAfter: duration().default('3d'),
  /** Messages sent at once. */
  concurrency: z.number().int().min(1).max(200).default(20),
});

export const notificationsSchema = z
  .strictObject({
    webhooks: z.array(webhookSchema.extend({ format: z.enum(WEBHOOK_FORMATS).default('etape') })).default([]),
    email: emailSchema.optional(),
    channels: z.record(id(), channelSchema).default({}),
    operators: z.array(operatorRouteSchema).default([]),
    delivery: deliverySchema.default({ retryBase: '5s', retryMax: '10m', giveUpAfter: '3d', concurrency: 20 }),
  })
  .superRefine((n, ctx) => {
    n.operators.forEach((r, i) =>
      r.to.forEach((name, j) => {
        const ch = n.channels[name];
        if (!ch)
          ctx.addIssue({
            code: 'custom',
            path: ['operators', i, 'to', j],
            message: `no channel "${name}" under notifications.channels (there: ${Object.keys(n.channels).join(', ') || 'none'})`,
          });
        else if (ch.kind === 'email' && !n.email)
          ctx.addIssue({
            code: 'custom',
            path: ['operators', i, 'to', j],
            message: `channel "${name}" sends email: configure notifications.email (from, smtp, publicUrl)`,
          });
      }),
    );
  });
