// Builds the static status site: renders every file from a SiteModel, then writes only files whose
// content changed (by hash), atomically (write then rename), so any web server or bucket can serve the
// folder while it is rebuilt. Every file carries generated_at; files that describe "now" (the front page,
// the JSON, the feed, open incidents) are rewritten at each build, the others when their content changes
// or their generated_at would otherwise become older than half of staleAfter.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { renderAtom } from './atom.js';
import { renderBadge } from './badge.js';
import {
  renderHistoryFragment,
  renderHistoryIndex,
  renderHistoryPage,
  renderIncidentIndex,
  renderIncidentPage,
  renderIndex,
} from './html.js';
import { badgePath, byService, historyPath, humanTime, incidentPath, isoTime, shownStatus, type SiteModel } from './model.js';
import { GENERATED_AT_ISO, GENERATED_AT_TEXT, v2Files } from './v2.js';
import { pageIdFor } from './model.js';
import type { Observation } from '../core/types.js';
import type { IncidentRecord } from '../store/store.js';
import { ms } from '../config/common.js';
import type { StatusPageConfig } from '../config/statuspage.js';
import { isOpenAt } from '../incidents/lifecycle.js';
import { componentStatuses, headline, statusRulesFromConfig, type ComponentDef } from '../status/status.js';
import type { MaintenanceSchedule } from '../status/timeline.js';
import type { ComponentHistory } from './history.js';
import type { IncidentImpact } from '../sla/incident-impact.js';

export interface SiteModelInput {
  statuspage: StatusPageConfig;
  defs: ComponentDef[];
  /** Recent observations (the newest per unit and source is what counts). */
  observations: Iterable<Observation>;
  /** Incidents and maintenance to publish (open ones and those of the history window). */
  incidents: IncidentRecord[];
  history?: Map<string, ComponentHistory>;
  now: number;
  /** When measurement of each component began (src/sla/measurement.ts). */
  measuredSince?: Map<string, number>;
  /** notifications.email.publicUrl: the page offers email sign-up through it. */
  signupBaseUrl?: string;
  /** Resolved incidents' measurements and credits (src/sla/incident-impact.ts). */
  impacts?: Map<string, IncidentImpact>;
}

/** Everything one build shows, from evidence, incidents and history. Pure. */
export function createSiteModel(i: SiteModelInput): SiteModel {
  const sp = i.statuspage;
  const maintenance = maintenanceSchedule(i.incidents, i.defs).at(i.now);
  const components = componentStatuses(i.defs, i.observations, i.now, statusRulesFromConfig(sp.rules), maintenance);
  const open = i.incidents.filter((r) => isOpenAt(r, i.now));
  return {
    generatedAt: i.now,
    title: sp.title,
    url: sp.url?.replace(/\/+$/, ''),
    pageId: sp.pageId ?? pageIdFor(sp.title),
    staleAfterMs: ms(sp.staleAfter),
    bannerAfterMs: ms(sp.bannerAfter),
    updateCadenceMs: ms(sp.updateCadence),
    components,
    headline: headline(components, open),
    incidents: [...i.incidents].sort((a, b) => b.createdAt - a.createdAt),
    history: i.history,
    historyDays: sp.historyDays,
    ...(i.measuredSince ? { measuredSince: i.measuredSince } : {}),
    ...(i.impacts ? { impacts: i.impacts } : {}),
    ...(i.signupBaseUrl ? { signupUrl: `${i.signupBaseUrl.replace(/\/+$/, '')}/subscribe` } : {}),
  };
}

/** Which components maintenance windows cover at a time (a bare service name covers all its regions). */
export function maintenanceSchedule(incidents: readonly IncidentRecord[], defs: readonly ComponentDef[]): MaintenanceSchedule {
  const maint = incidents.filter((r) => r.kind === 'maintenance');
  return {
    at(t) {
      const out = new Set<string>();
      for (const r of maint)
        if (isOpenAt(r, t))
          for (const c of r.components) {
            if (c.includes('/')) out.add(c);
            else for (const d of defs) if (d.service === c) out.add(d.id);
          }
      return out;
    },
    boundaries: maint.flatMap((r) => [r.scheduledFor, r.scheduledUntil].filter((x): x is number => x !== null)),
  };
}

export interface SiteFile {
  path: string;
  /** With the generated_at placeholders still in. */
  content: string;
  /** Describes the present: rewritten at every build. */
  live: boolean;
  /**
   * For pages whose content also moves with the clock (today's uptime so far): a key of the rest. While it
   * is the same, a changed page waits for its refresh (staleAfter / 2) instead of being rewritten each build.
   */
  stableKey?: string;
}

/** What a builder keeps between builds: rendered history per component and the hash of every file written. */
export interface BuildState {
  fragments: Map<string, { key: string; html: string }>;
  /** Rendered pages and badges by a key of what they show, so an unchanged one is the same string. */
  pages: Map<string, { key: string; content: string }>;
  files: Map<string, { hash: string; writtenAt: number; stableKey?: string }>;
  /** The content last written per file, to skip hashing what did not change. */
  lastContent: Map<string, string>;
  manifestLoaded: boolean;
}

export function newBuildState(): BuildState {
  return { fragments: new Map(), pages: new Map(), files: new Map(), lastContent: new Map(), manifestLoaded: false };
}

function cached(state: BuildState, path: string, key: string, render: () => string): string {
  const hit = state.pages.get(path);
  if (hit && hit.key === key) return hit.content;
  const content = render();
  state.pages.set(path, { key, content });
  return content;
}

export function renderSite(m: SiteModel, state: BuildState = newBuildState()): SiteFile[] {
  const files: SiteFile[] = [];
  files.push({ path: 'index.html', content: renderIndex(m), live: true });
  for (const [path, content] of v2Files(m)) files.push({ path, content, live: true });
  files.push({ path: 'feed.atom', content: renderAtom(m), live: true });
  files.push({ path: 'incidents/index.html', content: renderIncidentIndex(m), live: true });
  for (const i of m.incidents) {
    const st = shownStatus(i, m.generatedAt);
    const open = st !== 'resolved' && st !== 'postmortem' && st !== 'completed';
    files.push({ path: incidentPath(i.id), content: renderIncidentPage(m, i), live: open });
  }
  for (const c of m.components) {
    const path = badgePath(c.id);
    files.push({ path, content: cached(state, path, `${c.status}|${c.service}|${c.region}`, () => renderBadge(c)), live: false });
  }
  files.push({ path: 'history/index.html', content: renderHistoryIndex(m), live: false });
  for (const [service, comps] of byService(m.components)) {
    let changed = false;
    const frags = comps.map((c) => {
      const h = m.history?.get(c.id);
      const key = `${h?.key ?? 'none'}|${c.regionName}|${c.region}`;
      const hit = state.fragments.get(c.id);
      if (hit && hit.key === key) return hit.html;
      changed = true;
      const html = renderHistoryFragment(c, h);
      state.fragments.set(c.id, { key, html });
      return html;
    });
    const path = historyPath(service);
    const pageKey = `${m.title}|${m.historyDays}|${m.staleAfterMs}|${comps.map((c) => c.id).join(',')}`;
    if (changed) state.pages.delete(path);
    const stableKey = hashOf(`${pageKey}|${comps.map((c) => `${c.regionName}:${m.history?.get(c.id)?.pastKey ?? 'none'}`).join(',')}`);
    files.push({ path, content: cached(state, path, pageKey, () => renderHistoryPage(m, service, frags)), live: false, stableKey });
  }
  return files;
}

export interface WriteResult {
  files: number;
  written: number;
  unchanged: number;
  /** Bytes of every file of the site, and of the ones written this time. */
  bytes: number;
  bytesWritten: number;
}

const MANIFEST = '.etape-build.json';

function hashOf(s: string): string {
  return createHash('sha1').update(s).digest('base64');
}

export function fillGeneratedAt(content: string, at: number): string {
  const iso = isoTime(at);
  const text = humanTime(at);
  return content.split(GENERATED_AT_ISO).join(iso).split(GENERATED_AT_TEXT).join(text);
}

/**
 * Writes the files that changed. `refreshAfterMs`: a file whose content did not change is still rewritten
 * (with the new generated_at) once its last write is older than this.
 */
export async function writeSite(
  outDir: string,
  files: SiteFile[],
  now: number,
  state: BuildState,
  refreshAfterMs: number,
): Promise<WriteResult> {
  await mkdir(outDir, { recursive: true });
  if (!state.manifestLoaded) {
    state.manifestLoaded = true;
    try {
      const raw = JSON.parse(await readFile(join(outDir, MANIFEST), 'utf8')) as Record<string, { hash: string; writtenAt: number }>;
      for (const [p, v] of Object.entries(raw)) if (!state.files.has(p)) state.files.set(p, v);
    } catch {
      // No manifest yet (or an unreadable one): everything is written.
    }
  }
  const r: WriteResult = { files: files.length, written: 0, unchanged: 0, bytes: 0, bytesWritten: 0 };
  const dirs = new Map<string, Promise<unknown>>();
  const tmpSuffix = `.tmp-${process.pid}`;
  // The front page goes last, so it never links to a file not yet written.
  const ordered = [...files.filter((f) => f.path !== 'index.html'), ...files.filter((f) => f.path === 'index.html')];
  const jobs: Promise<void>[] = [];
  for (const f of ordered) {
    const prev = state.files.get(f.path);
    const size = Buffer.byteLength(f.content);
    r.bytes += size;
    const same = state.lastContent.get(f.path) === f.content;
    const young = prev !== undefined && now - prev.writtenAt < refreshAfterMs;
    const onlyClockMoved = f.stableKey !== undefined && prev?.stableKey === f.stableKey;
    if (!f.live && prev && young && (same || onlyClockMoved || prev.hash === hashOf(f.content))) {
      r.unchanged++;
      continue;
    }
    const hash = same && prev ? prev.hash : hashOf(f.content);
    state.lastContent.set(f.path, f.content);
    const full = join(outDir, f.path);
    const dir = dirname(full);
    const content = fillGeneratedAt(f.content, now);
    const job = (async () => {
      let made = dirs.get(dir);
      if (!made) dirs.set(dir, (made = mkdir(dir, { recursive: true })));
      await made;
      await writeFile(full + tmpSuffix, content);
      await rename(full + tmpSuffix, full);
    })();
    jobs.push(job);
    if (f.path === 'index.html') await Promise.all(jobs.splice(0));
    else if (jobs.length >= 64) await Promise.all(jobs.splice(0));
    state.files.set(f.path, { hash, writtenAt: now, ...(f.stableKey !== undefined ? { stableKey: f.stableKey } : {}) });
    r.written++;
    r.bytesWritten += size;
  }
  await Promise.all(jobs);
  await writeFile(join(outDir, MANIFEST), JSON.stringify(Object.fromEntries(state.files)));
  return r;
}
