// `etape subscribers …`: operators add, list and remove subscribers, and look at the outbox and its delivery
// log. Adding an email address here can skip the double opt-in (--confirmed: the operator vouches for it).
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { systemClock } from '../../core/clock.js';
import { EtapeError } from '../../core/errors.js';
import { loadConfig } from '../../config/load.js';
import type { EtapeConfig } from '../../config/schema.js';
import type { Store } from '../../store/store.js';
import { storeFromProgram } from '../store-context.js';
import { addWebhookSubscriber, publicView, subscribeEmail, unsubscribe, type SubscriptionDeps } from '../../notify/subscriptions.js';

const collect = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
];
const actor = () => `cli:${userInfo().username}`;

async function withDeps<T>(cmd: Command, f: (deps: SubscriptionDeps & { store: Store; config: EtapeConfig }) => Promise<T>): Promise<T> {
  const g = cmd.optsWithGlobals() as { config: string };
  const { config } = await loadConfig(g.config);
  const store = await storeFromProgram(cmd, config);
  try {
    return await f({ store, config, clock: systemClock });
  } finally {
    await store.close();
  }
}

export function registerSubscriberCommands(program: Command): void {
  const sub = program.command('subscribers').description('customer subscriptions (email, webhooks) and the notification outbox');
  sub
    .command('add')
    .description('add an email subscriber (a confirmation link is sent unless --confirmed) or a webhook subscriber')
    .option('--email <address>', 'an email address')
    .option('--webhook <url>', 'a webhook URL')
    .option('--format <format>', 'webhook payload: etape (signed JSON), slack or teams', 'etape')
    .option('--secret-env <name>', 'environment variable holding the webhook signing secret (etape format)')
    .option('--service <name>', 'only news of this service (repeat or comma-separate; default all)', collect)
    .option('--region <id>', 'only news of this region (repeat or comma-separate; default all)', collect)
    .option('--confirmed', 'email: skip the double opt-in')
    .option('--json', 'print as JSON')
    .action(
      async (
        o: {
          email?: string;
          webhook?: string;
          format: string;
          secretEnv?: string;
          service?: string[];
          region?: string[];
          confirmed?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        if ((o.email === undefined) === (o.webhook === undefined)) throw new EtapeError('usage', 'give --email or --webhook (one of them)');
        const s = await withDeps(cmd, async (deps) => {
          if (o.email !== undefined)
            return (
              await subscribeEmail(deps, { email: o.email, services: o.service, regions: o.region, confirmed: o.confirmed, actor: actor() })
            ).subscriber;
          const secret = o.secretEnv ? process.env[o.secretEnv] : undefined;
          if (o.secretEnv && !secret) throw new EtapeError('usage', `--secret-env ${o.secretEnv}: that environment variable is not set`);
          return addWebhookSubscriber(deps, {
            url: o.webhook!,
            format: o.format as 'etape',
            secret,
            services: o.service,
            regions: o.region,
            actor: actor(),
          });
        });
        if (o.json) process.stdout.write(JSON.stringify(publicView(s), null, 2) + '\n');
        else
          process.stdout.write(
            `${s.id} ${s.channel} ${s.address} ${s.status}${s.status === 'pending' ? ' (a confirmation link is queued; `etape serve` sends it)' : ''}\n`,
          );
      },
    );
  sub
    .command('list')
    .description('list subscribers')
    .option('--status <status>', 'pending, confirmed or unsubscribed')
    .option('--json', 'print as JSON')
    .action(async (o: { status?: string; json?: boolean }, cmd: Command) => {
      if (o.status !== undefined && !['pending', 'confirmed', 'unsubscribed'].includes(o.status))
        throw new EtapeError('usage', `--status ${o.status}: use pending, confirmed or unsubscribed`);
      const list = await withDeps(cmd, (deps) => deps.store.notifications.listSubscribers({ status: o.status as 'pending' | undefined }));
      if (o.json) process.stdout.write(JSON.stringify(list.map(publicView), null, 2) + '\n');
      else
        for (const s of list)
          process.stdout.write(
            `${s.id}  ${s.channel.padEnd(7)}  ${s.status.padEnd(12)}  ${s.address}  ${s.services.join(',') || 'all services'}  ${s.regions.join(',') || 'all regions'}\n`,
          );
    });
  sub
    .command('remove <id-or-address>')
    .description('unsubscribe a subscriber (by id, email address or webhook URL)')
    .action(async (key: string, _o: unknown, cmd: Command) => {
      const s = await withDeps(cmd, (deps) =>
        unsubscribe(deps, key.startsWith('sub-') ? { id: key, actor: actor() } : { address: key, actor: actor() }),
      );
      process.stdout.write(`${s.id} ${s.address} unsubscribed\n`);
    });
  sub
    .command('outbox')
    .description('messages waiting, sent and failed, and the latest delivery attempts')
    .option('-n, --limit <n>', 'delivery attempts to show', '20')
    .action(async (o: { limit: string }, cmd: Command) => {
      const out = await withDeps(cmd, async (deps) => ({
        counts: await deps.store.notifications.countMessages(),
        deliveries: await deps.store.notifications.listDeliveries({ limit: Number(o.limit) || 20 }),
      }));
      process.stdout.write(`outbox: ${out.counts.pending} pending, ${out.counts.sent} sent, ${out.counts.failed} failed\n`);
      for (const d of out.deliveries)
        process.stdout.write(
          `  ${new Date(d.at).toISOString()}  message ${d.messageId}  attempt ${d.attempt}  ${d.ok ? 'ok' : 'failed'}  ${d.detail}\n`,
        );
    });
}
