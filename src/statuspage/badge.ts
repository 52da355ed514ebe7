// An SVG badge per component: "region | status" with an icon shape, so it reads without colour.
import { STATUS_LABEL, type ComponentState, type ComponentStatus } from '../status/status.js';
import { esc } from './html.js';
import { GENERATED_AT_ISO } from './v2.js';

const COLOUR: Record<ComponentStatus, string> = {
  operational: '#1a7f37',
  degraded_performance: '#9a6700',
  partial_outage: '#bc4c00',
  major_outage: '#cf222e',
  under_maintenance: '#0969da',
  unknown: '#57606a',
};
const ICON: Record<ComponentStatus, string> = {
  operational: '\u2713',
  degraded_performance: '\u25B2',
  partial_outage: '\u25C6',
  major_outage: '\u2716',
  under_maintenance: '\u25A0',
  unknown: '?',
};

/** Approximate text width at 11px Verdana-ish; badges only need to be roughly right. */
function width(s: string): number {
  return Math.ceil(s.length * 6.6) + 12;
}

export function renderBadge(c: ComponentState): string {
  const left = `${c.service} ${c.region}`;
  const right = `${ICON[c.status]} ${STATUS_LABEL[c.status].toLowerCase()}`;
  const lw = width(left);
  const rw = width(right);
  const w = lw + rw;
  const label = `${left}: ${STATUS_LABEL[c.status]}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${esc(label)}" data-generated-at="${GENERATED_AT_ISO}">
<title>${esc(label)} (generated ${GENERATED_AT_ISO})</title>
<metadata>generated_at ${GENERATED_AT_ISO}</metadata>
<rect width="${lw}" height="20" fill="#424a53"/><rect x="${lw}" width="${rw}" height="20" fill="${COLOUR[c.status]}"/>
<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="6" y="14">${esc(left)}</text><text x="${lw + 6}" y="14">${esc(right)}</text></g>
</svg>
`;
}
