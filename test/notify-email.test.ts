// Email notifications end to end with a real SMTP server on loopback (smtp-server as the receiver, mailparser
// to read what arrived) and `etape serve`'s public sign-up endpoint over HTTP: double opt-in, an incident
// opened by a failing gate reaching confirmed subscribers only, a working one-click unsubscribe link, and a
// mail server that is stopped and started again delaying mail without losing or doubling any.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { systemClock } from '../src/core/clock.js';
import { loadConfig } from '../src/config/load.js';
import type { EtapeConfig } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createApi } from '../src/api/app.js';
import { registerSubscriptionRoutes } from '../src/api/subscriptions.js';
import { serveApi, type RunningServer } from '../src/api/server.js';
import { Deliverer } from '../src/notify/deliverer.js';
import { StatusBuilder } from '../src/statuspage/publisher.js';
import { updateIncidentOp } from '../src/incidents/service.js';
import { createNotifier } from '../src/notify/outbox.js';

interface Received {
  to: string;
  mail: ParsedMail;
}

let dir = '';
let store: Store;
let config: EtapeConfig;
let http: RunningServer;
let smtp: SMTPServer | undefined;
let smtpPort = 0;
const inbox: Received[] = [];
let deliverer: Deliverer;

function startSmtp(port: number): Promise<number> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          for (const r of session.envelope.rcptTo) inbox.push({ to: r.address, mail });
          cb();
        })
        .catch(cb);
    },
  });
  smtp = server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port));
  });
}

function stopSmtp(): Promise<void> {
  const s = smtp;
  smtp = undefined;
  return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
}

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const mailsTo = (addr: string) => inbox.filter((m) => m.to === addr);
const linkIn = (m: ParsedMail, path: string) => {
  const u = new RegExp(`https?://[^\\s]+${path.replace('/', '\\/')}\\?token=[A-Za-z0-9_-]+`).exec(m.text ?? '');
  assert.ok(u, `the mail carries a ${path} link:\n${m.text}`);
  return u[0];
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etape-mail-'));
  smtpPort = await startSmtp(0);
  store = await openStore(join(dir, 'etape.db'));
  // The public endpoint listens first, so the config can name its address in the links.
  const holder: { app?: ReturnType<typeof createApi> } = {};
  http = await serveApi({ fetch: (req: Request, env: unknown) => holder.app!.fetch(req, env) } as never, '127.0.0.1:0');
  config = (await loadConfig(writeConfig(http.url))).config;
  holder.app = createApi({ store, config, routes: [registerSubscriptionRoutes] });
  deliverer = new Deliverer({ store, config, clock: systemClock, pollMs: 20 });
  deliverer.start();
});

function writeConfig(publicUrl: string): string {
  const file = join(dir, 'etape.yaml');
  writeFileSync(
    file,
    `version: 1
fleet:
  regions:
    - { id: eu-north, geography: europe, canary: true, cells: [{ id: c1 }] }
    - { id: eu-west, geography: europe, cells: [{ id: c1 }] }
services:
  - name: blob
    driver: { kind: exec, deploy: "true" }
  - name: vm
    driver: { kind: exec, deploy: "true" }
statuspage:
  title: Example Cloud status
  url: https://status.example.com
  out: ${join(dir, 'site')}
notifications:
  email:
    from: "Example Cloud status <status@example.com>"
    smtp: { host: 127.0.0.1, port: ${smtpPort}, timeout: 2s }
    publicUrl: ${publicUrl}
    signupsPerMinute: 50
  delivery: { retryBase: 50ms, retryMax: 200ms }
`,
  );
  return file;
}

after(async () => {
  await deliverer?.stop();
  await http?.close();
  await stopSmtp();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signUp(email: string, fields: Record<string, string> = {}): Promise<Response> {
  return fetch(`${http.url}/subscribe`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, ...fields }).toString(),
  });
}

test('double opt-in, an incident opened by a failing gate, a stopped mail server, one-click unsubscribe', { timeout: 60_000 }, async () => {
  // Sign-up through the public endpoint: no token; everyone gets a confirmation link and nothing else.
  for (const [who, f] of [
    ['alice@example.com', { service: 'blob' }],
    ['bob@example.com', { service: 'blob' }],
    ['carol@example.com', {}],
    ['dave@example.com', { service: 'vm' }],
  ] as const) {
    const r = await signUp(who, f);
    assert.equal(r.status, 202, await r.text());
  }
  assert.equal((await signUp('not-an-address')).status, 400);
  assert.equal((await signUp('erin@example.com', { service: 'blobb' })).status, 400);
  await until('four confirmation mails', () => inbox.length >= 4);
  for (const who of ['alice@example.com', 'carol@example.com', 'dave@example.com']) {
    const m = mailsTo(who)[0].mail;
    assert.match(m.subject ?? '', /Confirm your subscription/);
    const r = await fetch(linkIn(m, '/subscribe/confirm'));
    assert.equal(r.status, 200);
    assert.match(await r.text(), /Subscribed/);
  }
  // bob never confirms.
  const confirmed = await store.notifications.listSubscribers({ status: 'confirmed' });
  assert.deepEqual(confirmed.map((s) => s.address).sort(), ['alice@example.com', 'carol@example.com', 'dave@example.com']);
  inbox.length = 0;

  // The mail server goes away; a gate fails and the publisher opens an incident from it.
  await stopSmtp();
  await store.appendEvents([
    {
      rolloutId: 'r-blob-v2',
      at: Date.now(),
      actor: 'controller',
      type: 'gate.failed',
      data: { gate: 'get-blob', service: 'blob', regions: ['eu-north'], reason: '3 probes in a row timed out' },
    },
  ]);
  const notifier = createNotifier({ config, store, clock: systemClock });
  const builder = new StatusBuilder({ store, config, clock: systemClock, publish: false, notifier });
  const report = await builder.build();
  await builder.close();
  // The static page offers the sign-up form, posting to this endpoint.
  assert.match(readFileSync(join(dir, 'site', 'index.html'), 'utf8'), new RegExp(`<form method="post" action="${http.url}/subscribe">`));
  const opened = report.actions.find((a) => a.kind === 'open');
  assert.ok(opened, 'the failing gate opened an incident');
  const incident = (await store.getIncident(opened.id))!;
  assert.equal(incident.source, 'auto:gate');

  // Queued for alice and carol (blob, or everything); not for bob (unconfirmed) nor dave (vm only).
  const queued = await store.notifications.listMessages({ kind: 'incident.opened' });
  assert.deepEqual(queued.map((m) => m.target).sort(), ['alice@example.com', 'carol@example.com']);
  // Attempts fail while the server is down, and each failure is in the delivery log.
  await until('failed attempts logged', async () => (await store.notifications.listDeliveries({})).filter((d) => !d.ok).length >= 4);
  assert.equal(inbox.length, 0);
  assert.equal((await store.notifications.countMessages()).pending, 2);

  // The mail server is back: each confirmed subscriber gets the incident, once.
  await startSmtp(smtpPort);
  await until('both incident mails', () => inbox.length >= 2);
  await until('the outbox drained', async () => (await store.notifications.countMessages()).pending === 0);
  await new Promise((r) => setTimeout(r, 300)); // several more delivery rounds: nothing is sent twice
  assert.deepEqual(inbox.map((m) => m.to).sort(), ['alice@example.com', 'carol@example.com']);
  const alice = mailsTo('alice@example.com')[0].mail;
  assert.match(alice.subject ?? '', new RegExp(`Incident opened: ${incident.title.replace(/[()[\]]/g, '.')}`));
  assert.match(alice.text ?? '', new RegExp(incident.title.replace(/[()[\]]/g, '.')));
  assert.match(alice.text ?? '', /Affects: blob\/eu-north/);
  const header = (m: ParsedMail, name: string) => m.headerLines.find((h) => h.key === name)?.line ?? '';
  assert.match(header(alice, 'list-unsubscribe-post'), /List-Unsubscribe=One-Click/);

  // carol follows her unsubscribe link over HTTP, and is unsubscribed.
  const carolMail = mailsTo('carol@example.com')[0].mail;
  const unsub = linkIn(carolMail, '/unsubscribe');
  assert.ok(header(carolMail, 'list-unsubscribe').includes(unsub), 'the List-Unsubscribe header carries the same link');
  const r = await fetch(unsub);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /Unsubscribed/);
  const carol = await store.notifications.findSubscriber({ channel: 'email', address: 'carol@example.com' });
  assert.equal(carol?.status, 'unsubscribed');
  assert.equal((await fetch(unsub)).status, 404, 'an old link no longer works');

  // The next update reaches alice only.
  inbox.length = 0;
  await updateIncidentOp({ store, clock: systemClock, notifier, updateCadenceMs: 30 * 60_000 }, incident.id, {
    status: 'identified',
    body: 'A bad build; rolling back.',
    actor: 'test',
  });
  await notifier.idle();
  await until('alice gets the update', () => mailsTo('alice@example.com').length >= 1);
  await until('the outbox drained', async () => (await store.notifications.countMessages()).pending === 0);
  assert.deepEqual(
    inbox.map((m) => m.to),
    ['alice@example.com'],
  );
  assert.match(inbox[0].mail.text ?? '', /A bad build; rolling back\./);
});
