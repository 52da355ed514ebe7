// `etape status build --out DIR`: builds the static status page once from the store (and applies the
// automatic incident rules unless --no-incidents), then runs statuspage.publish if configured.
import type { Command } from 'commander';
import { systemClock } from '../../core/clock.js';
import { createLogger } from '../../core/log.js';
import { loadConfig } from '../../config/load.js';
import { storeFromProgram } from '../store-context.js';
import { StatusBuilder } from '../../statuspage/publisher.js';
import { STATUS_LABEL } from '../../status/status.js';

export function registerStatusCommands(program: Command): void {
  const status = program.command('status').description('the public status page');
  status
    .command('build')
    .description('build the static status page (HTML, Statuspage v2 JSON, Atom, badges) from the evidence in the store')
    .option('-o, --out <dir>', 'output folder (default: statuspage.out, .etape/status)')
    .option('--no-incidents', 'do not apply the automatic incident rules (open/resolve) during this build')
    .option('--no-publish', 'do not run statuspage.publish after the build')
    .option('--json', 'print the build report as JSON')
    .action(async (opts: { out?: string; incidents: boolean; publish: boolean; json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { config: string };
      const { config } = await loadConfig(g.config);
      const store = await storeFromProgram(cmd, config);
      const log = createLogger({ name: 'etape' });
      try {
        const builder = new StatusBuilder({
          store,
          config,
          clock: systemClock,
          log,
          outDir: opts.out,
          applyRules: opts.incidents,
          publish: opts.publish,
        });
        const r = await builder.build();
        await builder.close();
        if (opts.json) {
          process.stdout.write(
            JSON.stringify(
              {
                outDir: r.outDir,
                generatedAt: new Date(r.at).toISOString(),
                headline: r.headline,
                files: r.write.files,
                written: r.write.written,
                bytes: r.write.bytes,
                ms: r.ms,
                overdue: r.overdue,
                actions: r.actions,
                publish: r.publish ?? null,
              },
              null,
              2,
            ) + '\n',
          );
        } else {
          const lines = [
            `Status page: ${r.outDir}/index.html`,
            `  headline: ${r.headline.description} (${STATUS_LABEL[r.headline.status]})`,
            `  ${r.components.length} components, ${r.incidents.filter((i) => i.kind === 'incident' && i.resolvedAt === null).length} open incidents`,
            `  ${r.write.files} files, ${r.write.written} written, ${(r.write.bytes / 1024).toFixed(0)} KiB, ${r.ms} ms`,
          ];
          for (const a of r.actions) lines.push(`  automatic: ${a.kind} ${a.id} (${a.why})`);
          for (const id of r.overdue) lines.push(`  OVERDUE: ${id} needs a public update: etape incident update ${id} --message "…"`);
          if (r.publish)
            lines.push(
              `  publish: ${r.publish.ok ? 'ok' : `FAILED (exit ${r.publish.code}): ${r.publish.output.split('\n').slice(-3).join(' / ')}`}`,
            );
          process.stdout.write(lines.join('\n') + '\n');
        }
        if (r.publish && !r.publish.ok) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
