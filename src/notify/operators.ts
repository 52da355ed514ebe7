// Operator notifications: reads the store's event log from a durable cursor and queues, for each event a
// route of `notifications.operators` names (by type, or by prefix such as `drift.*`), one message per
// channel of the route. Any event kind works, so kinds added later (drift from the version watcher, …) need
// only a route. Queued messages are keyed by event, so reading an event twice sends it once.
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { EtapeConfig } from '../config/schema.js';
import type { EventRecord, Store } from '../store/store.js';
import type { NewMessage } from '../store/notifications.js';
import { BackoffLog } from '../store/health.js';
import { announcementEmail, webhookBody, type Announcement, type WebhookPayload } from './messages.js';

const CURSOR = 'operators';

/** Whether a route's pattern names an event type: exact, `prefix.*`, or `*`. */
export function matches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

const BAD = /halted|rolled_back|failed|drift\.(detected|revert)|overdue|aborted/;

/** An event as something people read. */
export function announcementFromEvent(e: EventRecord, rollout?: { service: string; version: string }, baseUrl?: string): Announcement {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const subject = rollout ? `${rollout.service} ${rollout.version}` : typeof d.service === 'string' ? d.service : (e.rolloutId ?? '');
  const words = e.type.replace(/[._]/g, ' ');
  const why = [
    d.reason,
    d.gate && `gate ${String(d.gate)}`,
    d.wave !== undefined && `wave ${String(d.wave)}`,
    d.target && `target ${String(d.target)}`,
    d.title,
  ]
    .filter((x): x is string => typeof x === 'string' && x.length > 0)
    .join('; ');
  const lines = [`${words}${subject ? `: ${subject}` : ''}${e.rolloutId ? ` (rollout ${e.rolloutId})` : ''}.`];
  if (why) lines.push(why);
  lines.push(`At ${new Date(e.at).toISOString()} by ${e.actor}.`);
  if (e.type === 'wave.awaiting_approval' && e.rolloutId)
    lines.push(`Approve with: etape rollout approve ${e.rolloutId}${d.wave !== undefined ? ` --wave ${String(d.wave)}` : ''}`);
  return {
    kind: e.type,
    at: e.at,
    title: `[etape] ${words[0].toUpperCase()}${words.slice(1)}${subject ? `: ${subject}` : ''}`,
    text: lines.join('\n'),
    ...(baseUrl && e.rolloutId ? { url: `${baseUrl}/ui/rollouts/${encodeURIComponent(e.rolloutId)}` } : {}),
    tone: BAD.test(e.type) ? 'bad' : e.type.includes('awaiting') ? 'warning' : 'good',
    data: { type: e.type, seq: e.seq, at: new Date(e.at).toISOString(), rollout_id: e.rolloutId, actor: e.actor, data: e.data },
  };
}

/** The messages the routes ask for, for one event. */
export function messagesForEvent(config: EtapeConfig, e: EventRecord, a: Announcement, now: number): NewMessage[] {
  const n = config.notifications;
  const channels = new Set<string>();
  for (const r of n.operators) if (r.events.some((p) => matches(p, e.type))) for (const c of r.to) channels.add(c);
  const out: NewMessage[] = [];
  for (const name of channels) {
    const ch = n.channels[name];
    if (!ch) continue;
    if (ch.kind === 'email') {
      if (!n.email) continue;
      for (const to of ch.to) {
        const key = `op:${e.seq}:${name}:${to}`;
        out.push({
          key,
          channel: 'email',
          target: to,
          subscriberId: null,
          kind: e.type,
          payload: announcementEmail(a, { from: n.email.from, to, key }),
          createdAt: now,
        });
      }
    } else {
      const key = `op:${e.seq}:${name}`;
      const payload: WebhookPayload & { channel: string } = {
        url: ch.url,
        format: ch.format,
        body: webhookBody(a, ch.format),
        event: e.type,
        channel: name,
      };
      out.push({ key, channel: 'webhook', target: ch.url, subscriberId: null, kind: e.type, payload, createdAt: now });
    }
  }
  return out;
}

export class OperatorNotifier {
  private ac = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly log: Logger;
  private rollouts = new Map<string, { service: string; version: string } | undefined>();

  constructor(private readonly o: { store: Store; config: EtapeConfig; clock: Clock; log?: Logger; pollMs?: number; baseUrl?: string }) {
    this.log = o.log ?? silentLogger;
  }

  /** Reads the events after the cursor and queues what the routes ask for; returns how many were queued. */
  async runOnce(): Promise<number> {
    const { store, config } = this.o;
    const ns = store.notifications;
    let cursor = await ns.getCursor(CURSOR);
    if (cursor === undefined) {
      // The first start reads from now on: old history is not news.
      cursor = await ns.lastEventSeq();
      await ns.saveCursor(CURSOR, cursor);
      return 0;
    }
    if (config.notifications.operators.length === 0) return 0;
    let queued = 0;
    for (;;) {
      const evs = await store.listEvents({ afterSeq: cursor, limit: 500 });
      if (evs.length === 0) break;
      const msgs: NewMessage[] = [];
      for (const e of evs) {
        if (!config.notifications.operators.some((r) => r.events.some((p) => matches(p, e.type)))) continue;
        let r: { service: string; version: string } | undefined;
        if (e.rolloutId) {
          if (!this.rollouts.has(e.rolloutId)) {
            const rec = await store.getRollout(e.rolloutId);
            this.rollouts.set(e.rolloutId, rec ? { service: rec.service, version: rec.version } : undefined);
          }
          r = this.rollouts.get(e.rolloutId);
        }
        msgs.push(...messagesForEvent(config, e, announcementFromEvent(e, r, this.o.baseUrl), this.o.clock.now()));
      }
      if (msgs.length) queued += await ns.enqueue(msgs);
      cursor = evs[evs.length - 1].seq;
      await ns.saveCursor(CURSOR, cursor);
      if (evs.length < 500) break;
    }
    if (queued) this.log.info({ queued }, 'operator notifications queued');
    return queued;
  }

  start(): void {
    const failures = new BackoffLog(this.log, 'operator notifications');
    this.loop ??= (async () => {
      while (!this.ac.signal.aborted) {
        try {
          await this.runOnce();
          failures.ok();
        } catch (e) {
          failures.failed(e);
        }
        await this.o.clock.sleep(this.o.pollMs ?? 2000, this.ac.signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.loop;
  }
}
