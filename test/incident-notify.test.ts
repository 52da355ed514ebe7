// Webhook deliveries that cannot succeed are retried, then logged; they never hold up the caller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createWebhookNotifier, componentNotification } from '../src/incidents/notify.js';

test('an unreachable subscriber is retried, then logged, and notify() returns at once', { timeout: 30_000 }, async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const lines: string[] = [];
  const log = pino(
    { level: 'warn' },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  const n = createWebhookNotifier(
    [{ url: `http://127.0.0.1:${port}/hook`, secret: 'k', events: ['component'], timeout: '2s', retries: 2 }],
    { log, backoffMs: 5, maxBackoffMs: 10 },
  );
  n.notify(
    componentNotification({ id: 'blob/weu', from: 'operational', to: 'major_outage', at: Date.now(), reason: '2 of 2 cells failing' }),
  );
  assert.equal(lines.length, 0, 'notify returned before the delivery was tried');
  await n.idle();
  const failed = lines
    .map((l) => JSON.parse(l) as { msg: string; detail: string; url: string })
    .find((l) => l.msg.includes('webhook notification failed'));
  assert.ok(failed, lines.join('\n'));
  assert.match(failed.detail, /network error/);
  // Incident-only subscribers are not sent component changes.
  const quiet = createWebhookNotifier(
    [{ url: `http://127.0.0.1:${port}/hook`, secret: 'k', events: ['incident'], timeout: '2s', retries: 0 }],
    { log },
  );
  lines.length = 0;
  quiet.notify(componentNotification({ id: 'blob/weu', from: null, to: 'unknown', at: Date.now(), reason: 'no evidence' }));
  await quiet.idle();
  assert.equal(lines.length, 0);
});
