// From a change to queued messages: an incident notification becomes one outbox message per confirmed
// subscriber whose services and regions it touches (email with its own unsubscribe link, or webhook in the
// subscriber's format). The outbox is durable: the deliverer (deliverer.ts) sends in the background, so a
// mail server that is down delays mail and loses none, and a CLI that queues and exits loses nothing either.
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { NewMessage, SubscriberRecord } from '../store/notifications.js';
import { createWebhookNotifier, type Notification, type Notifier } from '../incidents/notify.js';
import { announcementEmail, unsubscribeUrl, webhookBody, type Announcement, type EmailPayload, type WebhookPayload } from './messages.js';

const STATUS_WORD: Record<string, string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
  postmortem: 'Postmortem',
  scheduled: 'Maintenance scheduled',
  in_progress: 'Maintenance in progress',
  verifying: 'Maintenance verifying',
  completed: 'Maintenance completed',
};

/** An incident or component notification as an announcement people read. */
export function announcementFromNotification(n: Notification): Announcement {
  const at = Date.parse(n.at);
  if (n.incident) {
    const i = n.incident;
    const u = i.latest_update;
    const what = i.kind === 'maintenance' ? 'Maintenance' : 'Incident';
    const verb = n.type === 'incident.opened' ? 'opened' : n.type === 'incident.resolved' ? 'resolved' : 'updated';
    return {
      kind: n.type,
      at,
      title: `${what} ${verb}: ${i.title}`,
      text: [
        `${STATUS_WORD[u.status] ?? u.status} (${u.at.replace(/\.\d{3}Z$/, 'Z')}): ${u.body}`,
        `Impact: ${i.impact}. Affects: ${i.components.join(', ') || 'no component named'}.`,
      ].join('\n'),
      ...(i.url ? { url: i.url } : {}),
      tone:
        n.type === 'incident.resolved' || i.kind === 'maintenance'
          ? 'good'
          : i.impact === 'minor' || i.impact === 'none'
            ? 'warning'
            : 'bad',
      data: n,
    };
  }
  const c = n.component!;
  return {
    kind: n.type,
    at,
    title: `${c.id} is now ${c.new_status.replace('_', ' ')}`,
    text: `${c.id}: ${c.old_status ?? 'new'} → ${c.new_status}. ${c.reason}`,
    tone: c.new_status === 'operational' ? 'good' : c.new_status === 'degraded_performance' ? 'warning' : 'bad',
    data: n,
  };
}

/** Whether a subscriber's services and regions cover any of these components (`service/region` or a bare service). */
export function inScope(s: Pick<SubscriberRecord, 'services' | 'regions'>, components: readonly string[]): boolean {
  if (s.services.length === 0 && s.regions.length === 0) return true;
  return components.some((c) => {
    const k = c.indexOf('/');
    const service = k < 0 ? c : c.slice(0, k);
    const region = k < 0 ? undefined : c.slice(k + 1);
    return (
      (s.services.length === 0 || s.services.includes(service)) &&
      (s.regions.length === 0 || region === undefined || s.regions.includes(region))
    );
  });
}

export function scopeText(s: Pick<SubscriberRecord, 'services' | 'regions'>, title: string): string {
  const sv = s.services.length ? s.services.join(', ') : 'every service';
  const rg = s.regions.length ? ` in ${s.regions.join(', ')}` : '';
  return `${title}: ${sv}${rg}`;
}

/** Messages for every confirmed subscriber an incident notification concerns. Pure but for the inputs. */
export function messagesForSubscribers(
  config: EtapeConfig,
  n: Notification,
  subscribers: readonly SubscriberRecord[],
  now: number,
): NewMessage[] {
  if (!n.incident) return [];
  const a = announcementFromNotification(n);
  const email = config.notifications.email;
  const base = `${n.type}:${n.incident.id}:${n.incident.latest_update.id}`;
  const out: NewMessage[] = [];
  for (const s of subscribers) {
    if (s.status !== 'confirmed' || !inScope(s, n.incident.components)) continue;
    const key = `${base}:${s.id}`;
    if (s.channel === 'email') {
      if (!email) continue;
      const payload: EmailPayload = announcementEmail(a, {
        from: email.from,
        to: s.address,
        key,
        unsubscribe: unsubscribeUrl(email.publicUrl, s.token),
        scope: scopeText(s, config.statuspage.title),
      });
      out.push({ key, channel: 'email', target: s.address, subscriberId: s.id, kind: n.type, payload, createdAt: now });
    } else {
      const payload: WebhookPayload = {
        url: s.address,
        format: s.format ?? 'etape',
        body: webhookBody(a, s.format ?? 'etape'),
        ...(s.secret ? { secret: s.secret } : {}),
        event: n.type,
      };
      out.push({ key, channel: 'webhook', target: s.address, subscriberId: s.id, kind: n.type, payload, createdAt: now });
    }
  }
  return out;
}

/** Queues an incident notification for the subscribers it concerns; returns how many messages were new. */
export async function enqueueForSubscribers(store: Store, config: EtapeConfig, n: Notification, now: number): Promise<number> {
  if (!n.incident) return 0;
  const subs = await store.notifications.listSubscribers({ status: 'confirmed' });
  return store.notifications.enqueue(messagesForSubscribers(config, n, subs, now));
}

/**
 * The notifier every change goes through: the configured webhooks directly (as before), and the subscribers
 * through the durable outbox.
 */
export function createNotifier(o: { config: EtapeConfig; store: Store; clock: Clock; log?: Logger }): Notifier {
  const log = o.log ?? silentLogger;
  const hooks = createWebhookNotifier(o.config.notifications.webhooks, {
    clock: o.clock,
    log,
    formatBody: (n, format) => webhookBody(announcementFromNotification(n), format),
  });
  const pending = new Set<Promise<unknown>>();
  return {
    notify(n) {
      hooks.notify(n);
      if (!n.incident) return;
      const p = enqueueForSubscribers(o.store, o.config, n, o.clock.now())
        .then((k) => {
          if (k > 0) log.info({ type: n.type, incident: n.incident?.id, queued: k }, 'notifications queued for subscribers');
        })
        .catch((e) => log.error({ err: e, type: n.type }, 'could not queue notifications for subscribers'));
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async idle() {
      while (pending.size) await Promise.all([...pending]);
      await hooks.idle();
    },
  };
}
