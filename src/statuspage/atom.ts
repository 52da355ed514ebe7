// Atom 1.0 feed of incident and maintenance updates, newest first. Its <updated> is the build time.
import { esc } from './html.js';
import { humanTime, incidentPath, isoTime, type SiteModel } from './model.js';
import { GENERATED_AT_ISO } from './v2.js';
import { creditSentences, measuredSentence } from '../sla/incident-impact.js';
import type { IncidentRecord, IncidentUpdate } from '../store/store.js';

/**
 * An entry's text: the update, and for the update that resolved an incident, what was measured and what it
 * means under the SLA; for the postmortem, its text.
 */
function entryText(m: SiteModel, i: IncidentRecord, u: IncidentUpdate): string {
  const parts = [u.body];
  if (i.kind === 'maintenance' && i.scheduledFor !== null && i.scheduledUntil !== null)
    parts.push(`Maintenance window: ${humanTime(i.scheduledFor)} to ${humanTime(i.scheduledUntil)}.`);
  const impact = m.impacts?.get(i.id);
  const closing = i.updates.find((x) => x.status === 'resolved');
  if (impact && closing?.id === u.id) parts.push(measuredSentence(impact), ...creditSentences(impact));
  if (
    u.status === 'postmortem' &&
    typeof i.data.postmortem === 'string' &&
    i.data.postmortem.trim() &&
    i.data.postmortem.trim() !== u.body.trim()
  )
    parts.push(i.data.postmortem.trim());
  return parts.join('\n\n');
}

/** `window 2026-11-26 02:00 UTC to 2026-11-26 04:00 UTC; ` for maintenance with an announced window, else ''. */
function windowText(i: IncidentRecord): string {
  if (i.kind !== 'maintenance' || i.scheduledFor === null || i.scheduledUntil === null) return '';
  return `window ${humanTime(i.scheduledFor)} to ${humanTime(i.scheduledUntil)}; `;
}

export function renderAtom(m: SiteModel, maxEntries = 100): string {
  const base = m.url ? `${m.url}/` : '';
  const entries = m.incidents
    .flatMap((i) => i.updates.map((u) => ({ i, u })))
    .sort((a, b) => b.u.at - a.u.at)
    .slice(0, maxEntries);
  const id = m.url ? `${m.url}/feed.atom` : `urn:etape:status:${m.pageId}`;
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom"${base ? ` xml:base="${esc(base)}"` : ''}>`,
    `<id>${esc(id)}</id>`,
    `<title>${esc(m.title)}: incident updates</title>`,
    `<updated>${GENERATED_AT_ISO}</updated>`,
    `<author><name>${esc(m.title)}</name></author>`,
    `<link rel="alternate" type="text/html" href="index.html"/>`,
    `<link rel="self" type="application/atom+xml" href="feed.atom"/>`,
    '<generator>etape</generator>',
  ];
  for (const { i, u } of entries) {
    const what = i.kind === 'maintenance' ? 'Maintenance' : 'Incident';
    lines.push(
      '<entry>',
      // Named by the update alone (its id carries the incident's), so renaming the page keeps every entry.
      `<id>urn:etape:update:${esc(u.id)}</id>`,
      `<title>${esc(`[${u.status.replace('_', ' ')}] ${i.title}`)}</title>`,
      `<updated>${isoTime(u.at)}</updated>`,
      `<published>${isoTime(u.at)}</published>`,
      `<link rel="alternate" type="text/html" href="${esc(incidentPath(i.id))}"/>`,
      `<category term="${i.impact}" label="impact ${i.impact}"/>`,
      `<summary type="text">${esc(`${what} ${u.status.replace('_', ' ')}; ${windowText(i)}impact ${i.impact}; affects ${i.components.join(', ') || 'no component named'}.`)}</summary>`,
      `<content type="text">${esc(entryText(m, i, u))}</content>`,
      '</entry>',
    );
  }
  lines.push('</feed>', '');
  return lines.join('\n');
}
