// The human pages: index.html, one page per incident, and the uptime history. Plain semantic HTML that
// tells the truth without JavaScript; the inline script only adds the staleness warning (I6). Status is
// always text plus an icon shape, never colour alone. No external assets.
import type { IncidentRecord } from '../store/store.js';
import { formatDuration } from '../core/duration.js';
import { formatPercent, type DayUptime } from '../sla/availability.js';
import { regionsOf } from '../incidents/lifecycle.js';
import { STATUS_LABEL, worseStatus, type ComponentState, type ComponentStatus } from '../status/status.js';
import {
  activeMaintenances,
  bannerIncidents,
  byGeography,
  byService,
  humanTime,
  incidentPath,
  isoTime,
  shownStatus,
  unresolvedIncidents,
  upcomingMaintenances,
  type SiteModel,
} from './model.js';
import { GENERATED_AT_ISO, GENERATED_AT_TEXT } from './v2.js';
import type { ComponentHistory } from './history.js';
import { creditSentences, measuredSentence, type IncidentImpact } from '../sla/incident-impact.js';

/** `1 region`, `2 regions`. */
const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** One-letter classes keep a 600-component page small; each has a distinct icon shape and a text label. */
export const STATUS_CLASS: Record<ComponentStatus, string> = {
  operational: 'o',
  degraded_performance: 'd',
  partial_outage: 'p',
  major_outage: 'm',
  under_maintenance: 'x',
  unknown: 'u',
};

export const CSS = `*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
a{color:#0550ae}a:focus,summary:focus{outline:3px solid #0550ae;outline-offset:2px}
header,main,footer{max-width:60rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.6rem;margin:1rem 0 .25rem}h2{font-size:1.25rem;margin:1.5rem 0 .5rem}h3{font-size:1.05rem;margin:.75rem 0 0}h3 .st{font-weight:400;margin-left:.5rem}
.skip{position:absolute;left:-99rem}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:2}
.stale{background:#fff1c2;border-bottom:4px solid #9a6700;padding:.75rem 1rem;font-weight:700;font-size:1.1rem}
.stale::before{content:"\\26A0  "}
.banner{background:#ffebe9;border-bottom:4px solid #a40e26;padding:.75rem 1rem}
.banner h2{margin:0;font-size:1.15rem}.banner h2::before{content:"\\2716  "}.banner p{margin:.25rem 0}
.gen{color:#424a53;font-size:.95rem;margin:0 0 1rem}
.now{border:3px solid;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
.now h2{margin:0}
.i::before,li>b::before,.st::before{display:inline-block;width:1.2em;text-align:center;font-weight:700}
.o{--c:#1a7f37}.d{--c:#9a6700}.p{--c:#bc4c00}.m{--c:#cf222e}.x{--c:#0969da}.u{--c:#57606a}
.now{border-color:var(--c)}
.o .i::before,li.o>b::before,.st.o::before{content:"\\2713";color:var(--c)}
.d .i::before,li.d>b::before,.st.d::before{content:"\\25B2";color:var(--c)}
.p .i::before,li.p>b::before,.st.p::before{content:"\\25C6";color:var(--c)}
.m .i::before,li.m>b::before,.st.m::before{content:"\\2716";color:var(--c)}
.x .i::before,li.x>b::before,.st.x::before{content:"\\25A0";color:var(--c)}
.u .i::before,li.u>b::before,.st.u::before{content:"?";color:var(--c)}
.card{border-left:6px solid var(--c,#57606a);padding:.5rem .75rem;margin:.75rem 0;background:#f6f8fa}
.card p{margin:.25rem 0}
ul.cl{list-style:none;padding:0;margin:.25rem 0 .75rem;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:0 1rem}
ul.cl li{padding:.2rem 0;border-bottom:1px solid #d0d7de;display:flex;flex-wrap:wrap;justify-content:space-between;gap:0 .5rem}
ul.cl b{font-weight:600}ul.cl small{flex-basis:100%;color:#424a53}
details{padding:.2rem 0 .4rem;border-bottom:1px solid #d0d7de}summary{cursor:pointer;color:#424a53}
.sum{color:#424a53}
ol.tl{padding-left:1.2rem}ol.tl li{margin:.5rem 0}
.bars{display:flex;gap:1px;align-items:flex-end;height:2.5rem;list-style:none;padding:0;margin:.25rem 0}
.bars li{flex:1;position:relative;background:#1a7f37;height:100%}
.bars .l1{background:#4c9a5a;height:90%}.bars .l2{background:#9a6700;height:70%}.bars .l3{background:#bc4c00;height:50%}
.bars .l4{background:#cf222e;height:30%}.bars .l5{background:repeating-linear-gradient(45deg,#8c959f 0 2px,#fff 2px 4px);height:100%}
.bars .l6{background:#d0d7de;height:15%}
.bars span{position:absolute;left:-99rem;white-space:nowrap}
.bars li:hover span{left:0;bottom:100%;background:#1f2328;color:#fff;padding:.2rem .4rem;z-index:1;font-size:.85rem}
.key span{margin-right:1rem}
table{border-collapse:collapse;margin:.5rem 0}caption{text-align:left;color:#424a53}th,td{padding:.2rem .6rem;text-align:left;border-bottom:1px solid #d0d7de}
footer{color:#424a53;font-size:.9rem;border-top:1px solid #d0d7de;margin-top:2rem;padding:1rem}
@media (max-width:30rem){h1{font-size:1.3rem}ul.cl{grid-template-columns:1fr}}
`;

/**
 * Shows "This status is N minutes old…" once the page is older than data-stale-after, re-checking; and
 * reloads every data-refresh seconds, but only when the page can be fetched again, so a host that went away
 * leaves the (stale, and saying so) page on screen rather than an error.
 */
export const STALE_SCRIPT = `(function(){var b=document.body,g=Date.parse(b.getAttribute('data-generated-at')),s=+b.getAttribute('data-stale-after'),r=+b.getAttribute('data-refresh'),e=document.getElementById('stale');function c(){var a=Date.now()-g;if(!(a>s))return;var m=Math.floor(a/6e4),t=m<120?m+' minute'+(m==1?'':'s'):m<2880?Math.floor(m/60)+' hours':Math.floor(m/1440)+' days';e.textContent='This status is '+t+' old and may not reflect current conditions.';e.hidden=false}c();setInterval(c,15e3);if(r>0&&window.fetch)setInterval(function(){fetch(location.href,{cache:'no-store'}).then(function(x){if(x.ok)location.reload()},function(){})},r*1e3)})();`;

interface PageOpts {
  title: string;
  /** Path from this page to the site root: '' or '../'. */
  root: string;
  staleAfterMs: number;
  /** Seconds between reloads (meta refresh); none for pages that do not change. */
  refreshS?: number;
  banner?: string;
  body: string;
}

function page(o: PageOpts): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${o.refreshS ? `<noscript><meta http-equiv="refresh" content="${o.refreshS}"></noscript>\n` : ''}<meta name="generated_at" content="${GENERATED_AT_ISO}">
<title>${esc(o.title)}</title>
<link rel="alternate" type="application/atom+xml" title="Incident updates" href="${o.root}feed.atom">
<style>${CSS}</style>
</head>
<body data-generated-at="${GENERATED_AT_ISO}" data-stale-after="${o.staleAfterMs}" data-refresh="${o.refreshS ?? 0}">
<div id="stale" class="stale" role="alert" hidden></div>
<a class="skip" href="#main">Skip to content</a>
${o.banner ?? ''}${o.body}
<script>${STALE_SCRIPT}</script>
</body>
</html>
`;
}

function generatedLine(m: SiteModel): string {
  return `<p class="gen">Generated <time datetime="${GENERATED_AT_ISO}">${GENERATED_AT_TEXT}</time>. This page is a snapshot: if that is more than ${formatDuration(m.staleAfterMs)} ago, it may not reflect current conditions.</p>`;
}

function statusText(s: ComponentStatus): string {
  return `<span class="st ${STATUS_CLASS[s]}">${STATUS_LABEL[s]}</span>`;
}

function latestUpdate(i: IncidentRecord) {
  return i.updates[i.updates.length - 1];
}

function regionsText(i: IncidentRecord): string {
  const rs = regionsOf(i);
  return rs.length === 0
    ? 'no region named'
    : `${rs.length} region${rs.length === 1 ? '' : 's'}: ${rs.slice(0, 8).join(', ')}${rs.length > 8 ? ` and ${rs.length - 8} more` : ''}`;
}

const IMPACT_CLASS: Record<string, string> = { none: 'o', minor: 'd', major: 'p', critical: 'm', maintenance: 'x' };

function bannerHtml(m: SiteModel, root: string): string {
  const bs = bannerIncidents(m);
  if (bs.length === 0) return '';
  return bs
    .map((i, k) => {
      const u = latestUpdate(i);
      return `<section class="banner" aria-labelledby="banner-${k}">
<h2 id="banner-${k}">${i.impact === 'critical' || i.impact === 'major' ? 'Major incident' : 'Ongoing incident'}: <a href="${root}${incidentPath(i.id)}">${esc(i.title)}</a></h2>
<p>Affects ${esc(regionsText(i))}. Open for ${formatDuration(Math.max(0, m.generatedAt - i.createdAt))}. Impact: ${i.impact}. Status: ${i.status}.</p>
<p>Latest update (${humanTime(u.at)}): ${esc(u.body)}</p>
</section>
`;
    })
    .join('');
}

function incidentCard(m: SiteModel, i: IncidentRecord, root: string): string {
  const u = latestUpdate(i);
  const st = shownStatus(i, m.generatedAt);
  const when =
    i.kind === 'maintenance' && i.scheduledFor !== null && i.scheduledUntil !== null
      ? `<p>Window: ${humanTime(i.scheduledFor)} to ${humanTime(i.scheduledUntil)}.</p>`
      : `<p>Started ${humanTime(i.createdAt)}; ${esc(regionsText(i))}.</p>`;
  return `<article class="card ${IMPACT_CLASS[i.impact] ?? 'u'}"><h3><a href="${root}${incidentPath(i.id)}">${esc(i.title)}</a></h3>
<p><strong>${esc(st.replace('_', ' '))}</strong> · impact ${i.impact}</p>${when}
<p>${humanTime(u.at)}: ${esc(u.body)}</p></article>
`;
}

export function renderIndex(m: SiteModel): string {
  const h = m.headline;
  const hc = STATUS_CLASS[h.status];
  const open = unresolvedIncidents(m);
  const active = activeMaintenances(m);
  const upcoming = upcomingMaintenances(m);
  const parts: string[] = [];
  parts.push(`<header><h1>${esc(m.title)}</h1>
${generatedLine(m)}</header>
<main id="main">
<section class="now ${hc}" aria-labelledby="h-now"><h2 id="h-now"><span class="i" aria-hidden="true"></span>${esc(h.description)}</h2>
`);
  if (h.noEvidence) {
    parts.push(
      `<p>No probe or metric has reported anything we can show, so the status of every component is unknown. This page never reports a component operational without fresh evidence.</p>\n`,
    );
  } else {
    const c = h.counts;
    const bits = (Object.keys(c) as ComponentStatus[]).filter((s) => c[s] > 0).map((s) => `${c[s]} ${STATUS_LABEL[s].toLowerCase()}`);
    parts.push(`<p class="sum">${m.components.length} components: ${bits.join(', ')}.</p>\n`);
  }
  parts.push('</section>\n');
  parts.push(`<section aria-labelledby="h-inc"><h2 id="h-inc">Active incidents</h2>\n`);
  parts.push(open.length ? open.map((i) => incidentCard(m, i, '')).join('') : '<p>No open incidents.</p>\n');
  parts.push('</section>\n');
  if (active.length || upcoming.length) {
    parts.push(`<section aria-labelledby="h-mnt"><h2 id="h-mnt">Maintenance</h2>\n`);
    parts.push([...active, ...upcoming].map((i) => incidentCard(m, i, '')).join(''));
    parts.push('</section>\n');
  }
  parts.push(`<section aria-labelledby="h-svc"><h2 id="h-svc">Components by service</h2>\n`);
  for (const [service, comps] of byService(m.components)) {
    const worst = comps.reduce<ComponentStatus>((w, c) => worseStatus(w, c.status), 'operational');
    const ok = comps.filter((c) => c.status === 'operational').length;
    parts.push(
      `<h3>${esc(service)} ${statusText(worst)}</h3><details${worst === 'operational' ? '' : ' open'}><summary>${ok} of ${count(comps.length, 'region')} operational</summary>\n<ul class="cl">`,
    );
    for (const c of comps) parts.push(componentItem(c));
    parts.push('</ul></details>\n');
  }
  parts.push('</section>\n');
  parts.push(`<section aria-labelledby="h-geo"><h2 id="h-geo">Components by geography</h2>\n`);
  for (const [geo, comps] of byGeography(m.components)) {
    const worst = comps.reduce<ComponentStatus>((w, c) => worseStatus(w, c.status), 'operational');
    const perService = byService(comps);
    parts.push(
      `<h3>${esc(geo)} ${statusText(worst)}</h3><details${worst === 'operational' ? '' : ' open'}><summary>${count(new Set(comps.map((c) => c.region)).size, 'region')}, ${count(perService.size, 'service')}</summary>\n<ul class="cl">`,
    );
    for (const [service, cs] of perService) {
      const w = cs.reduce<ComponentStatus>((a, c) => worseStatus(a, c.status), 'operational');
      const bad = cs.filter((c) => c.status !== 'operational').map((c) => c.region);
      parts.push(
        `<li class="${STATUS_CLASS[w]}">${esc(service)}<b>${STATUS_LABEL[w]}</b>${bad.length ? `<small>${esc(bad.slice(0, 6).join(', '))}${bad.length > 6 ? ` and ${bad.length - 6} more` : ''}</small>` : ''}</li>`,
      );
    }
    parts.push('</ul></details>\n');
  }
  parts.push('</section>\n');
  if (m.signupUrl) parts.push(signupForm(m));
  parts.push(`<p><a href="history/index.html">Uptime history (${m.historyDays} days)</a> · <a href="incidents/index.html">Past incidents</a> · <a href="feed.atom">Atom feed</a> · <a href="api/v2/summary.json">JSON</a></p>
</main>
<footer><p>Status from fresh probe and metric evidence; a component without it shows Unknown. Generated <time datetime="${GENERATED_AT_ISO}">${GENERATED_AT_TEXT}</time>.</p></footer>`);
  return page({
    title: `${m.title}: ${h.description}`,
    root: '',
    staleAfterMs: m.staleAfterMs,
    refreshS: 60,
    banner: bannerHtml(m, ''),
    body: parts.join(''),
  });
}

/** Email sign-up: a plain form (no JavaScript) posting to etape serve's public endpoint; double opt-in follows. */
function signupForm(m: SiteModel): string {
  const services = [...byService(m.components).keys()];
  const regions = [...new Set(m.components.map((c) => c.region))].sort();
  const opts = (xs: string[], all: string) => `<option value="">${all}</option>` + xs.map((x) => `<option>${esc(x)}</option>`).join('');
  return `<section aria-labelledby="h-sub"><h2 id="h-sub">Get notified</h2>
<form method="post" action="${esc(m.signupUrl!)}"><p><label>Email <input type="email" name="email" required autocomplete="email"></label>
<label>Service <select name="service">${opts(services, 'all services')}</select></label>
<label>Region <select name="region">${opts(regions, 'all regions')}</select></label>
<button type="submit">Subscribe</button></p>
<p class="sum">You will get a confirmation link first; every message has a one-click unsubscribe link. <a href="feed.atom">Atom feed</a> without signing up.</p></form>
</section>
`;
}

function componentItem(c: ComponentState): string {
  return `<li class="${STATUS_CLASS[c.status]}">${esc(c.regionName)}<b>${STATUS_LABEL[c.status]}</b>${c.status === 'operational' ? '' : `<small>${esc(c.reason)}</small>`}</li>`;
}

export function renderIncidentPage(m: SiteModel, i: IncidentRecord): string {
  const comps = new Map(m.components.map((c) => [c.id, c]));
  const st = shownStatus(i, m.generatedAt);
  const open = st !== 'resolved' && st !== 'postmortem' && st !== 'completed';
  const window =
    i.kind === 'maintenance' && i.scheduledFor !== null && i.scheduledUntil !== null
      ? `<p>Window: <time datetime="${isoTime(i.scheduledFor)}">${humanTime(i.scheduledFor)}</time> to <time datetime="${isoTime(i.scheduledUntil)}">${humanTime(i.scheduledUntil)}</time>.</p>\n`
      : '';
  const body = `<header><p><a href="../index.html">${esc(m.title)}</a></p><h1>${esc(i.title)}</h1>
${generatedLine(m)}</header>
<main id="main">
<p><strong>${esc(st.replace('_', ' '))}</strong> · impact ${i.impact} · ${i.kind === 'maintenance' ? 'scheduled maintenance' : `started <time datetime="${isoTime(i.createdAt)}">${humanTime(i.createdAt)}</time>`}${
    i.resolvedAt !== null
      ? ` · ${i.kind === 'maintenance' ? 'completed' : 'resolved'} <time datetime="${isoTime(i.resolvedAt)}">${humanTime(i.resolvedAt)}</time> (after ${formatDuration(i.resolvedAt - i.createdAt)})`
      : open && i.kind === 'incident'
        ? ` · open for ${formatDuration(Math.max(0, m.generatedAt - i.createdAt))}`
        : ''
  }</p>
${window}<section aria-labelledby="h-aff"><h2 id="h-aff">Affected components</h2>
<ul class="cl">${i.components
    .map((id) => {
      const c = comps.get(id);
      return c
        ? `<li class="${STATUS_CLASS[c.status]}">${esc(`${c.service} in ${c.regionName}`)}<b>${STATUS_LABEL[c.status]}</b></li>`
        : `<li class="u">${esc(id)}<b>Unknown</b></li>`;
    })
    .join('')}</ul></section>
${impactHtml(m.impacts?.get(i.id))}${postmortemHtml(i)}<section aria-labelledby="h-tl"><h2 id="h-tl">Updates</h2>
<ol class="tl" reversed>${[...i.updates]
    .reverse()
    .map(
      (u) =>
        `<li><strong>${esc(u.status.replace('_', ' '))}</strong> · <time datetime="${isoTime(u.at)}">${humanTime(u.at)}</time><p>${esc(u.body)}</p></li>`,
    )
    .join('\n')}</ol></section>
</main>
<footer><p>Generated <time datetime="${GENERATED_AT_ISO}">${GENERATED_AT_TEXT}</time>. <a href="../feed.atom">Atom feed</a></p></footer>`;
  return page({ title: `${i.title} · ${m.title}`, root: '../', staleAfterMs: m.staleAfterMs, refreshS: open ? 60 : undefined, body });
}

/** A resolved incident's measurements and what they mean under the SLA (from the SLA report's own lines). */
function impactHtml(impact: IncidentImpact | undefined): string {
  if (!impact) return '';
  const rows = impact.components
    .map(
      (c) =>
        `<tr><th scope="row">${esc(c.id)}</th><td>${esc(c.shown)}</td><td>${c.uptime.downMinutes}</td><td>${c.uptime.unknownMinutes}</td><td>${c.uptime.minutes}</td></tr>`,
    )
    .join('');
  return `<section aria-labelledby="h-meas"><h2 id="h-meas">What was measured</h2>
<p>${esc(measuredSentence(impact))}</p>
<table><caption>Availability over the incident, by the SLA's rules (${c(impact.components[0]?.measure)})</caption><thead><tr><th scope="col">component</th><th scope="col">availability</th><th scope="col">down min</th><th scope="col">no-evidence min</th><th scope="col">counted min</th></tr></thead><tbody>${rows}</tbody></table>
</section>
<section aria-labelledby="h-sla"><h2 id="h-sla">What it means under the SLA</h2>
${creditSentences(impact)
  .map((t) => `<p>${esc(t)}</p>`)
  .join('\n')}
<p>Credits are those of the SLA report for the whole month (<code>etape sla report --month …</code>), from the same evidence: they include any other downtime that month. Nobody needs to file a claim.</p>
</section>
`;
}

function c(measure: string | undefined): string {
  return measure === 'requests' ? 'request error rate per 5 minutes' : 'share of good minutes';
}

/** The postmortem, when one has been published on the incident. */
function postmortemHtml(i: IncidentRecord): string {
  const text = typeof i.data.postmortem === 'string' ? i.data.postmortem : '';
  if (!text.trim()) return '';
  const at = typeof i.data.postmortemPublishedAt === 'number' ? i.data.postmortemPublishedAt : undefined;
  const paras = text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => `<p>${esc(p.trim())}</p>`)
    .join('\n');
  return `<section aria-labelledby="h-pm"><h2 id="h-pm">Postmortem</h2>
${at !== undefined ? `<p class="sum">Published <time datetime="${isoTime(at)}">${humanTime(at)}</time>.</p>\n` : ''}${paras}
</section>
`;
}

export function renderIncidentIndex(m: SiteModel): string {
  const items = m.incidents
    .map(
      (i) =>
        `<li><a href="${encodeURIComponent(i.id)}.html">${esc(i.title)}</a> · ${esc(shownStatus(i, m.generatedAt).replace('_', ' '))} · impact ${i.impact} · <time datetime="${isoTime(i.createdAt)}">${humanTime(i.createdAt)}</time></li>`,
    )
    .join('\n');
  const body = `<header><p><a href="../index.html">${esc(m.title)}</a></p><h1>Incidents and maintenance</h1>
${generatedLine(m)}</header>
<main id="main"><ul>${items || '<li>None in the last ' + m.historyDays + ' days.</li>'}</ul></main>`;
  return page({ title: `Incidents · ${m.title}`, root: '../', staleAfterMs: m.staleAfterMs, body });
}

/** Day class: height and colour both say how bad the day was; the text says the figure. */
function dayClass(d: DayUptime): string {
  if (d.minutes === 0) return 'l6';
  if (d.unknownMinutes === d.minutes) return 'l5';
  const p = d.percent;
  return p >= 100 ? 'l0' : p >= 99.9 ? 'l1' : p >= 99 ? 'l2' : p >= 95 ? 'l3' : 'l4';
}

function dayText(d: DayUptime): string {
  if (d.minutes === 0) return `${d.day}: ${d.unmonitoredMinutes > 0 ? 'not monitored' : 'not counted'}`;
  return `${d.day}: ${formatPercent(d.percent)}${d.unknownMinutes === d.minutes ? ' (no evidence)' : ''}`;
}

/** The figure over the window, and since when it is measured when that is inside the window. */
export function totalText(h: ComponentHistory): string {
  const t = h.total;
  if (t.minutes === 0 && t.unmonitoredMinutes > 0) return 'not monitored yet';
  if (t.unmonitoredMinutes === 0) return `${formatPercent(t.percent)} over ${h.days.length} days`;
  const since = h.measuredSinceMs !== undefined ? humanTime(h.measuredSinceMs) : 'measurement began';
  return `${formatPercent(t.percent)} since ${since}, when monitoring began`;
}

/** One component's bars; cached by the build while its history key is the same. */
export function renderHistoryFragment(c: ComponentState, h: ComponentHistory | undefined): string {
  if (!h) return `<section><h2>${esc(c.regionName)}</h2><p>No history.</p></section>\n`;
  const bars = h.days.map((d) => `<li class="${dayClass(d)}"><span>${dayText(d)}</span></li>`).join('');
  return `<section aria-labelledby="h-${esc(c.region)}"><h2 id="h-${esc(c.region)}">${esc(c.regionName)} <span class="sum">${totalText(h)}</span></h2>
<ol class="bars" aria-label="Daily uptime, oldest first">${bars}</ol></section>
`;
}

export function renderHistoryPage(m: SiteModel, service: string, fragments: string[]): string {
  const body = `<header><p><a href="../index.html">${esc(m.title)}</a> · <a href="index.html">History</a></p><h1>${esc(service)}: uptime, last ${m.historyDays} days</h1>
${generatedLine(m)}</header>
<main id="main">
<p>Daily availability per region, computed from the same evidence and by the same rules as the SLA report. Time without evidence counts as down; announced maintenance is not counted. Hover a day, or read it with a screen reader, for its figure.</p>
<p class="key"><span>Bar height: full = 100%, 90% = at least 99.9%, 70% = at least 99%, 50% = at least 95%, 30% = below 95%; hatched = no evidence all day; low grey = not monitored (before measurement began: neither up nor down).</span></p>
${fragments.join('')}</main>`;
  return page({ title: `${service} history · ${m.title}`, root: '../', staleAfterMs: m.staleAfterMs, body });
}

export function renderHistoryIndex(m: SiteModel): string {
  const items = [...byService(m.components).entries()]
    .map(([service, comps]) => {
      const hs = comps.map((c) => m.history?.get(c.id)).filter((h): h is ComponentHistory => !!h);
      const measured = hs.filter((h) => h.total.minutes > 0);
      const worstM = measured.length ? Math.min(...measured.map((h) => h.total.percent)) : NaN;
      return `<li><a href="${encodeURIComponent(service)}.html">${esc(service)}</a> · ${count(comps.length, 'region')} · lowest region over ${m.historyDays} days: ${measured.length ? formatPercent(worstM) + (measured.some((h) => h.total.unmonitoredMinutes > 0) ? ' (counted since monitoring began)' : '') : hs.length ? 'not monitored yet' : 'no data'}</li>`;
    })
    .join('\n');
  const body = `<header><p><a href="../index.html">${esc(m.title)}</a></p><h1>Uptime history</h1>
${generatedLine(m)}</header>
<main id="main"><ul>${items}</ul></main>`;
  return page({ title: `History · ${m.title}`, root: '../', staleAfterMs: m.staleAfterMs, body });
}
