// The rollout CLI end to end: `rollout start --follow` drives a rollout when no server runs, then status,
// history, and the errors a person sees for unknown ids and commands that do not apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetConfig, TargetFleet } from './rollout-fixture.js';

const ROOT = new URL('..', import.meta.url).pathname;

function etape(cwd: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ETAPE_CONFIG: join(cwd, 'etape.yaml'), ETAPE_STORE: join(cwd, 'etape.db'), ETAPE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('rollout start --follow, status, history, and clear errors', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-cli-'));
  const fleet = new TargetFleet(['r1/c1', 'r2/c1', 'r3/c1']);
  await fleet.start();
  try {
    writeFileSync(
      join(dir, 'etape.yaml'),
      JSON.stringify({
        fleet: fleetConfig(fleet, [
          { id: 'r1', cells: ['c1'], canary: true },
          { id: 'r2', cells: ['c1'] },
          { id: 'r3', cells: ['c1'] },
        ]),
        policy: { bake: { canary: '500ms', first: '500ms', later: '500ms' } },
        services: [
          {
            name: 'blob',
            initialVersion: 'v1',
            driver: fleet.execDriver(),
            probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '100ms', timeout: '2s' }],
            gates: [{ kind: 'probe', name: 'health', probe: 'http' }],
          },
        ],
        server: { reconcileEvery: '100ms' },
      }),
    );
    const run = await etape(dir, ['rollout', 'start', 'blob', 'v2', '--follow', '--id', 'r-1']);
    assert.equal(run.code, 0, run.out + run.err);
    assert.match(run.out, /started rollout r-1: blob v1 → v2/);
    assert.match(run.out, /driving rollout r-1 from here/);
    assert.match(run.out, /wave 1 baking: [\d.]+m?s left/);
    assert.match(run.out, /health=pass/);
    assert.match(run.out, /COMPLETED/);
    for (const [id, v] of await fleet.versions()) assert.equal(v, 'v2', id);

    const status = await etape(dir, ['rollout', 'status', 'r-1', '--json']);
    assert.equal(status.code, 0);
    const s = JSON.parse(status.out);
    assert.equal(s.phase, 'completed');
    assert.deepEqual(
      s.waves.map((w: { status: string }) => w.status),
      ['verified', 'verified', 'verified'],
    );

    const history = await etape(dir, ['rollout', 'history', 'r-1']);
    assert.equal(history.code, 0);
    assert.match(history.out, /rollout\.created\s+cli:/);
    assert.match(history.out, /rollout\.completed/);

    const unknown = await etape(dir, ['rollout', 'status', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no rollout nope/);
    const late = await etape(dir, ['rollout', 'pause', 'r-1']);
    assert.equal(late.code, 2);
    assert.match(late.err, /cannot pause rollout r-1: it is completed/);
    const same = await etape(dir, ['rollout', 'start', 'blob', 'v2']);
    assert.equal(same.code, 2);
    assert.match(same.err, /already on version v2/);
    const badService = await etape(dir, ['rollout', 'start', 'blbo', 'v3']);
    assert.equal(badService.code, 2);
    assert.match(badService.err, /service: no service "blbo".*did you mean "blob"/);

    // A way out: one target forced back to a version it ran before, driven here, audited with the actor.
    const forced = await etape(dir, ['target', 'force', 'blob', 'r2/c1', 'v1', '--follow', '--reason', 'drill']);
    assert.equal(forced.code, 0, forced.out + forced.err);
    assert.match(forced.out, /started force blob-force-r2-c1-\S+: r2\/c1 → v1/);
    assert.match(forced.out, /target\.force_requested\s+cli:/);
    assert.match(forced.out, /COMPLETED/);
    const versions = await fleet.versions();
    assert.deepEqual([versions.get('r1/c1'), versions.get('r2/c1'), versions.get('r3/c1')], ['v2', 'v1', 'v2']);
    const badTarget = await etape(dir, ['target', 'force', 'blob', 'r2/c9', 'v1']);
    assert.equal(badTarget.code, 2);
    assert.match(badTarget.err, /region r2 has no cell "c9"/);
  } finally {
    await fleet.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
