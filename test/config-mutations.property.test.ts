// Property: however the example config is broken (keys dropped, renamed, retyped, duplicated, values out of
// range, YAML syntax broken), `etape validate` never fails inside: it says OK, or exits 2 with every
// problem at a file:line:column, and no stack trace. Runs the CLI's main() in this process, so it stays fast.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { runInProcess } from './helpers.js';
import { EXAMPLE_CONFIG } from '../src/cli/commands/config.js';

// The example `etape init` writes (examples/etape.yaml, with 46 regions, takes 10× as long to parse).
const EXAMPLE = EXAMPLE_CONFIG;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'etape-mutations-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Paths to every node of the document: keys of mappings and indexes of lists. */
function paths(text: string): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (n: unknown, at: (string | number)[]) => {
    if (isMap(n))
      for (const p of n.items) {
        if (!isPair(p) || !isScalar(p.key)) continue;
        const here = [...at, String(p.key.value)];
        out.push(here);
        walk(p.value, here);
      }
    else if (isSeq(n))
      n.items.forEach((x, i) => {
        const here = [...at, i];
        out.push(here);
        walk(x, here);
      });
  };
  walk(parseDocument(text).contents, []);
  return out;
}

const ALL = paths(EXAMPLE);

const strange = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constantFrom(0, -1, 1e308, 0.5, Number.MAX_SAFE_INTEGER, '0s', '-5m', '', 'x', '99999', 'javascript:alert(1)', '{prt}', '/[a/'),
  fc.string({ maxLength: 12 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.integer(), { maxKeys: 2 }),
);

type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'rename'; at: number; name: string }
  | { kind: 'retype'; at: number; value: unknown }
  | { kind: 'duplicate'; line: number }
  | { kind: 'syntax'; offset: number; junk: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(ALL.length - 1) }),
  fc.record({ kind: fc.constant('rename' as const), at: fc.nat(ALL.length - 1), name: fc.string({ minLength: 1, maxLength: 10 }) }),
  fc.record({ kind: fc.constant('retype' as const), at: fc.nat(ALL.length - 1), value: strange }),
  fc.record({ kind: fc.constant('duplicate' as const), line: fc.nat(EXAMPLE.split('\n').length - 1) }),
  fc.record({
    kind: fc.constant('syntax' as const),
    offset: fc.nat(EXAMPLE.length),
    junk: fc.constantFrom(':', '[', ']', '{', '\t', '&a', '*nope', '- ', '"', "'", '\n  x', '|', '%', '!!int ', '? ', '<<: *a'),
  }),
);

function mutate(text: string, ms: Mutation[]): string {
  for (const m of ms) {
    if (m.kind === 'duplicate') {
      const lines = text.split('\n');
      const i = m.line % lines.length;
      lines.splice(i, 0, lines[i]);
      text = lines.join('\n');
      continue;
    }
    if (m.kind === 'syntax') {
      const at = m.offset % (text.length + 1);
      text = text.slice(0, at) + m.junk + text.slice(at);
      continue;
    }
    const doc = parseDocument(text);
    if (doc.errors.length) continue; // already broken: leave it broken
    const ps = paths(text);
    if (ps.length === 0) continue;
    const path = ps[m.at % ps.length];
    if (m.kind === 'drop') doc.deleteIn(path);
    else if (m.kind === 'retype') doc.setIn(path, doc.createNode(m.value));
    else {
      const parent = path.length > 1 ? doc.getIn(path.slice(0, -1), true) : doc.contents;
      const last = path[path.length - 1];
      if (isMap(parent as Node)) {
        const pair = (parent as { items: { key: unknown }[] }).items.find((p) => isScalar(p.key) && String(p.key.value) === String(last));
        if (pair && isScalar(pair.key)) pair.key.value = m.name;
      } else doc.setIn(path, doc.createNode(m.name));
    }
    text = doc.toString();
  }
  return text;
}

test(
  'mutated example configs: OK, or exit 2 with file:line:column for every problem; never an internal error',
  { timeout: 120_000 },
  async () => {
    let n = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
        const file = join(dir, `m${n++}.yaml`);
        writeFileSync(file, mutate(EXAMPLE, ms));
        const r = await runInProcess(['validate', '-c', file], { ETAPE_STORE: undefined });
        assert.doesNotMatch(r.stderr, /internal error|\n\s+at .+:\d+:\d+\)?\n/, r.stderr);
        if (r.code === 0) return;
        refused++;
        assert.equal(r.code, 2, r.stderr);
        const lines = r.stderr.trimEnd().split('\n');
        assert.match(lines[0], /^etape: .*m\d+\.yaml (has \d+ problems?|is not (valid|usable) YAML|is empty)/, r.stderr);
        for (const l of lines.slice(1)) assert.match(l, /^ {2}\S*m\d+\.yaml:\d+:\d+: \S/, `every problem has its place:\n${r.stderr}`);
      }),
      { numRuns: 100, seed: 2026 },
    );
    assert.ok(refused > 50, `most mutations are refused (${refused} of 100)`);
  },
);
