// The static checks: ESLint (eslint.config.js: typescript-eslint without type information, and the purity
// rules of the decision core), the prettier format check, madge (no runtime import cycles in src) and knip
// (knip.json: files and exports that nothing uses).
// They run side by side with caches under node_modules/.cache, so a second run only looks at what changed.
//   node scripts/checks.mjs        all of them (npm run lint); exit 1 when any fails
// scripts/test.mjs runs them before the tests (npm test and --fast alike).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const SOURCES = ['src', 'test', 'bench', 'scripts', 'eslint.config.js'];

export const CHECKS = [
  {
    name: 'eslint',
    command: bin('eslint'),
    args: ['--cache', '--cache-location', 'node_modules/.cache/eslint/', '--max-warnings', '0', ...SOURCES],
  },
  {
    name: 'prettier',
    command: bin('prettier'),
    args: ['--check', '--cache', '--cache-strategy', 'content', '--log-level', 'warn', ...SOURCES],
    hint: 'run `npm run format` to fix',
  },
  {
    // Runtime import cycles (type-only imports are erased and do not count: .madgerc).
    name: 'cycles',
    command: bin('madge'),
    args: ['--circular', '--no-spinner', '--extensions', 'ts', '--ts-config', 'tsconfig.json', 'src'],
    hint: 'break the cycle: move what both sides need into a module of its own',
  },
  { name: 'knip', command: bin('knip'), args: ['--no-progress'], hint: 'knip.json: delete what nothing uses, or stop exporting it' },
];

function run(check) {
  return new Promise((resolve) => {
    const child = spawn(check.command, check.args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ check, ok: false, out: `could not run ${check.command}: ${e.message}` }));
    child.on('close', (code) => resolve({ check, ok: code === 0, out }));
  });
}

/** Runs every check at once; prints what failed; resolves true when all passed. */
export async function runChecks(checks = CHECKS) {
  const t0 = Date.now();
  const results = await Promise.all(checks.map(run));
  for (const r of results) {
    if (r.ok) continue;
    process.stderr.write(`\n✖ ${r.check.name} failed${r.check.hint ? ` (${r.check.hint})` : ''}:\n${r.out.trim()}\n`);
  }
  const failed = results.filter((r) => !r.ok).map((r) => r.check.name);
  process.stdout.write(
    failed.length
      ? `checks: ${failed.join(', ')} failed\n`
      : `checks: ${checks.map((c) => c.name).join(', ')} passed in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  return failed.length === 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit((await runChecks()) ? 0 : 1);
}
