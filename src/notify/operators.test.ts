// Operator routes: events chosen by type or prefix go to each channel of the route, once per event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../config/schema.js';
import { announcementFromEvent, matches, messagesForEvent } from './operators.js';

const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'eu-north', geography: 'europe', canary: true, cells: [{ id: 'c1' }] },
      { id: 'eu-west', geography: 'europe', cells: [{ id: 'c1' }] },
    ],
  },
  notifications: {
    email: { from: 'Status <s@example.com>', smtp: { host: '127.0.0.1' }, publicUrl: 'https://api.example.com' },
    channels: {
      chat: { kind: 'webhook', url: 'https://hooks.example.com/t', secret: 'x', format: 'teams' },
      mail: { kind: 'email', to: ['oncall@example.com', 'lead@example.com'] },
    },
    operators: [
      { events: ['rollout.halted', 'drift.*'], to: ['chat', 'mail'] },
      { events: ['wave.awaiting_approval'], to: ['chat'] },
    ],
  },
});

test('routes pick events by type or prefix, and queue one message per channel and address', () => {
  assert.ok(matches('drift.*', 'drift.detected'));
  assert.ok(!matches('drift.*', 'rollout.halted'));
  assert.ok(matches('*', 'anything'));
  const halted = {
    seq: 42,
    rolloutId: 'r1',
    at: Date.UTC(2026, 11, 1),
    actor: 'controller',
    type: 'rollout.halted',
    data: { gate: 'get-blob', reason: '3 failed probes' },
  };
  const a = announcementFromEvent(halted, { service: 'blob', version: 'v2' });
  assert.equal(a.title, '[etape] Rollout halted: blob v2');
  assert.match(a.text, /gate get-blob/);
  const msgs = messagesForEvent(config, halted, a, 0);
  assert.deepEqual(msgs.map((m) => `${m.channel} ${m.target} ${m.key}`).sort(), [
    'email lead@example.com op:42:mail:lead@example.com',
    'email oncall@example.com op:42:mail:oncall@example.com',
    'webhook https://hooks.example.com/t op:42:chat',
  ]);
  const teams = msgs.find((m) => m.channel === 'webhook')!.payload as {
    body: { type: string; attachments: Array<{ contentType: string }> };
  };
  assert.equal(teams.body.type, 'message');
  assert.equal(teams.body.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
  const drift = { ...halted, seq: 43, type: 'drift.detected', rolloutId: null, data: { service: 'blob', target: 'eu-west/c1' } };
  assert.equal(messagesForEvent(config, drift, announcementFromEvent(drift), 0).length, 3);
  const approval = { ...halted, seq: 44, type: 'wave.awaiting_approval', data: { wave: 2 } };
  const am = messagesForEvent(config, approval, announcementFromEvent(approval, { service: 'blob', version: 'v2' }), 0);
  assert.deepEqual(
    am.map((m) => m.key),
    ['op:44:chat'],
  );
  assert.match(announcementFromEvent(approval).text, /etape rollout approve r1 --wave 2/);
  assert.equal(messagesForEvent(config, { ...halted, type: 'wave.verified' }, a, 0).length, 0);
});

test('a route naming an unknown channel is a config error', () => {
  const r = configSchema.safeParse({
    fleet: {
      regions: [
        { id: 'a', geography: 'g', canary: true, cells: [{ id: 'c' }] },
        { id: 'b', geography: 'g', cells: [{ id: 'c' }] },
      ],
    },
    notifications: { operators: [{ events: ['rollout.halted'], to: ['nope'] }] },
  });
  assert.ok(!r.success);
  assert.match(r.error.issues[0].message, /no channel "nope"/);
});
