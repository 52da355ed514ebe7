// Runs the whole test suite with Node's test runner: type check and the static checks (lint, format;
// scripts/checks.mjs), then every *.test.ts under src/ and test/.
//   node scripts/test.mjs            everything
//   node scripts/test.mjs --fast     the static checks, then only the pure unit tests next to the code (src/)
//   node scripts/test.mjs PATTERN    only files whose path contains PATTERN (no static checks)
//   --no-typecheck, --no-checks      leave those out
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';
import { runChecks } from './checks.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const fast = args.includes('--fast');
const noTypecheck = args.includes('--no-typecheck') || fast;
const patterns = args.filter((a) => !a.startsWith('--'));
const noChecks = args.includes('--no-checks') || patterns.length > 0;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = walk(join(root, 'src'), []);
if (!fast) files = files.concat(walk(join(root, 'test'), []));
if (patterns.length) files = files.filter((f) => patterns.some((p) => f.includes(p)));
files.sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

if (!noChecks && !(await runChecks())) {
  console.error('static checks failed (node scripts/checks.mjs shows them again)');
  process.exit(1);
}

if (!noTypecheck) {
  const tc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.check.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tc.status !== 0) {
    console.error('type check failed');
    process.exit(tc.status ?? 1);
  }
}

// `*.alone.test.ts` files load the machine on purpose (a CPU-bound load beside the demo): they run after the
// others, one at a time, so the load they make is not a race for the tests that would run beside them.
const concurrency = Math.max(2, cpus().length);
const run = (list, n) =>
  list.length === 0
    ? 0
    : (spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${n}`, '--test-reporter=spec', ...list], {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, ETAPE_LOG_LEVEL: process.env.ETAPE_LOG_LEVEL ?? 'silent' },
      }).status ?? 1);
const together = run(
  files.filter((f) => !f.endsWith('.alone.test.ts')),
  concurrency,
);
const alone = run(
  files.filter((f) => f.endsWith('.alone.test.ts')),
  1,
);
process.exit(together || alone);
