// `etape freeze`: a freeze pauses the rollouts in its scope at once (no server needed), is listed with who
// set it and why, refuses bad scopes with a clear message, and lifting it resumes what it paused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInProcess } from './helpers.js';

test('freeze set pauses the rollouts in scope, list shows it, lift resumes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-freeze-'));
  try {
    const cfg = join(dir, 'etape.yaml');
    const db = join(dir, 'etape.db');
    const service = (name: string) => ({ name, initialVersion: 'v1', driver: { kind: 'exec', deploy: 'true' } });
    writeFileSync(
      cfg,
      JSON.stringify({
        fleet: {
          regions: [
            { id: 'canary', geography: 'eu', canary: true, cells: [{ id: 'cell-1' }] },
            { id: 'eu-west', geography: 'eu', cells: [{ id: 'cell-1' }] },
          ],
        },
        services: [service('blob'), service('queue')],
      }),
    );
    const etape = (...args: string[]) => runInProcess(['-c', cfg, '--store', db, ...args], { ETAPE_ACTOR: 'cli:ops' });
    const blob = { id: 'blob-r1' };
    const queue = { id: 'queue-r1' };
    assert.equal((await etape('rollout', 'start', 'blob', 'v2', '--id', blob.id)).code, 0);
    assert.equal((await etape('rollout', 'start', 'queue', 'v2', '--id', queue.id)).code, 0);

    const bad = await etape('freeze', 'set', '--region', 'eu-wset', '--reason', 'holiday');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /eu-west/, 'suggests the region meant');
    const none = await etape('freeze', 'set', '--reason', 'holiday');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /exactly one scope/);

    const set = await etape('freeze', 'set', '--service', 'blob', '--reason', 'end-of-year freeze', '--json');
    assert.equal(set.code, 0, set.stderr);
    const f = JSON.parse(set.stdout) as { id: string; paused: string[] };
    assert.deepEqual(f.paused, [blob.id], 'only the rollout in scope pauses');
    const status = async (id: string) => JSON.parse((await etape('rollout', 'status', id, '--json')).stdout) as { phase: string };
    assert.equal((await status(blob.id)).phase, 'paused');
    assert.equal((await status(queue.id)).phase, 'pending');

    const list = await etape('freeze', 'list');
    assert.match(list.stdout, new RegExp(`${f.id}\\s+service blob .*by cli:ops: end-of-year freeze`));

    const lift = await etape('freeze', 'lift', f.id);
    assert.equal(lift.code, 0, lift.stderr);
    assert.match(lift.stdout, new RegExp(`resumed: ${blob.id}`));
    assert.equal((await status(blob.id)).phase, 'running');
    assert.match((await etape('freeze', 'list')).stdout, /no freeze in force/);
    const again = await etape('freeze', 'lift', f.id);
    assert.equal(again.code, 2, 'lifting twice is a clear error');
    assert.match(again.stderr, /no freeze .* in force/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
