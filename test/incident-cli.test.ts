// `etape incident …` and `etape status build` end to end, in-process, on a SQLite file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { openStore } from '../src/store/open.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const write = process.stdout.write.bind(process.stdout);
  const ewrite = process.stderr.write.bind(process.stderr);
  let out = '';
  let err = '';
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    const code = await main(['node', 'etape', ...args]);
    return { code, out, err };
  } finally {
    process.stdout.write = write;
    process.stderr.write = ewrite;
    process.exitCode = before;
  }
}

test('incident open/update/list/resolve/maintenance and status build from the command line', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'etape-cli-'));
  try {
    const cfg = join(dir, 'etape.yaml');
    await writeFile(
      cfg,
      `fleet:
  regions:
    - { id: weu, geography: europe, canary: true }
    - { id: neu, geography: europe }
    - { id: eus, geography: americas }
services:
  - name: blob
statuspage:
  title: CLI status
  publish: echo published > "$ETAPE_STATUS_DIR/../published.txt"
`,
    );
    const db = join(dir, 'etape.db');
    const g = ['-c', cfg, '--store', db];
    const open = await run([
      ...g,
      'incident',
      'open',
      '--title',
      'Uploads fail',
      '--impact',
      'major',
      '--component',
      'blob/weu,blob/neu',
      '-m',
      'We are looking.',
      '--json',
    ]);
    assert.equal(open.code, 0, open.err);
    const inc = JSON.parse(open.out) as { id: string; components: string[] };
    assert.deepEqual(inc.components, ['blob/neu', 'blob/weu']);

    const bad = await run([...g, 'incident', 'open', '--title', 'x', '--impact', 'huge']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /impact "huge" is not one of none, minor, major, critical/);
    const unknown = await run([...g, 'incident', 'update', 'inc-nope', '-m', 'x']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /etape incident list/);

    const upd = await run([...g, 'incident', 'update', inc.id, '--status', 'identified', '-m', 'Bad config; reverting.']);
    assert.equal(upd.code, 0, upd.err);
    assert.match(upd.out, /identified/);

    const m = await run([
      ...g,
      'incident',
      'maintenance',
      '--title',
      'DB upgrade',
      '--component',
      'blob/eus',
      '--start',
      '+2h',
      '--end',
      '+3h',
    ]);
    assert.equal(m.code, 0, m.err);
    const list = await run([...g, 'incident', 'list']);
    assert.match(list.out, /Uploads fail/);
    assert.match(list.out, /DB upgrade/);

    const build = await run([...g, 'status', 'build', '--out', join(dir, 'site'), '--json']);
    assert.equal(build.code, 0, build.err);
    const report = JSON.parse(build.out) as {
      headline: { status: string; noEvidence: boolean };
      written: number;
      publish: { ok: boolean };
    };
    assert.equal(report.headline.noEvidence, true);
    assert.notEqual(report.headline.status, 'operational');
    assert.equal(report.publish.ok, true);
    assert.equal((await readFile(join(dir, 'published.txt'), 'utf8')).trim(), 'published');
    const html = await readFile(join(dir, 'site', 'index.html'), 'utf8');
    assert.match(html, /Uploads fail/);
    assert.match(html, /class="banner"/, 'two regions: banner');
    const summary = JSON.parse(await readFile(join(dir, 'site', 'api/v2/summary.json'), 'utf8')) as {
      incidents: unknown[];
      scheduled_maintenances: unknown[];
    };
    assert.equal(summary.incidents.length, 1);
    assert.equal(summary.scheduled_maintenances.length, 1);

    const res = await run([...g, 'incident', 'resolve', inc.id, '-m', 'Fixed.']);
    assert.equal(res.code, 0, res.err);
    const store = await openStore(db);
    try {
      const i = await store.getIncident(inc.id);
      assert.equal(i?.status, 'resolved');
      assert.deepEqual(
        i?.updates.map((u) => u.status),
        ['investigating', 'identified', 'resolved'],
      );
      const events = await store.listEvents({ types: ['incident.opened', 'incident.updated', 'incident.resolved'] });
      assert.equal(events.length, 4);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
