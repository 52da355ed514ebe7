// Webhook subscribers (notifications.webhooks) get incident and component changes as JSON, signed like the
// http driver: `X-Etape-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, with the send time in the
// body and in `X-Etape-Timestamp`. Sending never blocks a build: deliveries run in the background, are
// retried with backoff on network errors, timeouts, 5xx, 408 and 429, and failures are logged.
import { systemClock, type Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ms, resolveSecret } from '../config/common.js';
import type { WebhookConfig } from '../config/statuspage.js';
import { signBody } from '../drivers/http.js';
import { backoffDelay } from '../drivers/retry.js';
import type { IncidentRecord } from '../store/store.js';
import type { ComponentChange } from './rules.js';

export type NotificationType = 'incident.opened' | 'incident.updated' | 'incident.resolved' | 'component.status_changed';

export interface Notification {
  type: NotificationType;
  /** ISO time of the change. */
  at: string;
  incident?: {
    id: string;
    kind: 'incident' | 'maintenance';
    title: string;
    status: string;
    impact: string;
    components: string[];
    url?: string;
    latest_update: { id: string; status: string; body: string; at: string };
  };
  component?: { id: string; old_status: string | null; new_status: string; reason: string };
}

export function incidentNotification(type: NotificationType, i: IncidentRecord, baseUrl?: string): Notification {
  const u = i.updates[i.updates.length - 1];
  return {
    type,
    at: new Date(i.updatedAt).toISOString(),
    incident: {
      id: i.id,
      kind: i.kind,
      title: i.title,
      status: i.status,
      impact: i.impact,
      components: i.components,
      ...(baseUrl ? { url: `${baseUrl}/incidents/${encodeURIComponent(i.id)}.html` } : {}),
      latest_update: { id: u.id, status: u.status, body: u.body, at: new Date(u.at).toISOString() },
    },
  };
}

export function componentNotification(c: Omit<ComponentChange, 'track'>): Notification {
  return {
    type: 'component.status_changed',
    at: new Date(c.at).toISOString(),
    component: { id: c.id, old_status: c.from, new_status: c.to, reason: c.reason },
  };
}

export interface Notifier {
  notify(n: Notification): void;
  /** Resolves when every delivery started so far has finished (succeeded or given up). */
  idle(): Promise<void>;
}

export const nullNotifier: Notifier = { notify() {}, idle: async () => {} };

export interface WebhookNotifierOptions {
  clock?: Clock;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  backoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

/** How a notification's body is shaped for a webhook: etape's JSON (default), or Slack- and Teams-compatible. */
export type NotificationBodyFormatter = (n: Notification, format: 'slack' | 'teams') => unknown;

export function createWebhookNotifier(
  hooks: Array<WebhookConfig & { format?: 'etape' | 'slack' | 'teams' }>,
  opts: WebhookNotifierOptions & { formatBody?: NotificationBodyFormatter } = {},
): Notifier {
  if (hooks.length === 0) return nullNotifier;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const pending = new Set<Promise<void>>();
  const targets = hooks.map((h) => {
    const secret = resolveSecret(h.secret, opts.env ?? process.env);
    if (!secret)
      log.error({ url: h.url }, 'webhook secret is not set (its environment variable is empty); notifications to it are skipped');
    return { ...h, secret, timeoutMs: ms(h.timeout) };
  });

  async function deliver(t: (typeof targets)[number], n: Notification): Promise<void> {
    let detail = '';
    for (let attempt = 0; attempt <= t.retries; attempt++) {
      if (attempt > 0)
        await clock.sleep(
          backoffDelay(attempt, { baseMs: opts.backoffMs ?? 500, maxMs: opts.maxBackoffMs ?? 30_000, random: opts.random }),
        );
      const timestamp = Math.floor(clock.now() / 1000);
      const raw =
        t.format === 'slack' || t.format === 'teams'
          ? JSON.stringify(opts.formatBody ? opts.formatBody(n, t.format) : { text: n.incident?.title ?? n.component?.id ?? n.type })
          : JSON.stringify({ ...n, timestamp });
      try {
        const res = await fetch(t.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'etape',
            'x-etape-signature': signBody(t.secret!, raw),
            'x-etape-timestamp': String(timestamp),
            'x-etape-event': n.type,
          },
          body: raw,
          signal: AbortSignal.timeout(t.timeoutMs),
        });
        await res.text().catch(() => '');
        if (res.status >= 200 && res.status < 300) return;
        detail = `HTTP ${res.status}`;
        if (!(res.status >= 500 || res.status === 408 || res.status === 429)) break;
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause;
        detail = (e as Error).name === 'TimeoutError' ? 'timeout' : `network error: ${cause?.code ?? (e as Error).message}`;
      }
    }
    log.warn({ url: t.url, type: n.type, detail }, 'webhook notification failed; giving up on this one');
  }

  return {
    notify(n) {
      for (const t of targets) {
        if (!t.secret) continue;
        const kind = n.type.startsWith('incident.') ? 'incident' : 'component';
        if (!t.events.includes(kind)) continue;
        const p = deliver(t, n).catch((e) => log.error({ err: e }, 'webhook delivery crashed'));
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
    },
    async idle() {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
