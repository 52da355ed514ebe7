// `etape serve` publishes the status page from the same probe evidence the gates read: operational while the
// targets answer, an outage once one stops answering, and every file carries generated_at (I6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetFleet, fleetConfig } from './rollout-fixture.js';

const ROOT = new URL('..', import.meta.url).pathname;

async function until<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readSummary(out: string): any | undefined {
  const f = join(out, 'api/v2/summary.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8'));
  } catch {
    return undefined; // being replaced
  }
}

test('etape serve publishes status from live probe evidence, and shows an outage when a target hangs', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-serve-status-'));
  const regions = [
    { id: 'r1', cells: ['c1'], canary: true },
    { id: 'r2', cells: ['c1', 'c2'] },
  ];
  const fleet = new TargetFleet(regions.flatMap((r) => r.cells.map((c) => `${r.id}/${c}`)));
  await fleet.start();
  const out = join(dir, 'status');
  const cfgFile = join(dir, 'etape.yaml');
  writeFileSync(
    cfgFile,
    JSON.stringify({
      fleet: fleetConfig(fleet, regions),
      services: [
        {
          name: 'blob',
          initialVersion: 'v1',
          driver: fleet.execDriver(),
          probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '200ms', timeout: '300ms' }],
          gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 2 }],
        },
      ],
      statuspage: { out, buildEvery: '300ms', rules: { freshFor: '2s' } },
    }),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'serve', '-c', cfgFile, '--store', join(dir, 'etape.db'), '--listen', '127.0.0.1:0'],
    {
      cwd: ROOT,
      env: { ...process.env, ETAPE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  try {
    const statusOf = (s: any, region: string) =>
      s.components.find((c: any) => c.name.includes(region) || c.description?.includes(region))?.status;
    const healthy = await until(
      'both regions operational',
      () => {
        const s = readSummary(out);
        return s && statusOf(s, 'r1') === 'operational' && statusOf(s, 'r2') === 'operational' ? s : undefined;
      },
      60_000,
    ).catch((e) => {
      throw new Error(`${e.message}\nlast summary: ${JSON.stringify(readSummary(out))}\nserve output:\n${log}`);
    });
    assert.ok(healthy.generated_at, 'summary.json carries generated_at');
    assert.equal(healthy.status.indicator, 'none');
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /generated/i);

    // One cell of r2 stops answering: a hang is a timeout, and the page must stop saying operational.
    await fleet.targets.get('r2/c2')!.restart('v1-hang');
    const broken = await until(
      'r2 no longer operational',
      () => {
        const s = readSummary(out);
        return s && statusOf(s, 'r2') && statusOf(s, 'r2') !== 'operational' ? s : undefined;
      },
      60_000,
    );
    assert.notEqual(broken.status.indicator, 'none', 'the headline is not "all operational" while a component is down');
    assert.equal(statusOf(broken, 'r1'), 'operational', 'the healthy region stays operational');
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `serve stops cleanly on SIGTERM:\n${log}`);
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
