// bench:notify — 10,000 confirmed email subscribers, one incident: the time from the incident's notification
// until every message has been handed to SMTP (a real smtp-server on loopback accepting them), and peak memory.
// Prints figures; asserts nothing. SUBSCRIBERS=n changes the count; STORE=postgres://… uses PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { systemClock } from '../src/core/clock.js';
import { configSchema } from '../src/config/schema.js';
import { openStore } from '../src/store/open.js';
import type { SubscriberRecord } from '../src/store/notifications.js';
import { Deliverer } from '../src/notify/deliverer.js';
import { enqueueForSubscribers } from '../src/notify/outbox.js';
import { incidentNotification } from '../src/incidents/notify.js';
import { openIncident } from '../src/incidents/lifecycle.js';

const N = Number(process.env.SUBSCRIBERS ?? 10_000);
let accepted = 0;
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _s, cb) {
    stream.on('data', () => {});
    stream.on('end', () => {
      accepted++;
      cb();
    });
  },
});
const port = await new Promise<number>((r) => smtp.listen(0, '127.0.0.1', () => r((smtp.server.address() as AddressInfo).port)));
const dir = mkdtempSync(join(tmpdir(), 'etape-bench-notify-'));
const store = await openStore(process.env.STORE ?? join(dir, 'etape.db'));
const config = configSchema.parse({
  fleet: {
    regions: [
      { id: 'eu-north', geography: 'europe', canary: true, cells: [{ id: 'c1' }] },
      { id: 'eu-west', geography: 'europe', cells: [{ id: 'c1' }] },
    ],
  },
  services: [{ name: 'blob', driver: { kind: 'exec', deploy: 'true' } }],
  statuspage: { title: 'Example Cloud status', url: 'https://status.example.com' },
  notifications: {
    email: { from: 'Status <status@example.com>', smtp: { host: '127.0.0.1', port }, publicUrl: 'https://status-api.example.com' },
  },
});

let peakRss = 0;
let peakHeap = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
};
const sampler = setInterval(sample, 20);

const now = Date.now();
const subs: SubscriberRecord[] = Array.from({ length: N }, (_, i) => ({
  id: `sub-${i}`,
  channel: 'email',
  address: `user${i}@example.com`,
  services: i % 2 ? ['blob'] : [],
  regions: [],
  status: 'confirmed',
  token: `token-${i}-${Math.random().toString(36).slice(2)}`,
  createdAt: now,
  updatedAt: now,
  confirmedAt: now,
  unsubscribedAt: null,
  confirmSentAt: null,
}));
const t0 = performance.now();
for (const s of subs) await store.notifications.saveSubscriber(s);
const tSubs = performance.now() - t0;

const incident = openIncident(
  {
    id: 'inc-bench',
    title: 'Blob requests fail in eu-north',
    impact: 'major',
    components: ['blob/eu-north'],
    body: 'We are investigating.',
    actor: 'bench',
    source: 'auto:gate',
  },
  now,
);
sample();
const start = performance.now();
const queued = await enqueueForSubscribers(
  store,
  config,
  incidentNotification('incident.opened', incident, config.statuspage.url),
  Date.now(),
);
const tQueued = performance.now() - start;
const deliverer = new Deliverer({ store, config, clock: systemClock, pollMs: 5 });
deliverer.start();
while (accepted < queued) await new Promise((r) => setTimeout(r, 5));
const tAll = performance.now() - start;
await deliverer.stop();
clearInterval(sampler);
sample();
const counts = await store.notifications.countMessages();
await store.close();
await new Promise<void>((r) => smtp.close(() => r()));
rmSync(dir, { recursive: true, force: true });

const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
console.log(
  `bench:notify — ${N} confirmed email subscribers, one incident, smtp-server on loopback (${process.env.STORE ? 'PostgreSQL' : 'SQLite'} store)`,
);
console.log(`  subscribers stored:             ${(tSubs / 1000).toFixed(1)} s (setup, not counted)`);
console.log(`  messages queued (outbox):       ${queued} in ${(tQueued / 1000).toFixed(2)} s`);
console.log(
  `  all handed to SMTP (accepted):  ${accepted} in ${(tAll / 1000).toFixed(2)} s from the notification (${Math.round(accepted / (tAll / 1000))} messages/s)`,
);
console.log(
  `  outbox after:                   ${JSON.stringify(counts)}; delivery concurrency ${config.notifications.delivery.concurrency}, SMTP connections ${config.notifications.email!.smtp.maxConnections}`,
);
console.log(`  peak memory:                    RSS ${mib(peakRss)}, heap ${mib(peakHeap)} (sampled every 20 ms)`);
console.log('  reproduce: npm run bench:notify');
