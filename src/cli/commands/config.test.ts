// `etape init`, `validate`, `schema` and `plan` as a person runs them: real processes, real files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/load.js';
import { planRollout } from '../../config/plan.js';
import { EXAMPLE_CONFIG } from './config.js';
import { formatPlanTable } from './plan.js';

const root = new URL('../../../', import.meta.url).pathname;

function withoutConfigEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.ETAPE_CONFIG;
  return env;
}

function etape(args: string[], cwd = root, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      join(root, 'node_modules/tsx/dist/esm/index.mjs'),
      '--input-type=module',
      '-e',
      `import { main } from ${JSON.stringify(join(root, 'src/cli/main.ts'))}; main(['node', 'etape', ...process.argv.slice(1)]).then((c) => { process.exitCode = c; });`,
      ...args,
    ],
    { cwd, encoding: 'utf8', env: { ...withoutConfigEnv(), ...env }, timeout: 60_000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the example that `etape init` writes is valid', () => {
  const c = parseConfig(EXAMPLE_CONFIG, 'example');
  assert.ok(c.fleet.regions.length >= 3);
  assert.ok(planRollout(c, 'web').waves.length >= 3);
});

test('init writes the example, refuses to overwrite without --force; validate says OK; plan prints waves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-init-'));
  try {
    const first = etape(['init', 'etape.yaml'], dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^wrote etape\.yaml/);
    assert.equal(readFileSync(join(dir, 'etape.yaml'), 'utf8'), EXAMPLE_CONFIG);

    writeFileSync(join(dir, 'etape.yaml'), '# mine\n');
    const again = etape(['init', 'etape.yaml'], dir);
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /etape\.yaml already exists: keep it, write elsewhere with `etape init OTHER\.yaml`, or overwrite it with --force/,
    );
    assert.equal(readFileSync(join(dir, 'etape.yaml'), 'utf8'), '# mine\n');
    assert.equal(etape(['init', '--force'], dir).code, 0);

    const ok = etape(['validate'], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'OK: etape.yaml (6 regions, 10 cells, 1 service)\n');

    const plan = etape(['plan', 'web', '--json'], dir);
    assert.equal(plan.code, 0, plan.stderr);
    const json = JSON.parse(plan.stdout);
    assert.equal(json.service, 'web');
    assert.equal(json.waves[0].kind, 'canary');
    assert.equal(json.waves.at(-1).cumulativeShare, 1);
    assert.equal(
      json.minDurationMs,
      json.waves.reduce((s: number, w: { bakeMs: number }) => s + w.bakeMs, 0),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validate prints every problem with file:line:column and exits 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-validate-'));
  try {
    writeFileSync(
      join(dir, 'bad.yaml'),
      'fleet:\n  regions:\n    - { id: a, geography: x, canary: true, wieght: 2 }\n    - { id: b, geography: x, pair: c }\n',
    );
    const r = etape(['validate', '-c', 'bad.yaml'], dir);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      [
        'etape: bad.yaml has 2 problems: fix them and run `etape validate` again',
        '  bad.yaml:3:44: fleet.regions[0].wieght: unknown key "wieght"; did you mean "weight"?',
        '  bad.yaml:4:36: fleet.regions[1].pair: pair names unknown region "c"; regions are declared under fleet.regions',
        '',
      ].join('\n'),
    );
    const missing = etape(['validate', '-c', 'nope.yaml'], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no config file at nope\.yaml: write one with `etape init nope\.yaml`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('schema prints a JSON Schema of the file as written', () => {
  const r = etape(['schema']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  const region = s.properties.fleet.properties.regions.items;
  assert.deepEqual(region.required.sort(), ['geography', 'id']);
  assert.equal(region.additionalProperties, false);
  assert.ok(s.properties.policy.properties.growth);
});

test('plan of an unknown service exits 2 with a hint', () => {
  const r = etape(['plan', 'blb', '-c', 'examples/etape.yaml']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'etape: no service "blb" in the config; did you mean "blob"?; services: blob\n');
});

test('the README shows the real `etape plan` output for the example fleet', () => {
  const config = parseConfig(readFileSync(join(root, 'examples/etape.yaml'), 'utf8'), 'examples/etape.yaml');
  const table = formatPlanTable(planRollout(config, 'blob'), config).trimEnd();
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('$ npx etape plan blob -c examples/etape.yaml\n');
  assert.ok(start >= 0, 'README has the plan example');
  const block = readme.slice(readme.indexOf('\n', start) + 1, readme.indexOf('\n```', start));
  assert.equal(block, table);
  const r = etape(['plan', 'blob', '-c', 'examples/etape.yaml']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trimEnd(), table);
});
