// Bad input at the command line, as a new user gives it: every mistake is a message with file:line:column
// and exit code 2, never a stack trace; secrets the environment must supply are named before anything runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, runInProcess } from './helpers.js';
import { openStore } from '../src/store/open.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'etape-bad-input-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const FLEET = `fleet:
  regions:
    - { id: a, geography: g, canary: true, cells: [{ id: c1, vars: { port: 7001 } }] }
    - { id: b, geography: g, cells: [{ id: c1, vars: { port: 7002 } }, { id: c2, vars: { port: 7003 } }] }
    - { id: c, geography: g, cells: [{ id: c1, vars: { port: 7004 } }] }
`;

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const STACK = /\n\s+at .+\(.*:\d+:\d+\)|internal error/;

describe('etape validate', () => {
  it('finds what used to pass: bad URLs, unknown placeholders, bad regexes, zero intervals, bad schemes, bad ports', async () => {
    const cfg = file(
      'broken.yaml',
      `${FLEET}statuspage:
  url: "javascript:alert(1)//"
server:
  listen: 127.0.0.1:99999
services:
  - name: web
    driver: { kind: exec, deploy: "true" }
    probes:
      - { name: p1, url: "not a url {port}" }
      - { name: p2, url: "http://127.0.0.1:{prt}/health", bodyMatch: "/[unclosed/" }
      - { name: p3, url: "http://127.0.0.1:{port}/", interval: 0s }
      - { name: p4, url: "ftp://127.0.0.1:{port}/" }
    gates:
      - { kind: metric, name: m, prometheus: "http://127.0.0.1:9090", query: "up{cel}", successCondition: "result <" }
`,
    );
    const r = await runInProcess(['validate', '-c', cfg]);
    assert.equal(r.code, 2, r.stderr);
    assert.doesNotMatch(r.stderr, STACK);
    const expect: [string, RegExp][] = [
      ['7:8', /statuspage\.url: .*javascript:.*only http and https/],
      ['9:11', /server\.listen: port 99999 is out of range/],
      ['14:26', /probes\[0\]\.url: probe "p1"'s URL for a\/c1: "not a url 7001" is not a URL/],
      ['15:26', /probes\[1\]\.url: .*uses \{prt\}, which a\/c1 and 3 more cells do not define; did you mean "port"\?/],
      ['15:70', /probes\[1\]\.bodyMatch: bodyMatch \/\[unclosed\/ is not a valid regular expression/],
      ['16:64', /probes\[2\]\.interval: must be at least 100ms/],
      ['17:26', /probes\[3\]\.url: .*uses ftp:, but only http and https/],
      ['19:78', /gates\[0\]\.query: .*uses \{cel\}.*did you mean "cell"\?/],
      ['19:107', /gates\[0\]\.successCondition: /],
    ];
    for (const [at, re] of expect) {
      const line = r.stderr.split('\n').find((l) => l.includes(`broken.yaml:${at}: `));
      assert.ok(line, `a problem at ${at} in:\n${r.stderr}`);
      assert.match(line, re);
    }
  });

  it('checks numbered approvals against the plans', async () => {
    const cfg = file('approvals.yaml', `${FLEET}policy:\n  approvals: [first, 9]\nservices:\n  - name: web\n`);
    const r = await runInProcess(['validate', '-c', cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /approvals\.yaml:\d+:\d+: policy\.approvals\[1\]: wave 9 does not exist: service "web" has 3 waves/);
  });

  it('warns about secrets the environment does not supply; serve and rollout start refuse, naming the variable', async () => {
    const cfg = file(
      'secrets.yaml',
      `${FLEET}server:
  listen: 127.0.0.1:0
  tokens: [{ name: ops, role: operator, token: { env: ETAPE_TEST_OPS_TOKEN } }]
services:
  - name: web
    driver: { kind: http, url: "http://127.0.0.1:1/", secret: { env: ETAPE_TEST_HOOK_SECRET } }
`,
    );
    const unset = { ETAPE_TEST_OPS_TOKEN: undefined, ETAPE_TEST_HOOK_SECRET: undefined };
    const store = join(dir, 'secrets.db');
    const v = await runInProcess(['validate', '-c', cfg], unset);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /OK: .*2 warnings/);
    assert.match(
      v.stderr,
      /warning: .*secrets\.yaml:8:48: server\.tokens\[0\]\.token: API token "ops" comes from the environment variable ETAPE_TEST_OPS_TOKEN, which is not set/,
    );
    assert.match(v.stderr, /warning: .*secrets\.yaml:11:63: services\[0\]\.driver\.secret: .*ETAPE_TEST_HOOK_SECRET/);

    const s = await runInProcess(['serve', '-c', cfg, '--store', store], unset);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /etape serve needs the environment variables ETAPE_TEST_OPS_TOKEN, ETAPE_TEST_HOOK_SECRET, which are not set/);

    const start = await runInProcess(['rollout', 'start', 'web', 'v2', '-c', cfg, '--store', store], unset);
    assert.equal(start.code, 2);
    assert.match(start.stderr, /rollout start web needs the environment variable ETAPE_TEST_HOOK_SECRET/);
    const st = await openStore(store);
    try {
      assert.deepEqual(await st.listRollouts(), [], 'no rollout was created');
    } finally {
      await st.close();
    }
    const ok = await runInProcess(['validate', '-c', cfg], { ETAPE_TEST_OPS_TOKEN: 'tok-1234', ETAPE_TEST_HOOK_SECRET: 'hook-1234' });
    assert.equal(ok.stderr, '');
  });
});

describe('no stack trace reaches a user', () => {
  it('a YAML alias bomb is a config error with its place, exit 2', async () => {
    const cfg = file(
      'bomb.yaml',
      `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
`,
    );
    const r = await runInProcess(['validate', '-c', cfg]);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, STACK);
    assert.match(r.stderr, /bomb\.yaml:2:8: not usable YAML: its aliases \(\*name\) expand to too many nodes/);
  });

  it('status build --out under a file, and a config that is a folder, are messages with exit 2', async () => {
    const cfg = file('plain.yaml', `${FLEET}services:\n  - name: web\n`);
    const blocker = file('a-file', 'x');
    const r = await runInProcess(['status', 'build', '-c', cfg, '--store', join(dir, 'plain.db'), '--out', join(blocker, 'site')]);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.stderr, STACK);
    assert.match(r.stderr, /a-file\/site: a part of the path is a file, not a folder/);
    const d = await runInProcess(['validate', '-c', dir]);
    assert.equal(d.code, 2);
    assert.match(d.stderr, /cannot read .*: it is a folder/);
  });

  it('--version prints the version of the package', async () => {
    const r = await runInProcess(['--version']);
    assert.equal(r.code, 0);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('a reader that goes away (`rollout history <id> | head`) ends the command quietly with exit 0', async () => {
    const cfg = file('pipe.yaml', `${FLEET}services:\n  - name: web\n    initialVersion: v1\n    driver: { kind: exec, deploy: "true" }\n`);
    const db = join(dir, 'pipe.db');
    const start = await runInProcess(['rollout', 'start', 'web', 'v2', '--id', 'r-pipe', '-c', cfg, '--store', db]);
    assert.equal(start.code, 0, start.stderr);
    const store = await openStore(db);
    try {
      // Far more than a pipe buffer holds, so the writer meets the closed pipe.
      const events = Array.from({ length: 4000 }, (_, i) => ({
        rolloutId: 'r-pipe',
        at: 1_700_000_000_000 + i,
        actor: 'test',
        type: 'note',
        data: { text: 'x'.repeat(100) },
      }));
      await store.appendEvents(events);
    } finally {
      await store.close();
    }
    // As bin/etape.js runs it: main() alone, with no handler of its own around it.
    const mainTs = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    const args = ['rollout', 'history', 'r-pipe', '-c', cfg, '--store', db];
    const script = `const { main } = await import(${JSON.stringify(mainTs)}); process.exitCode = await main(['node', 'etape', ...${JSON.stringify(args)}]);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

describe('output for people and for machines', () => {
  it('user text printed to a terminal is stripped of escape sequences; --json keeps it exact', async () => {
    const cfg = file('titles.yaml', `${FLEET}services:\n  - name: web\n`);
    const db = join(dir, 'titles.db');
    const hostile = 'Evil\u001b]0;pwned\u0007\u001b[2J title\u001b[31m red\u009b1m';
    const open = await runCli(['incident', 'open', '-c', cfg, '--store', db, '--title', hostile, '--component', 'web'], 60_000);
    assert.equal(open.code, 0, open.stderr);
    // In a child process of its own, so the command's stdout is exactly its own.
    const ours = (out: string) => out.split('\n').filter((l) => /^inc-\S+ .*Evil/.test(l));
    const raw = (l: string) => ['\u001b', '\u0007', '\u009b'].some((c) => l.includes(c));
    assert.equal(ours(open.stdout).length, 1);
    assert.ok(!raw(ours(open.stdout)[0]));
    const list = await runCli(['incident', 'list', '-c', cfg, '--store', db], 60_000);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(ours(list.stdout).length, 1);
    assert.match(ours(list.stdout)[0], /Evil title red/);
    assert.ok(!raw(ours(list.stdout)[0]));
    const json = await runCli(['incident', 'list', '--json', '-c', cfg, '--store', db], 60_000);
    const start = json.stdout.lastIndexOf('\n[\n') + 1;
    assert.ok((JSON.parse(json.stdout.slice(start)) as { title: string }[])[0].title.startsWith('Evil\u001b]0;pwned\u0007\u001b[2J title'));
  });

  it('logs are lines for people on a terminal (or with ETAPE_LOG_FORMAT=pretty), never in the output of --json', async () => {
    const cfg = file(
      'logs.yaml',
      `${FLEET}services:\n  - name: web\nnotifications:\n  webhooks: [{ url: "http://127.0.0.1:1/hook", secret: { env: ETAPE_TEST_UNSET_HOOK } }]\n`,
    );
    const db = join(dir, 'logs.db');
    const mainTs = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    const args = ['incident', 'open', '--json', '-c', cfg, '--store', db, '--title', 'Slow', '--component', 'web'];
    const script = `const { main } = await import(${JSON.stringify(mainTs)}); process.exitCode = await main(['node', 'etape', ...${JSON.stringify(args)}]);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ETAPE_LOG_FORMAT: 'pretty', ETAPE_LOG_LEVEL: 'info', ETAPE_TEST_UNSET_HOOK: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.equal((JSON.parse(stdout) as { title: string }).title, 'Slow', 'stdout is exactly the JSON');
    assert.match(stderr, /^\d\d:\d\d:\d\d error webhook secret is not set .* url=http:\/\/127\.0\.0\.1:1\/hook$/m);
    assert.doesNotMatch(stderr, /"level":/);
  });
});
