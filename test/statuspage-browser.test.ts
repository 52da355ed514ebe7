// The page in a real browser (Debian's chromium through playwright-core): readable without JavaScript,
// banner at the top, staleness warning with JavaScript on an old page, 320 px, and a parseable Atom feed.
// Screenshots of the main states go to test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { renderSite, writeSite, newBuildState } from '../src/statuspage/build.js';
import { fleetConfig, healthyEvidence, failing, wideIncident, maintenanceFixture, modelFor } from './statuspage-fixtures.js';
import { skipWithout } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = resolve('test-artifacts');
const skip = skipWithout(CHROMIUM, 'chromium is not installed: run scripts/setup-test-deps.sh');

const cleanup: string[] = [];
let jsOn: BrowserContext;
let jsOff: BrowserContext;

async function launch(javaScriptEnabled: boolean): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'etape-chromium-'));
  cleanup.push(profile);
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    javaScriptEnabled,
    viewport: { width: 1000, height: 900 },
    timeout: 120_000,
  });
}

async function site(model: ReturnType<typeof modelFor>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'etape-site-'));
  cleanup.push(dir);
  const state = newBuildState();
  await writeSite(dir, renderSite(model, state), model.generatedAt, state, 150_000);
  return dir;
}

const MIN = 60_000;

before(async () => {
  if (skip) return;
  await mkdir(ARTIFACTS, { recursive: true });
  [jsOn, jsOff] = await Promise.all([launch(true), launch(false)]);
});

after(async () => {
  await Promise.all([jsOn?.close(), jsOff?.close()]);
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

function incidentSite(generatedAt: number) {
  const now = Date.now();
  const cfg = fleetConfig(12, 4);
  const obs = [
    ...healthyEvidence(cfg, now - 20_000),
    ...failing('svc-0', 'region-00', ['cell-1', 'cell-2'], now - 5000),
    ...failing('svc-0', 'region-01', ['cell-1'], now - 5000),
  ];
  return modelFor(cfg, obs, [wideIncident(now), maintenanceFixture(now)], now, generatedAt);
}

test(
  'with JavaScript off the page shows the incident, the banner first, and when it was generated',
  { skip, timeout: 180_000 },
  async () => {
    const dir = await site(incidentSite(Date.now()));
    const page = await jsOff.newPage();
    await page.goto('file://' + join(dir, 'index.html'));
    // The banner is the first thing shown on the page.
    const first = (await page.evaluate(`(() => {
    const visible = [...document.body.children].find((e) => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0;
    });
    return { cls: visible?.className, text: visible?.textContent ?? '' };
  })()`)) as { cls?: string; text: string };
    assert.equal(first.cls, 'banner');
    assert.match(first.text, /Blob storage requests time out in several regions/);
    assert.match(first.text, /Affects 3 regions/);
    assert.equal(await page.locator('#stale').isVisible(), false);
    assert.ok(await page.getByRole('heading', { name: 'Active incidents' }).isVisible());
    assert.ok(await page.locator('article.card', { hasText: 'Blob storage requests time out' }).first().isVisible());
    assert.match(await page.locator('.gen').innerText(), /Generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 1);
    // Status is text plus an icon, not colour alone.
    assert.ok(await page.locator('li.m', { hasText: 'Major outage' }).first().isVisible());
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(await page.locator('main').count(), 1);
    assert.equal(await page.locator('h1').count(), 1);
    await page.screenshot({ path: join(ARTIFACTS, 'statuspage-incident-nojs.png'), fullPage: false });
    await page.getByRole('heading', { name: 'Components by service' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'statuspage-components.png'), fullPage: false });
    assert.ok(await page.getByRole('heading', { level: 3, name: /svc-0/ }).first().isVisible(), 'service headings are headings');
    // The incident's own page, also without JavaScript.
    await page.getByRole('link', { name: 'Blob storage requests time out in several regions' }).first().click();
    assert.match(await page.locator('h1').innerText(), /Blob storage requests time out/);
    assert.match(await page.locator('ol.tl').innerText(), /configuration change is the cause/);
    await page.screenshot({ path: join(ARTIFACTS, 'statuspage-incident-page.png'), fullPage: true });
    // Readable at 320 px: nothing wider than the screen.
    await page.setViewportSize({ width: 320, height: 800 });
    await page.goto('file://' + join(dir, 'index.html'));
    const overflow = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(overflow <= 320, `page is ${overflow}px wide at 320px`);
    await page.screenshot({ path: join(ARTIFACTS, 'statuspage-320px.png'), fullPage: false });
    await page.close();
  },
);

test('with JavaScript on and an old generated_at the page warns that it is stale', { skip, timeout: 180_000 }, async () => {
  const dir = await site(incidentSite(Date.now() - 12 * MIN));
  const page = await jsOn.newPage();
  await page.goto('file://' + join(dir, 'index.html'));
  const warning = page.locator('#stale');
  await warning.waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(await warning.innerText(), /This status is 1[23] minutes old and may not reflect current conditions\./);
  assert.equal(await warning.getAttribute('role'), 'alert');
  await page.screenshot({ path: join(ARTIFACTS, 'statuspage-stale.png'), fullPage: false });
  // The same page, freshly generated: no warning.
  const fresh = await site(incidentSite(Date.now()));
  await page.goto('file://' + join(fresh, 'index.html'));
  await page.waitForLoadState('load');
  assert.equal(await page.locator('#stale').isVisible(), false);
  await page.close();
});

test('no evidence and all operational: what the headline says', { skip, timeout: 180_000 }, async () => {
  const now = Date.now();
  const cfg = fleetConfig(12, 4);
  const page = await jsOn.newPage();
  const none = await site(modelFor(cfg, [], [], now, now));
  await page.goto('file://' + join(none, 'index.html'));
  assert.match(await page.locator('#h-now').innerText(), /Status unknown: no evidence/);
  assert.ok(!(await page.content()).includes('All Systems Operational'));
  await page.screenshot({ path: join(ARTIFACTS, 'statuspage-no-evidence.png'), fullPage: false });
  const ok = await site(modelFor(cfg, healthyEvidence(cfg, now - 10_000), [], now, now));
  await page.goto('file://' + join(ok, 'index.html'));
  assert.match(await page.locator('#h-now').innerText(), /All Systems Operational/);
  await page.screenshot({ path: join(ARTIFACTS, 'statuspage-operational.png'), fullPage: false });
  await page.goto('file://' + join(ok, 'history/svc-0.html'));
  assert.match(await page.locator('ol.bars').first().innerText(), /\d{4}-\d{2}-\d{2}: \d+\.\d{2}%/);
  await page.screenshot({ path: join(ARTIFACTS, 'statuspage-history.png'), fullPage: false });
  await page.close();
});

test('the Atom feed is well-formed Atom 1.0 with the required elements', { skip, timeout: 180_000 }, async () => {
  const dir = await site(incidentSite(Date.now()));
  const xml = await readFile(join(dir, 'feed.atom'), 'utf8');
  const page = await jsOn.newPage();
  await page.goto('about:blank');
  // Plain JavaScript (not compiled TypeScript) so nothing the test runner injects reaches the page.
  const CHECK = `(t) => {
      const doc = new DOMParser().parseFromString(t, 'application/xml');
      if (doc.getElementsByTagName('parsererror').length) return { ok: false, problems: ['not well-formed XML'] };
      const NS = 'http://www.w3.org/2005/Atom';
      const problems = [];
      const root = doc.documentElement;
      if (root.localName !== 'feed' || root.namespaceURI !== NS) problems.push('root is not atom:feed');
      const child = (e, name) => [...e.children].filter((c) => c.localName === name && c.namespaceURI === NS);
      for (const n of ['id', 'title', 'updated']) if (child(root, n).length !== 1) problems.push('feed needs exactly one ' + n);
      const date = /^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$/;
      if (!date.test(child(root, 'updated')[0]?.textContent ?? '')) problems.push('feed updated is not an RFC 3339 date');
      const feedAuthor = child(root, 'author').length > 0;
      const ids = new Set();
      const entries = child(root, 'entry');
      for (const e of entries) {
        for (const n of ['id', 'title', 'updated']) if (child(e, n).length !== 1) problems.push('entry needs exactly one ' + n);
        if (!date.test(child(e, 'updated')[0]?.textContent ?? '')) problems.push('entry updated is not an RFC 3339 date');
        if (!feedAuthor && child(e, 'author').length === 0) problems.push('entry without author');
        if (child(e, 'content').length === 0 && !child(e, 'link').some((l) => (l.getAttribute('rel') ?? 'alternate') === 'alternate')) problems.push('entry needs content or an alternate link');
        const id = child(e, 'id')[0]?.textContent ?? '';
        if (ids.has(id)) problems.push('duplicate entry id ' + id);
        ids.add(id);
      }
      return { ok: problems.length === 0, problems, entries: entries.length };
    }`;
  const check = (text: string) =>
    page.evaluate(`(${CHECK})(${JSON.stringify(text)})`) as Promise<{ ok: boolean; problems: string[]; entries?: number }>;
  const r = await check(xml);
  assert.deepEqual(r.problems, []);
  assert.equal(r.entries, 3, 'two updates of the incident and the maintenance announcement');
  // The checker can fail: a broken feed is caught.
  assert.equal((await check(xml.replace('</feed>', ''))).ok, false);
  assert.equal((await check(xml.replace(/<updated>[^<]*<\/updated>/, ''))).ok, false);
  await page.close();
});
