// Sends what the outbox holds, in the background: claims due messages (a claim is a lease in the row, so two
// `etape serve` processes never send the same message at once), sends email over SMTP with nodemailer and
// webhooks over HTTP (signed), and records every attempt in the delivery log. A failure that may pass (the
// mail server down, a timeout, 4xx SMTP, HTTP 5xx/408/429) is retried with exponential backoff until
// `delivery.giveUpAfter`; a permanent one (5xx SMTP, other HTTP 4xx) fails the message at once.
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Clock } from '../core/clock.js';
import { silentLogger, type Logger } from '../core/log.js';
import { ms, resolveSecret } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import { signBody } from '../drivers/http.js';
import { backoffDelay } from '../drivers/retry.js';
import type { Store } from '../store/store.js';
import { BackoffLog } from '../store/health.js';
import type { MessageRecord } from '../store/notifications.js';
import type { EmailPayload, WebhookPayload } from './messages.js';

/** The result of one attempt: sent, retry later, or give up. */
export type Attempt = { ok: true; detail: string } | { ok: false; permanent: boolean; detail: string };

/** Sends one email; the default is nodemailer over the configured SMTP server. */
export type MailSender = (m: EmailPayload) => Promise<Attempt>;

export interface DelivererOptions {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for new messages when none are due (default 1 s); `nudge()` wakes it sooner. */
  pollMs?: number;
  /** Replaces the SMTP sender (tests of the retry logic). */
  sendMail?: MailSender;
  random?: () => number;
}

/** nodemailer over SMTP, one pooled transport. */
export function smtpSender(config: EtapeConfig, env: NodeJS.ProcessEnv = process.env): { send: MailSender; close: () => void } {
  const e = config.notifications.email;
  if (!e) return { send: async () => ({ ok: false, permanent: false, detail: 'notifications.email is not configured' }), close: () => {} };
  const timeout = ms(e.smtp.timeout);
  const password = resolveSecret(e.smtp.password, env);
  const transport = nodemailer.createTransport({
    host: e.smtp.host,
    port: e.smtp.port,
    secure: e.smtp.secure,
    requireTLS: e.smtp.requireTLS,
    pool: true,
    maxConnections: e.smtp.maxConnections,
    maxMessages: Infinity,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    ...(e.smtp.user ? { auth: { user: e.smtp.user, pass: password ?? '' } } : {}),
  });
  return {
    async send(m) {
      try {
        const info = await transport.sendMail({
          from: m.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          headers: m.headers,
          messageId: m.messageId,
        });
        return { ok: true, detail: String(info.response ?? 'accepted').slice(0, 300) };
      } catch (err) {
        const x = err as { responseCode?: number; code?: string; message?: string };
        const permanent = typeof x.responseCode === 'number' && x.responseCode >= 500 && x.responseCode < 600;
        return {
          ok: false,
          permanent,
          detail: `${x.code ?? 'error'}${x.responseCode ? ` ${x.responseCode}` : ''}: ${x.message ?? String(err)}`.slice(0, 500),
        };
      }
    },
    close: () => transport.close(),
  };
}

export async function sendWebhook(p: WebhookPayload, clock: Clock, timeoutMs = 10_000): Promise<Attempt> {
  const timestamp = Math.floor(clock.now() / 1000);
  const raw = JSON.stringify(p.format === 'etape' && p.body && typeof p.body === 'object' ? { ...(p.body as object), timestamp } : p.body);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'etape', 'x-etape-event': p.event };
  if (p.secret) {
    headers['x-etape-signature'] = signBody(p.secret, raw);
    headers['x-etape-timestamp'] = String(timestamp);
  }
  try {
    const res = await fetch(p.url, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(timeoutMs) });
    await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) return { ok: true, detail: `HTTP ${res.status}` };
    const retry = res.status >= 500 || res.status === 408 || res.status === 429;
    return { ok: false, permanent: !retry, detail: `HTTP ${res.status}` };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    return {
      ok: false,
      permanent: false,
      detail: (e as Error).name === 'TimeoutError' ? 'timeout' : `network error: ${cause?.code ?? (e as Error).message}`,
    };
  }
}

export class Deliverer {
  readonly holder = `deliverer-${randomBytes(4).toString('hex')}`;
  private ac = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private smtp: { send: MailSender; close: () => void } | undefined;
  private readonly log: Logger;
  /** Counters since start, for logs and the benchmark. */
  readonly stats = { sent: 0, retried: 0, failed: 0 };

  constructor(private readonly o: DelivererOptions) {
    this.log = o.log ?? silentLogger;
  }

  private get send(): MailSender {
    if (this.o.sendMail) return this.o.sendMail;
    this.smtp ??= smtpSender(this.o.config, this.o.env);
    return this.smtp.send;
  }

  /** Wakes the loop now (something was queued). */
  nudge(): void {
    this.wake?.();
  }

  start(): void {
    const failures = new BackoffLog(this.log, 'notification delivery');
    this.loop ??= (async () => {
      while (!this.ac.signal.aborted) {
        let n = 0;
        try {
          n = await this.runOnce();
          failures.ok();
        } catch (e) {
          // A store that cannot be written fails every round: said once, then with backoff.
          failures.failed(e);
        }
        if (n === 0 && !this.ac.signal.aborted) await this.pause(this.o.pollMs ?? 1000);
      }
    })();
  }

  private pause(msWait: number): Promise<void> {
    return new Promise((resolve) => {
      const ac = new AbortController();
      const done = () => {
        this.wake = undefined;
        this.ac.signal.removeEventListener('abort', done);
        ac.abort();
        resolve();
      };
      this.wake = done;
      this.ac.signal.addEventListener('abort', done, { once: true });
      void this.o.clock.sleep(msWait, ac.signal).then(done);
    });
  }

  async stop(): Promise<void> {
    this.ac.abort();
    this.wake?.();
    await this.loop;
    this.smtp?.close();
  }

  /** One round: claims due messages and sends them; returns how many were attempted. */
  async runOnce(): Promise<number> {
    const d = this.o.config.notifications.delivery;
    const concurrency = d.concurrency;
    const now = this.o.clock.now();
    const batch = await this.o.store.notifications.claim(this.holder, now, now + 5 * 60_000, concurrency * 10);
    if (batch.length === 0) return 0;
    let next = 0;
    const worker = async () => {
      while (next < batch.length) await this.deliver(batch[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
    return batch.length;
  }

  private async deliver(m: MessageRecord): Promise<void> {
    const d = this.o.config.notifications.delivery;
    const ns = this.o.store.notifications;
    const attempt = m.attempts + 1;
    let r: Attempt;
    // An address that unsubscribed after the message was queued gets nothing.
    const sub = m.subscriberId ? await ns.findSubscriber({ id: m.subscriberId }) : undefined;
    if (m.subscriberId && m.kind !== 'subscription.confirm' && sub?.status !== 'confirmed')
      r = { ok: false, permanent: true, detail: 'not sent: the recipient is no longer subscribed' };
    else if (m.channel === 'email') r = await this.send(m.payload as EmailPayload);
    else {
      const p = m.payload as WebhookPayload & { channel?: string };
      // An operator channel's secret is read from the config when sending, never stored in the outbox.
      const ch = p.channel ? this.o.config.notifications.channels[p.channel] : undefined;
      const secret = ch?.kind === 'webhook' ? resolveSecret(ch.secret, this.o.env ?? process.env) : p.secret;
      r = await sendWebhook({ ...p, ...(secret ? { secret } : {}) }, this.o.clock);
    }
    const at = this.o.clock.now();
    if (r.ok) {
      this.stats.sent++;
      await ns.finish(m.id, this.holder, { status: 'sent', at, attempt, ok: true, detail: r.detail });
      return;
    }
    const expired = at - m.createdAt >= ms(d.giveUpAfter);
    if (r.permanent || expired) {
      this.stats.failed++;
      await ns.finish(m.id, this.holder, {
        status: 'failed',
        at,
        attempt,
        ok: false,
        detail: r.detail + (expired && !r.permanent ? ' (gave up)' : ''),
      });
      this.log.warn(
        { message: m.id, kind: m.kind, target: m.channel === 'email' ? 'email' : m.target, detail: r.detail },
        'notification not delivered; given up',
      );
      return;
    }
    this.stats.retried++;
    const wait = backoffDelay(attempt, { baseMs: ms(d.retryBase), maxMs: ms(d.retryMax), random: this.o.random });
    await ns.finish(m.id, this.holder, { status: 'pending', at, nextAt: at + wait, attempt, ok: false, detail: r.detail });
    if (attempt === 1 || attempt % 10 === 0)
      this.log.warn(
        { message: m.id, kind: m.kind, attempt, retryInMs: wait, detail: r.detail },
        'notification delivery failed; will retry',
      );
  }
}
