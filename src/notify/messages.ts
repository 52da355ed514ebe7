// What is sent, as data: emails (subject, plain text, unsubscribe headers) and webhook bodies in etape's own
// signed JSON, Slack's incoming-webhook shape and a Microsoft Teams Adaptive Card message. Pure.
import type { WebhookFormat } from '../store/notifications.js';

/** One thing worth telling someone: an incident change, or an operator event. */
export interface Announcement {
  /** `incident.opened`, `rollout.halted`, … */
  kind: string;
  at: number;
  /** One line: "Incident opened: Blob requests fail in Europe". */
  title: string;
  /** Plain text, a few lines. */
  text: string;
  url?: string;
  /** Severity for colour in chat: good, warning, bad. */
  tone: 'good' | 'warning' | 'bad';
  /** The structured notification (etape format bodies carry it whole). */
  data: unknown;
}

export interface EmailPayload {
  from: string;
  to: string;
  subject: string;
  text: string;
  headers: Record<string, string>;
  messageId: string;
}

export interface WebhookPayload {
  url: string;
  format: WebhookFormat;
  /** The JSON body, without the timestamp the sender adds for the etape format. */
  body: unknown;
  /** Signing secret (etape format; Slack and Teams URLs carry their own secret). */
  secret?: string;
  event: string;
}

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A message id derived from the outbox key, so a receiver can drop a duplicate after a crash mid-send. */
export function messageIdFor(key: string, fromAddress: string): string {
  const domain = /@([^>\s]+)/.exec(fromAddress)?.[1] ?? 'etape.invalid';
  return `<${Buffer.from(key).toString('base64url').slice(0, 180)}@${domain}>`;
}

export function unsubscribeUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/unsubscribe?token=${encodeURIComponent(token)}`;
}

export function confirmUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/subscribe/confirm?token=${encodeURIComponent(token)}`;
}

/** A subscriber's email for an announcement, with a one-click unsubscribe link (RFC 8058 headers too). */
export function announcementEmail(
  a: Announcement,
  o: { from: string; to: string; key: string; unsubscribe?: string; scope?: string },
): EmailPayload {
  const lines = [a.title, '', a.text];
  if (a.url) lines.push('', `Details: ${a.url}`);
  if (o.unsubscribe)
    lines.push(
      '',
      '--',
      `You get this because you subscribed to ${o.scope ?? 'status updates'}.`,
      `Unsubscribe with one click: ${o.unsubscribe}`,
    );
  const headers: Record<string, string> = { 'X-Etape-Event': a.kind };
  if (o.unsubscribe) {
    headers['List-Unsubscribe'] = `<${o.unsubscribe}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  return { from: o.from, to: o.to, subject: a.title, text: lines.join('\n') + '\n', headers, messageId: messageIdFor(o.key, o.from) };
}

export function confirmationEmail(o: {
  from: string;
  to: string;
  key: string;
  confirm: string;
  scope: string;
  title: string;
}): EmailPayload {
  const text = [
    `Someone (hopefully you) asked to receive ${o.title} notifications for ${o.scope} at this address.`,
    '',
    `Confirm with one click: ${o.confirm}`,
    '',
    'If you did not ask for this, ignore this message: nothing will be sent to you.',
  ].join('\n');
  return {
    from: o.from,
    to: o.to,
    subject: `Confirm your subscription to ${o.title}`,
    text: text + '\n',
    headers: { 'X-Etape-Event': 'subscription.confirm' },
    messageId: messageIdFor(o.key, o.from),
  };
}

const TONE_COLOUR = { good: '2EB67D', warning: 'ECB22E', bad: 'E01E5A' } as const;

/** The JSON a webhook of this format receives. */
export function webhookBody(a: Announcement, format: WebhookFormat): unknown {
  switch (format) {
    case 'slack':
      // Slack incoming webhooks: `text` is required (and is the notification text); attachments add colour.
      return {
        text: `${a.title}${a.url ? ` <${a.url}|details>` : ''}`,
        attachments: [{ color: `#${TONE_COLOUR[a.tone]}`, text: a.text, ts: Math.floor(a.at / 1000) }],
      };
    case 'teams':
      // Teams workflows ("when a webhook request is received") post an Adaptive Card message.
      return {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                {
                  type: 'TextBlock',
                  text: a.title,
                  weight: 'Bolder',
                  size: 'Medium',
                  wrap: true,
                  color: a.tone === 'bad' ? 'Attention' : a.tone === 'warning' ? 'Warning' : 'Good',
                },
                { type: 'TextBlock', text: a.text, wrap: true },
                { type: 'TextBlock', text: iso(a.at), isSubtle: true, spacing: 'None' },
              ],
              ...(a.url ? { actions: [{ type: 'Action.OpenUrl', title: 'Details', url: a.url }] } : {}),
            },
          },
        ],
      };
    default:
      return a.data;
  }
}
