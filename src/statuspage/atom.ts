// Atom 1.0 feed of incident and maintenance updates, newest first. Its <updated> is the build time.
import { esc } from './html.js';
import { incidentPath, isoTime, type SiteModel } from './model.js';
import { GENERATED_AT_ISO } from './v2.js';

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
      `<id>urn:etape:${m.pageId}:${esc(i.id)}:${esc(u.id)}</id>`,
      `<title>${esc(`[${u.status.replace('_', ' ')}] ${i.title}`)}</title>`,
      `<updated>${isoTime(u.at)}</updated>`,
      `<published>${isoTime(u.at)}</published>`,
      `<link rel="alternate" type="text/html" href="${esc(incidentPath(i.id))}"/>`,
      `<category term="${i.impact}" label="impact ${i.impact}"/>`,
      `<summary type="text">${esc(`${what} ${u.status.replace('_', ' ')}; impact ${i.impact}; affects ${i.components.join(', ') || 'no component named'}.`)}</summary>`,
      `<content type="text">${esc(u.body)}</content>`,
      '</entry>',
    );
  }
  lines.push('</feed>', '');
  return lines.join('\n');
}
