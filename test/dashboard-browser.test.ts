// The dashboard in a real browser (Debian's chromium through playwright-core) against a real `etape serve`
// child process and real loopback targets: rollouts appear and advance without reload, a bad version's
// halt and rollback show up live with the failing gate's evidence, pause/resume/approve through the
// confirmation pages change the rollout (checked through the API), a viewer sees no action and the API
// refuses one anyway, an incident update posted from the page lands. axe-core finds no violations on any
// view. One server and one browser for the whole file; screenshots go to test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { TargetFleet, fleetConfig } from './rollout-fixture.js';
import { skipWithout } from './helpers.js';

const ROOT = new URL('..', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run'];
const ARTIFACTS = resolve('test-artifacts');
const skip = skipWithout(CHROMIUM, 'chromium is not installed: run scripts/setup-test-deps.sh');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const OPERATOR = 'op-token-3f9a1c77d2e84b5a';
const VIEWER = 'view-token-8c2d4e6f1a3b5c7d';
const REGIONS = [
  { id: 'r1', cells: ['c1'], canary: true },
  { id: 'r2', cells: ['c1'], pair: 'r3' },
  { id: 'r3', cells: ['c1'] },
];

let dir: string;
let fleet: TargetFleet;
let child: ChildProcess;
let base: string;
let out = '';
let browser: Browser;
let operator: BrowserContext;
let viewer: BrowserContext;

async function api(method: string, path: string, body?: unknown, token = OPERATOR) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, f: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (child.exitCode !== null) throw new Error(`etape serve died while waiting for ${what}:\n${out}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${out.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function signIn(ctx: BrowserContext, token: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(base + '/');
  assert.match(page.url(), /\/ui\/signin$/, 'not signed in: / leads to the sign-in page');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/ui\/rollouts$/);
  return page;
}

async function axe(page: Page, name: string): Promise<void> {
  // Evaluated through the devtools protocol: the page's own Content-Security-Policy stays as it is.
  if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.evaluate(AXE_SOURCE);
  const r = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; help: string; nodes: { target: string[]; failureSummary?: string }[] }[];
  };
  const found = r.violations.map(
    (v) => `${v.id}: ${v.help}\n  ${v.nodes.map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('\n  ')}`,
  );
  assert.deepEqual(found, [], `axe on ${name}`);
}

/** Marks the document so a later check can tell the page was not reloaded. */
async function mark(page: Page): Promise<void> {
  await page.evaluate('window.__notReloaded = true');
}
async function notReloaded(page: Page): Promise<boolean> {
  return (await page.evaluate('window.__notReloaded === true')) as boolean;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: false });
}

before(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'etape-dashboard-'));
  fleet = new TargetFleet(REGIONS.flatMap((r) => r.cells.map((c) => `${r.id}/${c}`)));
  await fleet.start();
  const cfgFile = join(dir, 'etape.yaml');
  writeFileSync(
    cfgFile,
    JSON.stringify({
      fleet: fleetConfig(fleet, REGIONS),
      policy: { bake: { canary: '1500ms', first: '1s', later: '1s' }, approvals: [2] },
      services: [
        {
          name: 'blob',
          initialVersion: 'v1',
          driver: fleet.execDriver({ timeout: '3s' }),
          probes: [{ name: 'http', url: 'http://127.0.0.1:{port}/health', interval: '200ms', timeout: '400ms' }],
          gates: [{ kind: 'probe', name: 'health', probe: 'http', failAfter: 3 }],
        },
      ],
      server: {
        reconcileEvery: '200ms',
        tokens: [
          { name: 'ops', role: 'operator', token: { env: 'ETAPE_TEST_OP' } },
          { name: 'watcher', role: 'viewer', token: { env: 'ETAPE_TEST_VIEW' } },
        ],
      },
    }),
  );
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/run.ts',
      'serve',
      '-c',
      cfgFile,
      '--store',
      join(dir, 'etape.db'),
      '--listen',
      '127.0.0.1:0',
      '--no-status-page',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ETAPE_LOG_LEVEL: 'info', ETAPE_TEST_OP: OPERATOR, ETAPE_TEST_VIEW: VIEWER },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  base = await until('etape serve to listen', async () => /listening on (http:\/\/[^\s]+)/.exec(out)?.[1], 60_000);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 120_000 });
  operator = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  viewer = await browser.newContext({ viewport: { width: 1100, height: 800 } });
});

after(async () => {
  await operator?.close();
  await viewer?.close();
  await browser?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await fleet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('sign-in keeps the token in an HttpOnly SameSite=Strict cookie, never in the page or a URL', { skip }, async () => {
  const page = await operator.newPage();
  await page.goto(base + '/ui/signin');
  await axe(page, 'sign-in');
  await shot(page, 'signin');
  await page.getByLabel('API token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.match(await page.locator('[role=alert]').innerText(), /not one of server.tokens/);
  await page.close();
  const p = await signIn(operator, OPERATOR);
  const cookies = await operator.cookies(base + '/ui/rollouts');
  const c = cookies.find((x) => x.name === 'etape_session');
  assert.ok(c, 'a session cookie');
  assert.equal(c.httpOnly, true);
  assert.equal(c.sameSite, 'Strict');
  assert.equal(c.path, '/ui');
  assert.equal(await p.evaluate('document.cookie'), '', 'scripts cannot read it');
  assert.ok(!(await p.content()).includes(OPERATOR), 'not in the page');
  assert.ok(!p.url().includes(OPERATOR));
  // A form post from another origin is refused even with the cookie.
  const res = await p.request.post(base + '/ui/signout', { headers: { origin: 'http://evil.example' }, form: { csrf: 'x' } });
  assert.equal(res.status(), 403);
  await p.close();
});

test(
  'a rollout started by the API appears and advances without reload; pause, resume and approve act through confirmations',
  { skip, timeout: 120_000 },
  async () => {
    const list = await operator.newPage();
    await list.goto(base + '/ui/rollouts');
    await until('live feed connected', async () => /Live:/.test(await list.locator('#live-state').innerText()));
    await mark(list);
    const started = await api('POST', '/api/rollouts', { service: 'blob', version: 'v2', id: 'good-1' });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    const row = list.locator('tr[data-rollout="good-1"]');
    await row.waitFor({ timeout: 15_000 });
    assert.ok(await notReloaded(list), 'the row came without a reload');
    await until('the row to show wave 2 waiting for approval', async () => /approval of wave 2/.test(await row.innerText()));
    assert.match(await row.innerText(), /2 of 3/);
    assert.match(await row.innerText(), /api:ops/);
    assert.ok(await notReloaded(list));
    await axe(list, 'rollouts');
    await shot(list, 'rollouts');

    const page = await operator.newPage();
    await page.goto(base + '/ui/rollouts/good-1');
    assert.equal(await page.locator('[data-wave="1"]').getAttribute('data-status'), 'verified');
    await axe(page, 'one rollout (waiting for approval)');
    // Pause, with a confirmation that says what will happen.
    await page.getByRole('link', { name: 'Pause…' }).click();
    assert.match(await page.locator('#consequence').innerText(), /no new wave starts/);
    await axe(page, 'confirmation');
    await shot(page, 'confirm-pause');
    await page.getByLabel(/Reason/).fill('checking the canary by hand');
    await page.getByRole('button', { name: 'Pause rollout' }).click();
    await page.waitForURL(/good-1\?done=pause/);
    const paused = await api('GET', '/api/rollouts/good-1');
    assert.equal(paused.json.phase, 'paused');
    assert.equal(paused.json.pausedBy, 'api:ops');
    assert.match(await page.locator('#facts').innerText(), /paused/);
    // Resume, then approve wave 2, and watch it complete without a reload.
    await page.getByRole('link', { name: 'Resume…' }).click();
    await page.getByRole('button', { name: 'Resume rollout' }).click();
    await page.waitForURL(/done=resume/);
    assert.equal((await api('GET', '/api/rollouts/good-1')).json.phase, 'running');
    await page.getByRole('link', { name: 'Approve wave 2…' }).click();
    assert.match(await page.locator('#consequence').innerText(), /Approve wave 2 of rollout good-1 \(r2/);
    await page.getByRole('button', { name: 'Approve wave 2 rollout' }).click();
    await page.waitForURL(/done=approve/);
    await mark(page);
    await until(
      'wave 2 verified on the page',
      async () => (await page.locator('[data-wave="2"]').getAttribute('data-status')) === 'verified',
    );
    await until(
      'completed on the page',
      async () => (await page.locator('#facts [data-phase]').getAttribute('data-phase')) === 'completed',
      30_000,
    );
    assert.ok(await notReloaded(page), 'the page followed the rollout without a reload');
    assert.equal((await api('GET', '/api/rollouts/good-1')).json.phase, 'completed');
    // Targets show the version they are observed to run, and the last probe.
    await until('observed v2 on every target', async () => {
      await page.reload();
      const cells = await page.locator('td.observed').allInnerTexts();
      return cells.length === 3 && cells.every((t) => t.startsWith('v2'));
    });
    await axe(page, 'one rollout (completed)');
    await shot(page, 'rollout-completed');
    assert.ok(await list.locator('tr[data-rollout="good-1"][data-phase="completed"]').count(), 'the list followed too');
    assert.ok(await notReloaded(list));
    await list.close();
    await page.close();
  },
);

test('a bad version halts and rolls back live, with the failing gate and its evidence', { skip, timeout: 120_000 }, async () => {
  const page = await operator.newPage();
  await page.goto(base + '/ui/rollouts');
  await until('live feed connected', async () => /Live:/.test(await page.locator('#live-state').innerText()));
  const started = await api('POST', '/api/rollouts', { service: 'blob', version: 'v3-hang', id: 'bad-1' });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  await page.goto(base + '/ui/rollouts/bad-1');
  await until('live feed connected', async () => /Live:/.test(await page.locator('#live-state').innerText()));
  await mark(page);
  await until(
    'rolled back on the page',
    async () => (await page.locator('#facts [data-phase]').getAttribute('data-phase')) === 'rolled_back',
    60_000,
  );
  assert.ok(await notReloaded(page), 'halt and rollback arrived without a reload');
  const stop = await page.locator('#stop').innerText();
  assert.match(stop, /Halted/);
  assert.match(stop, /gate health failed in wave 1/);
  const gate = page.locator('section.gate[data-gate="health"]');
  assert.equal(await gate.getAttribute('data-verdict'), 'fail');
  assert.match(await gate.locator('.reason').innerText(), /consecutive failures/);
  const evidence = await gate.locator('table.evidence tbody tr').first().innerText();
  assert.match(evidence, /r1\/c1/);
  assert.match(await gate.locator('.reason').innerText(), /r1\/c1: \d+ consecutive failures \(timeout/);
  const failCells = await gate.locator('table.evidence tbody tr td:nth-child(4)').allInnerTexts();
  assert.ok(
    failCells.some((x) => Number(x) >= 3),
    `at least 3 failed probes shown: ${failCells}`,
  );
  assert.ok(await gate.locator('.chart canvas').count(), 'the probe chart is drawn');
  assert.match(await page.locator('.wave-item[data-wave="1"]').innerText(), /rolled back/);
  // The rollback in its order, with each target's stage.
  const rb = page.locator('table.rollback tr[data-rollback-target="r1/c1"]');
  assert.match(await rb.innerText(), /back/);
  assert.match(await rb.innerText(), /was failing/);
  const events = await page.locator('ol.events').innerText();
  assert.match(events, /rollout\.halted/);
  assert.match(events, /target\.rolled_back/);
  await axe(page, 'one rollout (rolled back)');
  await page.locator('section.gate[data-gate="health"]').scrollIntoViewIfNeeded();
  await shot(page, 'rollout-rolled-back');
  await page.close();
});

test('the fleet grid shows observed versions, health, pairs and drift', { skip, timeout: 60_000 }, async () => {
  // r3 starts answering with a version no rollout put there.
  fleet.targets.get('r3/c1')!.version = 'v9-manual';
  const page = await operator.newPage();
  await page.goto(base + '/ui/fleet');
  const cell = page.locator('td[data-component="blob/r3"]');
  await until('drift shown on r3 without reload', async () => /drift from v2/.test(await cell.innerText()), 20_000);
  assert.match(await page.locator('td[data-component="blob/r1"]').innerText(), /operational[\s\S]*v2/);
  assert.match(await page.locator('#region-r2').innerText(), /r3/, 'pair link');
  await axe(page, 'fleet');
  await shot(page, 'fleet');
  fleet.targets.get('r3/c1')!.version = 'v2';
  await page.close();
});

test('incidents: open ones with updates and the overdue flag; an operator posts an update', { skip }, async () => {
  const opened = await api('POST', '/api/incidents', {
    title: 'Blob writes slow in r2',
    impact: 'minor',
    components: ['blob/r2'],
    message: 'Looking.',
  });
  assert.equal(opened.status, 201, JSON.stringify(opened.json));
  const page = await operator.newPage();
  await page.goto(base + '/ui/incidents');
  const card = page.locator(`article[data-incident="${opened.json.id}"]`);
  assert.match(await card.innerText(), /Blob writes slow in r2/);
  assert.match(await card.innerText(), /Looking\./);
  await axe(page, 'incidents');
  await card.getByLabel('Public update').fill('Cause found: a full disk on one host.');
  await card.getByLabel('Status').selectOption('identified');
  await card.getByRole('button', { name: 'Post update' }).click();
  await page.waitForURL(/\/ui\/incidents$/);
  const got = await api('GET', `/api/incidents/${opened.json.id}`);
  assert.equal(got.json.status, 'identified');
  assert.equal(got.json.updates.at(-1).body, 'Cause found: a full disk on one host.');
  assert.equal(got.json.updates.at(-1).actor, 'api:ops');
  assert.match(await card.innerText(), /Cause found/);
  await shot(page, 'incidents');
  await page.close();
});

test('a viewer sees no action, and the API refuses one anyway', { skip }, async () => {
  const page = await signIn(viewer, VIEWER);
  await page.goto(base + '/ui/rollouts/good-1');
  assert.equal(await page.locator('ul.actions').count(), 0);
  assert.deepEqual(await page.getByRole('button').allInnerTexts(), ['Sign out'], 'the only button is sign-out');
  await page.goto(base + '/ui/incidents');
  assert.equal(await page.locator('form.post-update').count(), 0);
  assert.deepEqual(await page.getByRole('button').allInnerTexts(), ['Sign out']);
  // Posting the action form by hand, with the viewer's own valid CSRF token, is refused by the API.
  await api('POST', '/api/rollouts', { service: 'blob', version: 'v5', id: 'viewer-target' });
  await page.goto(base + '/ui/rollouts/viewer-target');
  const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
  const res = await page.request.post(base + '/ui/rollouts/viewer-target/actions/pause', {
    form: { csrf: csrf! },
    headers: { origin: base },
  });
  assert.equal(res.status(), 403);
  assert.match(await res.text(), /role viewer; this needs operator/);
  assert.notEqual((await api('GET', '/api/rollouts/viewer-target')).json.phase, 'paused');
  await api('POST', '/api/rollouts/viewer-target/abort', {});
  await page.close();
  assert.ok(!out.includes(OPERATOR) && !out.includes(VIEWER), 'no token in the server output');
});
