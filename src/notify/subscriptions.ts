// Subscriptions, shared by the public sign-up endpoint, the CLI and the API: email with double opt-in (a
// sign-up is pending until its confirmation link is followed), webhooks added by operators, one-click
// unsubscribe. Every change is also an event in the store.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { EtapeError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { SubscriberRecord, WebhookFormat } from '../store/notifications.js';
import { confirmationEmail, confirmUrl } from './messages.js';
import { scopeText } from './outbox.js';

/** A pending sign-up gets at most one confirmation mail in this long, however often it is repeated. */
export const CONFIRM_RESEND_MS = 10 * 60_000;

export interface SubscriptionDeps {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
}

const emailSchema = z.string().trim().toLowerCase().email().max(254);

function token(): string {
  return randomBytes(24).toString('base64url');
}

function checkScope(config: EtapeConfig, services: string[], regions: string[]): void {
  const known = new Set(config.services.map((s) => s.name));
  const regionIds = new Set(config.fleet.regions.map((r) => r.id));
  for (const s of services)
    if (!known.has(s)) throw new EtapeError('bad_request', `no service "${s}"${didYouMean(s, known)}; services: ${[...known].join(', ')}`);
  for (const r of regions) if (!regionIds.has(r)) throw new EtapeError('bad_request', `no region "${r}"${didYouMean(r, regionIds)}`);
}

const clean = (xs: readonly string[] | undefined) => [...new Set((xs ?? []).map((x) => x.trim()).filter(Boolean))].sort();

/**
 * Signs an address up for email. New (or unsubscribed) addresses become pending and get a confirmation
 * link; a pending one gets the link again at most every CONFIRM_RESEND_MS; a confirmed one is left as it is
 * (a stranger cannot change someone's subscription). Operators may add an address already confirmed.
 */
export async function subscribeEmail(
  deps: SubscriptionDeps,
  input: { email: string; services?: string[]; regions?: string[]; confirmed?: boolean; actor: string },
): Promise<{ subscriber: SubscriberRecord; confirmationQueued: boolean }> {
  const { store, config, clock } = deps;
  const e = config.notifications.email;
  if (!e)
    throw new EtapeError(
      'bad_request',
      'email notifications are not configured: add notifications.email (from, smtp, publicUrl) to etape.yaml',
    );
  const parsed = emailSchema.safeParse(input.email);
  if (!parsed.success) throw new EtapeError('bad_request', `"${input.email}" is not an email address`);
  const address = parsed.data;
  const services = clean(input.services);
  const regions = clean(input.regions);
  checkScope(config, services, regions);
  const now = clock.now();
  const ns = store.notifications;
  const known = await ns.findSubscriber({ channel: 'email', address });
  if (known && known.status === 'confirmed' && !input.confirmed) return { subscriber: known, confirmationQueued: false };
  let s: SubscriberRecord;
  if (known && known.status === 'pending' && !input.confirmed) {
    s = { ...known, services, regions, updatedAt: now };
    if (known.confirmSentAt !== null && now - known.confirmSentAt < CONFIRM_RESEND_MS) {
      await ns.saveSubscriber(s);
      return { subscriber: s, confirmationQueued: false };
    }
  } else {
    s = {
      id: known?.id ?? `sub-${randomBytes(6).toString('hex')}`,
      channel: 'email',
      address,
      services,
      regions,
      status: input.confirmed ? 'confirmed' : 'pending',
      token: token(),
      createdAt: known?.createdAt ?? now,
      updatedAt: now,
      confirmedAt: input.confirmed ? now : null,
      unsubscribedAt: null,
      confirmSentAt: null,
    };
  }
  let queued = false;
  if (s.status === 'pending') {
    s.confirmSentAt = now;
    await ns.saveSubscriber(s);
    const key = `subscription.confirm:${s.id}:${now}`;
    await ns.enqueue([
      {
        key,
        channel: 'email',
        target: address,
        subscriberId: s.id,
        kind: 'subscription.confirm',
        payload: confirmationEmail({
          from: e.from,
          to: address,
          key,
          confirm: confirmUrl(e.publicUrl, s.token),
          scope: scopeText(s, config.statuspage.title).replace(/^[^:]*: /, ''),
          title: config.statuspage.title,
        }),
        createdAt: now,
      },
    ]);
    queued = true;
  } else await ns.saveSubscriber(s);
  await store.appendEvents([
    {
      rolloutId: null,
      at: now,
      actor: input.actor,
      type: 'subscriber.added',
      data: { id: s.id, channel: 'email', status: s.status, services, regions },
    },
  ]);
  return { subscriber: s, confirmationQueued: queued };
}

/** Follows a confirmation link. Unknown tokens are an error that says what to do. */
export async function confirmSubscription(deps: SubscriptionDeps, tok: string): Promise<SubscriberRecord> {
  const ns = deps.store.notifications;
  const s = tok ? await ns.findSubscriber({ token: tok }) : undefined;
  if (!s) throw new EtapeError('not_found', 'this confirmation link is not valid (any more): sign up again to get a new one');
  if (s.status === 'unsubscribed') throw new EtapeError('conflict', 'this address has unsubscribed: sign up again to get a new link');
  if (s.status === 'confirmed') return s;
  const now = deps.clock.now();
  const next: SubscriberRecord = { ...s, status: 'confirmed', confirmedAt: now, updatedAt: now };
  await ns.saveSubscriber(next);
  await deps.store.appendEvents([{ rolloutId: null, at: now, actor: 'subscriber', type: 'subscriber.confirmed', data: { id: s.id } }]);
  return next;
}

/** One-click unsubscribe (by the link's token), or by an operator (by id or address). Idempotent. */
export async function unsubscribe(
  deps: SubscriptionDeps,
  q: { token?: string; id?: string; address?: string; actor: string },
): Promise<SubscriberRecord> {
  const ns = deps.store.notifications;
  const s =
    q.token !== undefined
      ? await ns.findSubscriber({ token: q.token })
      : q.id !== undefined
        ? await ns.findSubscriber({ id: q.id })
        : q.address !== undefined
          ? ((await ns.findSubscriber({ channel: 'email', address: q.address.trim().toLowerCase() })) ??
            (await ns.findSubscriber({ channel: 'webhook', address: q.address.trim() })))
          : undefined;
  if (!s)
    throw new EtapeError(
      'not_found',
      q.token !== undefined ? 'this unsubscribe link is not valid' : 'no such subscriber: list them with `etape subscribers list`',
    );
  if (s.status === 'unsubscribed') return s;
  const now = deps.clock.now();
  // A new token: the old links stop working, and a later sign-up starts afresh.
  const next: SubscriberRecord = { ...s, status: 'unsubscribed', unsubscribedAt: now, updatedAt: now, token: token() };
  await ns.saveSubscriber(next);
  await deps.store.appendEvents([{ rolloutId: null, at: now, actor: q.actor, type: 'subscriber.unsubscribed', data: { id: s.id } }]);
  return next;
}

/** Operators add a webhook subscriber (confirmed at once): etape's signed JSON, Slack or Teams. */
export async function addWebhookSubscriber(
  deps: SubscriptionDeps,
  input: { url: string; format?: WebhookFormat; secret?: string; services?: string[]; regions?: string[]; actor: string },
): Promise<SubscriberRecord> {
  const u = z.string().url().safeParse(input.url);
  if (!u.success || !/^https?:/.test(input.url)) throw new EtapeError('bad_request', `"${input.url}" is not an http(s) URL`);
  const format = input.format ?? 'etape';
  if (!['etape', 'slack', 'teams'].includes(format)) throw new EtapeError('bad_request', `format "${format}": use etape, slack or teams`);
  if (format === 'etape' && !input.secret)
    throw new EtapeError('bad_request', 'an etape-format webhook needs a secret to sign its bodies with (--secret-env NAME)');
  const services = clean(input.services);
  const regions = clean(input.regions);
  checkScope(deps.config, services, regions);
  const now = deps.clock.now();
  const known = await deps.store.notifications.findSubscriber({ channel: 'webhook', address: input.url });
  const s: SubscriberRecord = {
    id: known?.id ?? `sub-${randomBytes(6).toString('hex')}`,
    channel: 'webhook',
    address: input.url,
    services,
    regions,
    format,
    ...(input.secret ? { secret: input.secret } : {}),
    status: 'confirmed',
    token: token(),
    createdAt: known?.createdAt ?? now,
    updatedAt: now,
    confirmedAt: now,
    unsubscribedAt: null,
    confirmSentAt: null,
  };
  await deps.store.notifications.saveSubscriber(s);
  await deps.store.appendEvents([
    {
      rolloutId: null,
      at: now,
      actor: input.actor,
      type: 'subscriber.added',
      data: { id: s.id, channel: 'webhook', format, services, regions },
    },
  ]);
  return s;
}

/** What may be shown of a subscriber (no token, no secret). */
export function publicView(s: SubscriberRecord): Omit<SubscriberRecord, 'token' | 'secret'> {
  const { token: _t, secret: _s, ...rest } = s;
  return rest;
}
