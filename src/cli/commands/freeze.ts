// `etape freeze set|list|lift`: stop every rollout in a scope (the whole fleet, a region, a service) and
// keep new waves from starting there until a person lifts it. Each is an audited event in the store.
import type { Command } from 'commander';
import { cliActor } from './rollout.js';
import { systemClock } from '../../core/clock.js';
import { EtapeError } from '../../core/errors.js';
import { loadConfigFromProgram } from '../context.js';
import { storeFromProgram } from '../store-context.js';
import { activeFreezes, liftFreeze, setFreeze } from '../../rollout/freeze-operations.js';
import type { Freeze } from '../../linestop/line.js';

function scopeText(f: Freeze): string {
  return f.scope === 'global' ? 'everything' : `${f.scope} ${f.value}`;
}

export function registerFreezeCommands(program: Command): void {
  const freeze = program.command('freeze').description('freeze rollouts: pause every rollout in a scope and hold new waves until lifted');

  freeze
    .command('set')
    .description('set a freeze: --global, --region <id> or --service <name>, with --reason')
    .option('--global', 'freeze every rollout everywhere')
    .option('--region <id>', 'freeze rollouts that touch this region')
    .option('--service <name>', 'freeze rollouts of this service')
    .requiredOption('--reason <text>', 'why: shown on every rollout it pauses')
    .option('--json', 'print the freeze as JSON')
    .action(async (opts: { global?: boolean; region?: string; service?: string; reason: string; json?: boolean }, cmd: Command) => {
      const chosen = [opts.global ? 'global' : undefined, opts.region ? 'region' : undefined, opts.service ? 'service' : undefined].filter(
        (x) => x !== undefined,
      );
      if (chosen.length !== 1) throw new EtapeError('usage', 'give exactly one scope: --global, --region <id> or --service <name>');
      const scope = chosen[0]!;
      const { config } = await loadConfigFromProgram(cmd);
      const store = await storeFromProgram(cmd, config);
      try {
        const { freeze: f, paused } = await setFreeze(
          { store, config, clock: systemClock },
          { scope, value: opts.region ?? opts.service, reason: opts.reason, actor: cliActor() },
        );
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...f, paused })}\n`);
        else
          process.stdout.write(
            `freeze ${f.id} set on ${scopeText(f)}: ${f.reason}\n${paused.length ? `paused: ${paused.join(', ')}\n` : 'no running rollout was in scope\n'}lift it with \`etape freeze lift ${f.id}\`\n`,
          );
      } finally {
        await store.close();
      }
    });

  freeze
    .command('list')
    .description('the freezes in force')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = await loadConfigFromProgram(cmd);
      const store = await storeFromProgram(cmd, config);
      try {
        const list = await activeFreezes(store);
        if (opts.json) process.stdout.write(`${JSON.stringify(list)}\n`);
        else if (list.length === 0) process.stdout.write('no freeze in force\n');
        else
          for (const f of list)
            process.stdout.write(`${f.id}  ${scopeText(f)}  since ${new Date(f.at).toISOString()}  by ${f.by}: ${f.reason}\n`);
      } finally {
        await store.close();
      }
    });

  freeze
    .command('lift <id>')
    .description('lift a freeze: rollouts it paused resume, unless another freeze covers them')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { config } = await loadConfigFromProgram(cmd);
      const store = await storeFromProgram(cmd, config);
      try {
        const { freeze: f, resumed } = await liftFreeze({ store, config, clock: systemClock }, id, cliActor());
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...f, resumed })}\n`);
        else process.stdout.write(`freeze ${f.id} on ${scopeText(f)} lifted${resumed.length ? `; resumed: ${resumed.join(', ')}` : ''}\n`);
      } finally {
        await store.close();
      }
    });
}
