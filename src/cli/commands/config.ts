// `etape init`, `etape validate` and `etape schema`: write, check and describe etape.yaml.
import { access, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../../config/load.js';
import { configSchema } from '../../config/schema.js';
import { EtapeError, formatProblem } from '../../core/errors.js';
import { configWarnings } from '../../config/secrets.js';
import { configFileFromProgram, loadConfigFromProgram } from '../context.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('init')
    .description('write a commented example etape.yaml to start from')
    .argument('[file]', 'where to write it (default: the --config file, etape.yaml)')
    .option('--force', 'overwrite the file if it exists')
    .action(async (file: string | undefined, opts: { force?: boolean }, cmd: Command) => {
      const target = file ?? configFileFromProgram(cmd);
      if (!opts.force && (await exists(target)))
        throw new EtapeError(
          'usage',
          `${target} already exists: keep it, write elsewhere with \`etape init OTHER.yaml\`, or overwrite it with --force`,
        );
      parseConfig(EXAMPLE_CONFIG, '(built-in example)'); // the example must always be valid
      await writeFile(target, EXAMPLE_CONFIG, 'utf8');
      process.stdout.write(`wrote ${target}: edit the fleet and the service, then run \`etape validate -c ${target}\`\n`);
    });

  program
    .command('validate')
    .description('check the config file: schema, references, and whether the policy can be met; exit 2 with every problem')
    .action(async (_opts: unknown, cmd: Command) => {
      const { config, file, locate } = await loadConfigFromProgram(cmd);
      // What the environment must supply when etape runs: warnings here, refusals at serve and rollout start.
      const warnings = locate(configWarnings(config, process.env));
      for (const w of warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
      const cells = config.fleet.regions.reduce((n, r) => n + r.cells.length, 0);
      const services = config.services.length;
      process.stdout.write(
        `OK: ${file} (${config.fleet.regions.length} regions, ${cells} cells, ${services} service${services === 1 ? '' : 's'})${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''}\n`,
      );
    });

  program
    .command('schema')
    .description('print the JSON Schema of etape.yaml, for editors to complete and check the file')
    .action(() => {
      process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
    });
}

/** JSON Schema (draft 2020-12) of etape.yaml as written (input types: defaults may be left out). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'etape.yaml', description: 'Fleet, policy and services of etape: staged, region-aware rollouts.' };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** What `etape init` writes. Kept valid by a test and by `init` itself. */
export const EXAMPLE_CONFIG = `# etape.yaml: your fleet, how changes roll out across it, and what is deployed.
# Check it with \`etape validate\`, see the waves with \`etape plan web\`, editor support with \`etape schema\`.
version: 1

fleet:
  regions:
    # A region: id, geography, pair partner(s), weight (share of capacity or traffic, any unit) and cells.
    # Pairs may be declared on either side, or both; a pair is never in one wave (I2).
    - id: canary-east
      name: Canary East
      geography: americas
      weight: 2
      canary: true            # regions marked canary take every change first (wave 1)
      cells:
        - { id: cell-1, vars: { port: 7101 } }
        - { id: cell-2, vars: { port: 7102 } }
    - id: us-east
      name: US East
      geography: americas
      pair: us-west
      weight: 10
      cells:                  # cells are what a driver deploys to; they share the region's weight by their weight
        - { id: cell-1, weight: 2, vars: { port: 7111 } }
        - { id: cell-2, weight: 1, vars: { port: 7112 } }
    - id: us-west
      geography: americas
      weight: 6
      cells:
        - { id: cell-1, vars: { port: 7121 } }
        - { id: cell-2, vars: { port: 7122 } }
    - id: eu-west
      geography: europe
      pair: eu-north
      weight: 8
      cells:
        - { id: cell-1, vars: { port: 7131 } }
        - { id: cell-2, vars: { port: 7132 } }
    - id: eu-north
      geography: europe
      weight: 4
      cells:
        - { id: cell-1, vars: { port: 7141 } }
    - id: ap-east
      geography: asia-pacific
      weight: 3              # no pair: may share a wave with any region
      cells:
        - { id: cell-1, vars: { port: 7151 } }

policy:
  # canary: [canary-east]     # regions or region/cell entries; default: the regions marked canary: true
  bake:                       # how long each kind of wave bakes with every gate passing: 90s, 30m, 2h, 1d
    canary: 30m
    first: 1h
    later: 2h
  growth: 2                   # a wave weighs at most growth × the weight already verified (I1); at least 1
  firstRegion: smallest       # wave 2 is one region: the smallest by weight, or a region id
  maxRegionsPerWave: 3
  maxPerGeographyPerWave: 2
  freeze: []                  # no wave starts inside: - { start: 2026-12-23T00:00:00Z, end: 2027-01-04T00:00:00Z }
  approvals: [first]          # waves that wait for a person: wave numbers, or canary, first, later, all

services:
  - name: web
    regions: all              # or a list of region ids
    initialVersion: "1.0.0"   # the version running everywhere now: where the first rollback goes back to
    version:                  # how etape reads what a target runs, to prove a deploy and a rollback (I9)
      from: auto              # observe (the driver's observe), probe (a probe's header or JSON field), or auto
      timeout: 1m             # a deploy not reporting the new version by then has failed
    drift: alert              # a version etape did not put there: alert, or revert it along the pair-safe path
    driver:
      kind: exec              # commands run through the shell with ETAPE_REGION, ETAPE_CELL, ETAPE_VERSION, …
      deploy: echo "deploy $ETAPE_VERSION to $ETAPE_REGION/$ETAPE_CELL"
      rollback: echo "roll back $ETAPE_REGION/$ETAPE_CELL to $ETAPE_VERSION"
      observe: curl -sS -m 2 -o /dev/null -w '%header{x-version}' http://127.0.0.1:{port}/health   # prints the version
      timeout: 60s
    probes:
      - name: health
        url: http://127.0.0.1:{port}/health   # {region}, {cell} and any vars of the region or cell
        timeout: 2s                           # a hang is a timeout, and a timeout is a failure
        interval: 10s
        versionHeader: X-Version              # or versionField: version (a field of a JSON answer)
    gates:
      - kind: probe
        name: health-ok
        probe: health
        failAfter: 3                          # consecutive failed probes that fail the gate
`;
