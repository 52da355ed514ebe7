// The page frame every dashboard view shares, and small formatting pieces (times, phases, verdicts).
// Status is always words plus a mark, never colour alone.
import type { Child } from 'hono/jsx';
import { formatDuration } from '../core/duration.js';
import type { Session } from './session.js';
import { UI } from './session.js';

export const ASSETS = `${UI}/assets`;

export function utc(t: number | null | undefined): string {
  if (t === null || t === undefined) return '—';
  return new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

export function ago(t: number | null | undefined, now: number): string {
  if (t === null || t === undefined) return '—';
  const d = now - t;
  if (d < 0) return `in ${formatDuration(-d)}`;
  if (d < 1000) return 'just now';
  return `${formatDuration(Math.round(d / 1000) * 1000)} ago`;
}

export function Time(props: { t: number | null | undefined; now?: number }) {
  if (props.t === null || props.t === undefined) return <span>—</span>;
  return (
    <time datetime={new Date(props.t).toISOString()} title={utc(props.t)}>
      {props.now !== undefined ? ago(props.t, props.now) : utc(props.t)}
    </time>
  );
}

const PHASE_MARK: Record<string, string> = {
  pending: '○',
  running: '▶',
  paused: '❚❚',
  completed: '✓',
  halted: '■',
  aborted: '■',
  rolling_back: '↺',
  rolled_back: '↺',
  failed: '✗',
};

export function Phase(props: { phase: string }) {
  return (
    <span class={`phase phase-${props.phase}`}>
      <span aria-hidden="true">{PHASE_MARK[props.phase] ?? '·'} </span>
      {props.phase.replace('_', ' ')}
    </span>
  );
}

const VERDICT_MARK: Record<string, string> = { pass: '✓', fail: '✗', inconclusive: '?', error: '!' };

export function VerdictMark(props: { verdict: string | null | undefined }) {
  const v = props.verdict ?? 'none';
  return (
    <span class={`verdict v-${v}`}>
      <span aria-hidden="true">{VERDICT_MARK[v] ?? '·'} </span>
      {props.verdict ?? 'not judged'}
    </span>
  );
}

export function Bake(props: {
  bake: { accruedMs: number; totalMs: number; leftMs: number; accruing: boolean } | null;
  status?: string | null;
}) {
  const b = props.bake;
  if (!b) return <span>—</span>;
  const pct = Math.round((100 * Math.min(b.accruedMs, b.totalMs)) / b.totalMs);
  const held = props.status === 'baking' && !b.accruing;
  return (
    <span class="bake">
      <progress max={b.totalMs} value={Math.min(b.accruedMs, b.totalMs)} aria-label={`bake ${pct}%`}>
        {pct}%
      </progress>{' '}
      {formatDuration(b.accruedMs)} of {formatDuration(b.totalMs)}
      {b.leftMs > 0 ? `, ${formatDuration(b.leftMs)} left` : ''}
      {held ? ' (held)' : ''}
    </span>
  );
}

export type NavKey = 'rollouts' | 'fleet' | 'incidents' | 'none';

export interface LayoutProps {
  title: string;
  nav: NavKey;
  session?: Session;
  /** URL the live region refreshes from (the page itself); omitted: the page does not follow changes. */
  live?: string;
  /** Which changes refresh it: `rollout:<id>`, `rollouts`, `fleet`, `incidents`. */
  liveTopic?: string;
  /** Refresh on evidence ticks too (charts, fleet health). */
  liveEvidence?: boolean;
  children?: Child;
}

export function Layout(props: LayoutProps) {
  const s = props.session;
  const link = (key: NavKey, href: string, label: string) => (
    <a href={href} aria-current={props.nav === key ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content='{"history":false,"includeIndicatorCSS":false}' />
        <title>{`${props.title} · etape`}</title>
        <link rel="stylesheet" href={`${ASSETS}/dashboard.css`} />
        {s ? <link rel="stylesheet" href={`${ASSETS}/uPlot.min.css`} /> : null}
        {s ? <script src={`${ASSETS}/htmx.min.js`} defer></script> : null}
        {s ? <script src={`${ASSETS}/uPlot.iife.min.js`} defer></script> : null}
        {s ? <script src={`${ASSETS}/dashboard.js`} defer></script> : null}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">etape</span>
          {s ? (
            <nav aria-label="Main">
              {link('rollouts', `${UI}/rollouts`, 'Rollouts')}
              {link('fleet', `${UI}/fleet`, 'Fleet')}
              {link('incidents', `${UI}/incidents`, 'Incidents')}
            </nav>
          ) : null}
          {s ? (
            <form class="who" method="post" action={`${UI}/signout`}>
              <span>
                {s.principal.name} ({s.principal.role})
              </span>
              <input type="hidden" name="csrf" value={s.csrf} />
              <button type="submit" class="link">
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main id="main">
          <div
            id="live"
            data-live-topic={props.live ? (props.liveTopic ?? 'all') : undefined}
            data-live-evidence={props.live && props.liveEvidence ? 'true' : undefined}
            hx-get={props.live}
            hx-trigger={props.live ? 'etape:refresh' : undefined}
            hx-swap={props.live ? 'innerMorph' : undefined}
          >
            {props.children}
          </div>
        </main>
        {props.live ? (
          <footer>
            <p id="live-state" role="status">
              Live updates need JavaScript; reload to see changes.
            </p>
          </footer>
        ) : null}
      </body>
    </html>
  );
}

/** Hidden CSRF field for a form. */
export function Csrf(props: { session: Session }) {
  return <input type="hidden" name="csrf" value={props.session.csrf} />;
}
