// Subscriptions over HTTP. Public, without a token and rate limited per client address: sign-up
// (POST /subscribe, from the status page's form), its confirmation link (GET /subscribe/confirm) and the
// one-click unsubscribe link (GET or POST /unsubscribe, RFC 8058). Nothing else is public. Operators manage
// subscribers and read the outbox under /api/ with their tokens.
import { z } from 'zod';
import type { Context } from 'hono';
import { EtapeError, isEtapeError } from '../core/errors.js';
import {
  addWebhookSubscriber,
  confirmSubscription,
  publicView,
  subscribeEmail,
  unsubscribe,
  type SubscriptionDeps,
} from '../notify/subscriptions.js';
import type { ApiApp, ApiContext, ApiEnv } from './app.js';
import { resolveSecret } from '../config/common.js';

/** Fixed one-minute windows per client address, plus a cap for all clients together. */
export class RateLimiter {
  private windows = new Map<string, { start: number; n: number }>();
  private all = { start: 0, n: 0 };
  constructor(
    private readonly perMinute: number,
    private readonly totalPerMinute: number,
  ) {}
  allow(client: string, now: number): boolean {
    const minute = Math.floor(now / 60_000);
    if (this.all.start !== minute) this.all = { start: minute, n: 0 };
    if (this.windows.size > 10_000) for (const [k, w] of this.windows) if (w.start !== minute) this.windows.delete(k);
    let w = this.windows.get(client);
    if (!w || w.start !== minute) this.windows.set(client, (w = { start: minute, n: 0 }));
    if (w.n >= this.perMinute || this.all.n >= this.totalPerMinute) return false;
    w.n++;
    this.all.n++;
    return true;
  }
}

function clientOf(c: Context<ApiEnv>): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'local';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title></head><body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem"><h1>${esc(title)}</h1>${body}</body></html>\n`;
}

const list = (v: unknown): string[] =>
  (Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : []).map((x) => String(x).trim()).filter(Boolean);

export function registerSubscriptionRoutes(app: ApiApp, ctx: ApiContext): void {
  const deps: SubscriptionDeps = { store: ctx.store, config: ctx.config, clock: ctx.clock };
  const perMinute = ctx.config.notifications.email?.signupsPerMinute ?? 5;
  const limiter = new RateLimiter(perMinute, perMinute * 20);
  const wantsHtml = (c: Context<ApiEnv>) => !(c.req.header('accept') ?? '').includes('application/json');
  const publicError = (c: Context<ApiEnv>, e: unknown) => {
    if (!isEtapeError(e)) throw e;
    const status = e.code === 'not_found' ? 404 : e.code === 'conflict' ? 409 : 400;
    return wantsHtml(c)
      ? c.html(page('That did not work', `<p>${esc(e.message)}</p>`), status)
      : c.json({ error: { code: e.code, message: e.message } }, status);
  };
  const limited = (c: Context<ApiEnv>) => {
    if (limiter.allow(clientOf(c), ctx.clock.now())) return undefined;
    c.header('Retry-After', '60');
    return wantsHtml(c)
      ? c.html(page('Too many requests', '<p>Too many sign-ups from your address: try again in a minute.</p>'), 429)
      : c.json({ error: { code: 'rate_limited', message: 'too many requests from this address: try again in a minute' } }, 429);
  };

  app.post('/subscribe', async (c) => {
    const stop = limited(c);
    if (stop) return stop;
    const type = c.req.header('content-type') ?? '';
    let raw: Record<string, unknown>;
    try {
      if (type.includes('application/json')) raw = (await c.req.json()) as Record<string, unknown>;
      else raw = (await c.req.parseBody({ all: true })) as Record<string, unknown>;
    } catch {
      return publicError(c, new EtapeError('bad_request', 'send a form (email, service, region) or JSON'));
    }
    try {
      const r = await subscribeEmail(deps, {
        email: String(raw.email ?? ''),
        services: list(raw.service ?? raw.services),
        regions: list(raw.region ?? raw.regions),
        actor: 'public',
      });
      ctx.log.info({ subscriber: r.subscriber.id, queued: r.confirmationQueued }, 'public sign-up');
      // The same answer whatever the address's state, so the endpoint tells nobody who is subscribed.
      return wantsHtml(c)
        ? c.html(
            page(
              'Check your inbox',
              '<p>If this address is not subscribed yet, a message with a confirmation link is on its way. Nothing is sent until you follow it.</p>',
            ),
            202,
          )
        : c.json({ ok: true, message: 'if this address is not subscribed yet, a confirmation link is on its way' }, 202);
    } catch (e) {
      return publicError(c, e);
    }
  });
  app.get('/subscribe/confirm', async (c) => {
    const stop = limited(c);
    if (stop) return stop;
    try {
      const s = await confirmSubscription(deps, c.req.query('token') ?? '');
      return wantsHtml(c)
        ? c.html(
            page(
              'Subscribed',
              `<p>${esc(s.address)} will get status notifications. Every message has a link to unsubscribe with one click.</p>`,
            ),
          )
        : c.json({ ok: true, status: s.status });
    } catch (e) {
      return publicError(c, e);
    }
  });
  const unsub = async (c: Context<ApiEnv>) => {
    const stop = limited(c);
    if (stop) return stop;
    try {
      const s = await unsubscribe(deps, { token: c.req.query('token') ?? '', actor: 'subscriber' });
      return wantsHtml(c)
        ? c.html(page('Unsubscribed', `<p>${esc(s.address)} will get no more notifications.</p>`))
        : c.json({ ok: true, status: s.status });
    } catch (e) {
      return publicError(c, e);
    }
  };
  app.get('/unsubscribe', unsub);
  app.post('/unsubscribe', unsub);

  // Operators.
  const addBody = z.strictObject({
    email: z.string().optional(),
    webhook: z.string().optional(),
    format: z.enum(['etape', 'slack', 'teams']).optional(),
    /** The name of an environment variable of the server holding the webhook's signing secret. */
    secretEnv: z.string().optional(),
    services: z.array(z.string()).optional(),
    regions: z.array(z.string()).optional(),
    /** Email only: skip the double opt-in (the operator vouches for the address). */
    confirmed: z.boolean().optional(),
  });
  app.get('/api/subscribers', async (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !['pending', 'confirmed', 'unsubscribed'].includes(status))
      throw new EtapeError('bad_request', 'status: pending, confirmed or unsubscribed');
    const subs = await ctx.store.notifications.listSubscribers({ status: status as 'pending' | undefined, limit: 1000 });
    return c.json({ subscribers: subs.map(publicView) });
  });
  app.post('/api/subscribers', async (c) => {
    const b = await ctx.body(c, addBody);
    if ((b.email === undefined) === (b.webhook === undefined)) throw new EtapeError('bad_request', 'give either email or webhook');
    if (b.email !== undefined) {
      const r = await subscribeEmail(deps, {
        email: b.email,
        services: b.services,
        regions: b.regions,
        confirmed: b.confirmed,
        actor: c.get('actor'),
      });
      return c.json(publicView(r.subscriber), 201);
    }
    const secret = b.secretEnv ? resolveSecret({ env: b.secretEnv }) : undefined;
    if (b.secretEnv && !secret) throw new EtapeError('bad_request', `the server's environment variable ${b.secretEnv} is not set`);
    const s = await addWebhookSubscriber(deps, {
      url: b.webhook!,
      format: b.format,
      secret,
      services: b.services,
      regions: b.regions,
      actor: c.get('actor'),
    });
    return c.json(publicView(s), 201);
  });
  app.delete('/api/subscribers/:id', async (c) =>
    c.json(publicView(await unsubscribe(deps, { id: c.req.param('id'), actor: c.get('actor') }))),
  );
  app.get('/api/notifications/outbox', async (c) => {
    const ns = ctx.store.notifications;
    return c.json({
      counts: await ns.countMessages(),
      recent: (await ns.listMessages({ limit: 50 })).map((m) => ({ ...m, payload: undefined })),
      deliveries: await ns.listDeliveries({ limit: 50 }),
    });
  });
}
