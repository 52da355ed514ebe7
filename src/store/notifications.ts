// Subscribers, the outbox of messages to send, and the delivery log: one implementation over both stores.
// Every method is a single SQL statement (or independent ones), so SQLite needs no async transaction: a
// claim is one UPDATE … RETURNING that also checks the claim is free, and a message is finished only by the
// holder of its claim (ownership is proved at the write).

export type SubscriberChannel = 'email' | 'webhook';
export type SubscriberStatus = 'pending' | 'confirmed' | 'unsubscribed';
export type WebhookFormat = 'etape' | 'slack' | 'teams';

export interface SubscriberRecord {
  id: string;
  channel: SubscriberChannel;
  /** Lower-cased email address, or the webhook URL. */
  address: string;
  /** Services and regions it wants news of; empty: all. */
  services: string[];
  regions: string[];
  /** For webhooks: the payload shape and the signing secret. */
  format?: WebhookFormat;
  secret?: string;
  status: SubscriberStatus;
  /** Secret of the confirmation and unsubscribe links. */
  token: string;
  createdAt: number;
  updatedAt: number;
  confirmedAt: number | null;
  unsubscribedAt: number | null;
  /** When the last confirmation mail was queued (rate limit on repeated sign-ups). */
  confirmSentAt: number | null;
}

export type MessageStatus = 'pending' | 'sent' | 'failed';

export interface NewMessage {
  /** Unique: the same notification is queued once per recipient however often it is offered. */
  key: string;
  channel: SubscriberChannel;
  target: string;
  subscriberId: string | null;
  /** What it is about: `incident.opened`, `subscription.confirm`, `rollout.halted`, … */
  kind: string;
  /** What to send: an email (from, to, subject, text, headers) or a webhook (body, secret, headers). */
  payload: unknown;
  createdAt: number;
}

export interface MessageRecord extends NewMessage {
  id: number;
  status: MessageStatus;
  attempts: number;
  nextAt: number;
  sentAt: number | null;
  lastError: string | null;
}

export interface DeliveryRecord {
  id: number;
  messageId: number;
  at: number;
  attempt: number;
  ok: boolean;
  detail: string;
}

export interface NotificationStore {
  saveSubscriber(s: SubscriberRecord): Promise<void>;
  findSubscriber(q: { id?: string; token?: string; channel?: SubscriberChannel; address?: string }): Promise<SubscriberRecord | undefined>;
  listSubscribers(f?: { status?: SubscriberStatus; channel?: SubscriberChannel; limit?: number }): Promise<SubscriberRecord[]>;
  /** Queues messages; a key already queued is skipped. Returns how many were new. */
  enqueue(messages: NewMessage[]): Promise<number>;
  /** Claims up to `limit` due messages for `holder` until `until` (expired claims are free again). */
  claim(holder: string, now: number, until: number, limit: number): Promise<MessageRecord[]>;
  /**
   * Records an attempt: the message becomes sent, failed, or pending again at `nextAt`, and the attempt goes
   * in the delivery log. Only while `holder` holds the claim; returns false (and changes nothing) otherwise.
   */
  finish(
    id: number,
    holder: string,
    r: { status: MessageStatus; at: number; nextAt?: number; attempt: number; ok: boolean; detail: string },
  ): Promise<boolean>;
  listMessages(f?: { status?: MessageStatus; kind?: string; limit?: number }): Promise<MessageRecord[]>;
  countMessages(): Promise<Record<MessageStatus, number>>;
  listDeliveries(f?: { messageId?: number; limit?: number }): Promise<DeliveryRecord[]>;
  /** Where a named reader of the event log stopped; undefined before its first save. */
  getCursor(name: string): Promise<number | undefined>;
  saveCursor(name: string, seq: number): Promise<void>;
  /** The newest event's seq (0 when there are none). */
  lastEventSeq(): Promise<number>;
}

/** How a store runs one statement: `?` placeholders; PostgreSQL's are numbered by the runner. */
export interface SqlRunner {
  all<R>(sql: string, args?: unknown[]): Promise<R[]>;
  run(sql: string, args?: unknown[]): Promise<number>;
}

interface SubscriberRow {
  id: string;
  channel: string;
  address: string;
  services: string | null;
  regions: string | null;
  format: string | null;
  secret: string | null;
  status: string;
  token: string;
  created_at: number | string;
  updated_at: number | string;
  confirmed_at: number | string | null;
  unsubscribed_at: number | string | null;
  confirm_sent_at: number | string | null;
}

interface MessageRow {
  id: number | string;
  key: string;
  channel: string;
  target: string;
  subscriber_id: string | null;
  kind: string;
  payload: string;
  status: string;
  attempts: number;
  next_at: number | string;
  created_at: number | string;
  sent_at: number | string | null;
  last_error: string | null;
}

function add(where: string[], args: unknown[], cond: string, v: unknown): void {
  where.push(cond);
  args.push(v);
}

const num = (v: number | string | null): number | null => (v === null || v === undefined ? null : Number(v));

function subscriberFromRow(r: SubscriberRow): SubscriberRecord {
  return {
    id: r.id,
    channel: r.channel as SubscriberChannel,
    address: r.address,
    services: r.services ? (JSON.parse(r.services) as string[]) : [],
    regions: r.regions ? (JSON.parse(r.regions) as string[]) : [],
    ...(r.format ? { format: r.format as WebhookFormat } : {}),
    ...(r.secret ? { secret: r.secret } : {}),
    status: r.status as SubscriberStatus,
    token: r.token,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    confirmedAt: num(r.confirmed_at),
    unsubscribedAt: num(r.unsubscribed_at),
    confirmSentAt: num(r.confirm_sent_at),
  };
}

function messageFromRow(r: MessageRow): MessageRecord {
  return {
    id: Number(r.id),
    key: r.key,
    channel: r.channel as SubscriberChannel,
    target: r.target,
    subscriberId: r.subscriber_id,
    kind: r.kind,
    payload: JSON.parse(r.payload),
    status: r.status as MessageStatus,
    attempts: Number(r.attempts),
    nextAt: Number(r.next_at),
    createdAt: Number(r.created_at),
    sentAt: num(r.sent_at),
    lastError: r.last_error,
  };
}

const SUBSCRIBER_COLUMNS =
  'id, channel, address, services, regions, format, secret, status, token, created_at, updated_at, confirmed_at, unsubscribed_at, confirm_sent_at';
const MESSAGE_COLUMNS =
  'id, key, channel, target, subscriber_id, kind, payload, status, attempts, next_at, created_at, sent_at, last_error';

export function notificationStore(db: SqlRunner): NotificationStore {
  return {
    async saveSubscriber(s) {
      await db.run(
        `INSERT INTO subscribers (${SUBSCRIBER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET channel = excluded.channel, address = excluded.address, services = excluded.services,
           regions = excluded.regions, format = excluded.format, secret = excluded.secret, status = excluded.status,
           token = excluded.token, updated_at = excluded.updated_at, confirmed_at = excluded.confirmed_at,
           unsubscribed_at = excluded.unsubscribed_at, confirm_sent_at = excluded.confirm_sent_at`,
        [
          s.id,
          s.channel,
          s.address,
          JSON.stringify(s.services),
          JSON.stringify(s.regions),
          s.format ?? null,
          s.secret ?? null,
          s.status,
          s.token,
          s.createdAt,
          s.updatedAt,
          s.confirmedAt,
          s.unsubscribedAt,
          s.confirmSentAt,
        ],
      );
    },
    async findSubscriber(q) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (q.id !== undefined) add(where, args, 'id = ?', q.id);
      if (q.token !== undefined) add(where, args, 'token = ?', q.token);
      if (q.channel !== undefined) add(where, args, 'channel = ?', q.channel);
      if (q.address !== undefined) add(where, args, 'address = ?', q.address);
      if (where.length === 0) return undefined;
      const rows = await db.all<SubscriberRow>(`SELECT ${SUBSCRIBER_COLUMNS} FROM subscribers WHERE ${where.join(' AND ')} LIMIT 1`, args);
      return rows[0] ? subscriberFromRow(rows[0]) : undefined;
    },
    async listSubscribers(f = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (f.status !== undefined) add(where, args, 'status = ?', f.status);
      if (f.channel !== undefined) add(where, args, 'channel = ?', f.channel);
      let sql = `SELECT ${SUBSCRIBER_COLUMNS} FROM subscribers${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`;
      if (f.limit !== undefined) {
        sql += ' LIMIT ?';
        args.push(Math.max(0, Math.floor(f.limit)));
      }
      return (await db.all<SubscriberRow>(sql, args)).map(subscriberFromRow);
    },
    async enqueue(messages) {
      let added = 0;
      // Chunks keep each statement under SQLite's limit on bound parameters.
      for (let i = 0; i < messages.length; i += 400) {
        const chunk = messages.slice(i, i + 400);
        const args: unknown[] = [];
        for (const m of chunk)
          args.push(m.key, m.channel, m.target, m.subscriberId, m.kind, JSON.stringify(m.payload), 'pending', 0, m.createdAt, m.createdAt);
        added += await db.run(
          `INSERT INTO outbox (key, channel, target, subscriber_id, kind, payload, status, attempts, next_at, created_at) VALUES ${chunk
            .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .join(', ')} ON CONFLICT (key) DO NOTHING`,
          args,
        );
      }
      return added;
    },
    async claim(holder, now, until, limit) {
      const rows = await db.all<MessageRow>(
        `UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN (
           SELECT id FROM outbox WHERE status = 'pending' AND next_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
           ORDER BY next_at, id LIMIT ?) AND (claimed_until IS NULL OR claimed_until < ?)
         RETURNING ${MESSAGE_COLUMNS}`,
        [holder, until, now, now, Math.max(0, Math.floor(limit)), now],
      );
      return rows.map(messageFromRow).sort((a, b) => a.nextAt - b.nextAt || a.id - b.id);
    },
    async finish(id, holder, r) {
      const changed = await db.run(
        `UPDATE outbox SET status = ?, attempts = ?, next_at = ?, sent_at = ?, last_error = ?, claimed_by = NULL, claimed_until = NULL
         WHERE id = ? AND claimed_by = ?`,
        [r.status, r.attempt, r.nextAt ?? r.at, r.status === 'sent' ? r.at : null, r.ok ? null : r.detail, id, holder],
      );
      if (changed === 0) return false;
      await db.run('INSERT INTO deliveries (message_id, at, attempt, ok, detail) VALUES (?, ?, ?, ?, ?)', [
        id,
        r.at,
        r.attempt,
        r.ok ? 1 : 0,
        r.detail,
      ]);
      return true;
    },
    async listMessages(f = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (f.status !== undefined) add(where, args, 'status = ?', f.status);
      if (f.kind !== undefined) add(where, args, 'kind = ?', f.kind);
      let sql = `SELECT ${MESSAGE_COLUMNS} FROM outbox${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC`;
      if (f.limit !== undefined) {
        sql += ' LIMIT ?';
        args.push(Math.max(0, Math.floor(f.limit)));
      }
      return (await db.all<MessageRow>(sql, args)).map(messageFromRow);
    },
    async countMessages() {
      const rows = await db.all<{ status: string; n: number | string }>('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status');
      const out: Record<MessageStatus, number> = { pending: 0, sent: 0, failed: 0 };
      for (const r of rows) out[r.status as MessageStatus] = Number(r.n);
      return out;
    },
    async listDeliveries(f = {}) {
      const args: unknown[] = [];
      let sql = 'SELECT id, message_id, at, attempt, ok, detail FROM deliveries';
      if (f.messageId !== undefined) {
        sql += ' WHERE message_id = ?';
        args.push(f.messageId);
      }
      sql += ' ORDER BY id DESC';
      if (f.limit !== undefined) {
        sql += ' LIMIT ?';
        args.push(Math.max(0, Math.floor(f.limit)));
      }
      const rows = await db.all<{
        id: number | string;
        message_id: number | string;
        at: number | string;
        attempt: number;
        ok: number | boolean;
        detail: string;
      }>(sql, args);
      return rows.map((r) => ({
        id: Number(r.id),
        messageId: Number(r.message_id),
        at: Number(r.at),
        attempt: Number(r.attempt),
        ok: r.ok === true || Number(r.ok) === 1,
        detail: r.detail,
      }));
    },
    async getCursor(name) {
      const rows = await db.all<{ seq: number | string }>('SELECT seq FROM notification_cursors WHERE name = ?', [name]);
      return rows[0] ? Number(rows[0].seq) : undefined;
    },
    async saveCursor(name, seq) {
      await db.run(
        'INSERT INTO notification_cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq WHERE notification_cursors.seq < excluded.seq',
        [name, seq],
      );
    },
    async lastEventSeq() {
      const rows = await db.all<{ seq: number | string | null }>('SELECT MAX(seq) AS seq FROM events');
      return Number(rows[0]?.seq ?? 0);
    },
  };
}

/** `?` placeholders numbered for PostgreSQL (the statements here hold no literal `?`). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
