// `etape judge` on the example files: exit codes, words a person can act on, JSON, and input errors that
// name the file, line and column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ex = (f: string) => join(root, 'examples/judge', f);

function etape(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { main } from ${JSON.stringify(join(root, 'src/cli/main.ts'))}; main(['node', 'etape', ...process.argv.slice(1)]).then((c) => { process.exitCode = c; });`,
      ...args,
    ],
    { cwd: root, encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('a canary with one bad cell fails, naming the cell, the change, its interval and the volumes', () => {
  const r = etape('judge', '--baseline', ex('baseline.csv'), '--canary', ex('canary-bad.csv'));
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /^verdict: FAIL/);
  assert.match(
    r.out,
    /errors rate \+\d+% \(99\.3% CI \+\d+%…\+\d+%\) in westeurope\/cell-2 against baseline: 2\.\d% vs 0\.\d+% baseline, [\d,]+ vs [\d,]+ requests/,
  );
  assert.match(r.out, /latency ms \+\d+% \(99\.3% CI \+\d+%…\+\d+%\) in westeurope\/cell-2 against baseline, 360 vs 720 samples/);
});

test('the same code passes; JSON output carries the whole judgment', () => {
  const r = etape('judge', '--baseline', ex('baseline.csv'), '--canary', ex('canary-good.csv'), '--json');
  assert.equal(r.code, 0, r.err + r.out);
  const j = JSON.parse(r.out);
  assert.equal(j.verdict, 'pass');
  assert.equal(j.score, 100);
  assert.equal(j.evidenceFraction, 1);
  assert.deepEqual(j.metrics.map((m: { name: string }) => m.name).sort(), ['errors', 'latency ms']);
});

test('JSON rows read like CSV rows', () => {
  const r = etape('judge', '--baseline', ex('baseline.csv'), '--canary', ex('canary-bad.json'), '--critical', 'errors');
  assert.equal(r.code, 1);
  assert.match(r.out, /critical metric failed: errors rate/);
});

test('too little data is inconclusive (exit 3), never a pass', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-judge-cli-'));
  try {
    const rows = (n: number) =>
      'time,target,metric,value\n' + Array.from({ length: n }, (_, i) => `${i},a/1,latency ms,${40 + (i % 7)}`).join('\n') + '\n';
    writeFileSync(join(dir, 'b.csv'), rows(12));
    writeFileSync(join(dir, 'c.csv'), rows(12));
    const r = etape('judge', '--baseline', join(dir, 'b.csv'), '--canary', join(dir, 'c.csv'));
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /too few samples to pass \(12 vs 12 samples(, compared within the same time buckets)?, need 50 each\)/);
    // as the last look of a bake, 60 samples a side decide; 12 stay inconclusive (too few)
    writeFileSync(join(dir, 'b60.csv'), rows(60));
    writeFileSync(join(dir, 'c60.csv'), rows(60));
    assert.equal(etape('judge', '--baseline', join(dir, 'b.csv'), '--canary', join(dir, 'c.csv'), '--end-of-bake').code, 3);
    const end = etape('judge', '--baseline', join(dir, 'b60.csv'), '--canary', join(dir, 'c60.csv'), '--end-of-bake');
    assert.equal(end.code, 0, end.out + end.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input says which file, line and column to fix (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etape-judge-cli-'));
  try {
    writeFileSync(join(dir, 'bad.csv'), 'time,target,metric,value,total\n0,a/1,errors,3,100\n1,a/1,errors,three,100\n');
    const r = etape('judge', '--baseline', ex('baseline.csv'), '--canary', join(dir, 'bad.csv'));
    assert.equal(r.code, 2);
    assert.match(r.err, /bad\.csv:3:4: value "three" is not a number/);
    const r2 = etape('judge', '--baseline', ex('baseline.csv'), '--canary', ex('canary-good.csv'), '--critical', 'eror');
    assert.equal(r2.code, 2);
    assert.match(r2.err, /option names metric "eror", which neither file has/);
    const r3 = etape('judge', '--baseline', join(dir, 'missing.csv'), '--canary', ex('canary-good.csv'));
    assert.equal(r3.code, 2);
    assert.match(r3.err, /cannot read .*missing\.csv: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
