// The dashboard's views: rollouts, one rollout, fleet, incidents, confirmations and sign-in. Each takes a
// view model from model.ts and returns the content of the live region (the layout wraps it).
import { formatDuration } from '../core/duration.js';
import type { ActionOffer } from './actions.js';
import { Bake, Csrf, Phase, Time, utc, VerdictMark } from './layout.js';
import type { FleetView, GateEvidence, IncidentsView, RolloutDetail, RolloutListView, RolloutRow } from './model.js';
import type { Session } from './session.js';
import { UI } from './session.js';

const enc = encodeURIComponent;
export const rolloutHref = (id: string) => `${UI}/rollouts/${enc(id)}`;

function Versions(props: { row: RolloutRow }) {
  return (
    <span class="ver">
      {props.row.forceOf ? `force of ${props.row.forceOf}: ` : ''}
      {props.row.fromVersion ?? '?'} → <strong>{props.row.version}</strong>
    </span>
  );
}

export function RolloutsView(props: { view: RolloutListView; now: number; paged: boolean; pageUrl: (before: string | null) => string }) {
  const v = props.view;
  return (
    <>
      <h1>Rollouts</h1>
      <form class="filters" method="get" action={`${UI}/rollouts`}>
        <label>
          Service{' '}
          <select name="service">
            <option value="">all services</option>
            {v.services.map((s) => (
              <option value={s} selected={s === v.query.service}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Phase{' '}
          <select name="phase">
            <option value="">any phase</option>
            {v.phases.map((p) => (
              <option value={p} selected={p === v.query.phase}>
                {p.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {v.rows.length === 0 ? (
        <p class="empty">No rollouts{v.query.service || v.query.phase ? ' match this filter' : ' yet'}.</p>
      ) : (
        <div class="scroll">
          <table class="rollouts">
            <caption class="sr">Rollouts, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Rollout</th>
                <th scope="col">Service</th>
                <th scope="col">Version</th>
                <th scope="col">Phase</th>
                <th scope="col">Wave</th>
                <th scope="col">Bake</th>
                <th scope="col">Waits for</th>
                <th scope="col">Started by</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {v.rows.map((r) => (
                <tr data-rollout={r.id} data-phase={r.phase}>
                  <td>
                    <a href={rolloutHref(r.id)}>{r.id}</a>
                  </td>
                  <td>{r.service}</td>
                  <td>
                    <Versions row={r} />
                  </td>
                  <td>
                    <Phase phase={r.phase} />
                  </td>
                  <td class="wave">{r.wave !== null ? `${r.wave} of ${r.waves}` : '—'}</td>
                  <td>{r.active ? <Bake bake={r.bake} status={r.waveStatus} /> : '—'}</td>
                  <td class="waits">{r.waitsFor}</td>
                  <td>{r.createdBy}</td>
                  <td>
                    <Time t={r.createdAt} now={props.now} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {v.next || props.paged ? (
        <nav class="pages" aria-label="Pages">
          {props.paged ? <a href={props.pageUrl(null)}>Newest rollouts</a> : null}
          {props.paged && v.next ? ' · ' : null}
          {v.next ? (
            <a href={props.pageUrl(v.next)} rel="next">
              Older rollouts
            </a>
          ) : null}
        </nav>
      ) : null}
    </>
  );
}

export function ActionButtons(props: { rolloutId: string; actions: ActionOffer[] }) {
  if (props.actions.length === 0) return null;
  return (
    <ul class="actions" aria-label="Actions">
      {props.actions.map((a) => (
        <li>
          <a
            class={`button${a.danger ? ' danger' : ''}`}
            href={`${rolloutHref(props.rolloutId)}/confirm/${a.name}${a.target ? `?target=${enc(a.target)}` : ''}`}
          >
            {a.label}…
          </a>
        </li>
      ))}
    </ul>
  );
}

function Chart(props: { gate: GateEvidence }) {
  const g = props.gate;
  const withPoints = g.series.filter((s) => s.points.length > 0);
  if (withPoints.length === 0) return <p class="empty">No measurements yet for this wave.</p>;
  const data = {
    unit: g.unit,
    series: withPoints.map((s) => ({
      label: s.target,
      points: s.points.map((p) => [p.at, p.value, p.verdict === 'pass' ? 0 : p.verdict === 'fail' ? 1 : p.verdict === 'error' ? 2 : 3]),
    })),
  };
  const what = g.unit === 'ms' ? 'probe latency (ms)' : g.unit === 'score' ? 'judge score (0 to 100)' : 'metric value';
  return (
    <figure class="chart-box">
      <div
        class="chart"
        data-chart={JSON.stringify(data)}
        role="img"
        aria-label={`${g.name}: ${what} over time for ${withPoints.length} target${withPoints.length === 1 ? '' : 's'}; the table below has the figures`}
      ></div>
      <figcaption>
        {what} over time, wave {g.wave}; failed and errored measurements are marked
      </figcaption>
    </figure>
  );
}

function EvidenceTable(props: { gate: GateEvidence; now: number }) {
  const g = props.gate;
  return (
    <table class="evidence">
      <caption class="sr">Evidence of gate {g.name} per target</caption>
      <thead>
        <tr>
          <th scope="col">Target</th>
          <th scope="col">Measurements</th>
          <th scope="col">Pass</th>
          <th scope="col">Fail</th>
          <th scope="col">Error</th>
          <th scope="col">{g.unit === 'ms' ? 'Latency, newest' : g.unit === 'score' ? 'Score, newest' : 'Value, newest'}</th>
          <th scope="col">{g.unit === 'ms' ? 'Latency, max' : 'Lowest'}</th>
          <th scope="col">Newest</th>
        </tr>
      </thead>
      <tbody>
        {g.series.map((s) => {
          const last = s.points[s.points.length - 1];
          const vals = s.points.map((p) => p.value).filter((x): x is number => x !== null);
          const count = (v: string) => s.points.filter((p) => p.verdict === v).length;
          const fmt = (x: number | null | undefined) =>
            x === null || x === undefined ? '—' : g.unit === 'ms' ? `${Math.round(x)} ms` : `${Math.round(x * 1000) / 1000}`;
          return (
            <tr>
              <th scope="row">{s.target}</th>
              <td>{s.points.length}</td>
              <td>{count('pass')}</td>
              <td>{count('fail')}</td>
              <td>{count('error')}</td>
              <td>{fmt(last?.value)}</td>
              <td>{vals.length ? fmt(g.unit === 'ms' ? Math.max(...vals) : Math.min(...vals)) : '—'}</td>
              <td>
                {last ? (
                  <>
                    <VerdictMark verdict={last.verdict} /> <Time t={last.at} now={props.now} />
                    {last.detail ? <span class="detail"> {last.detail}</span> : null}
                  </>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const STAGE_WORD: Record<string, string> = {
  waiting: 'waits its turn',
  in_flight: 'going back',
  proving: 'back, awaiting a passing probe',
  back: 'back and proven',
  failed: 'rollback failed',
  held: 'held on the new version',
};

export function RolloutView(props: {
  d: RolloutDetail;
  now: number;
  actions: ActionOffer[];
  targetActions: Map<string, ActionOffer[]>;
  notice?: string;
}) {
  const { d, now } = props;
  const r = d.row;
  return (
    <>
      <p class="crumbs">
        <a href={`${UI}/rollouts`}>Rollouts</a> / {r.id}
      </p>
      <h1>
        {r.service} <Versions row={r} />
      </h1>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <dl class="facts" id="facts">
        <div>
          <dt>Phase</dt>
          <dd data-phase={r.phase}>
            <Phase phase={r.phase} />
          </dd>
        </div>
        <div>
          <dt>Wave</dt>
          <dd>{r.wave !== null ? `${r.wave} of ${r.waves}` : '—'}</dd>
        </div>
        <div>
          <dt>Waits for</dt>
          <dd>{r.waitsFor}</dd>
        </div>
        <div>
          <dt>Started by</dt>
          <dd>
            {r.createdBy}, <Time t={r.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Id</dt>
          <dd>
            <code>{r.id}</code>
          </dd>
        </div>
      </dl>
      {r.pausedBy ? <p class="notice">Paused by {r.pausedBy}.</p> : null}
      {r.stop ? (
        <p class={`stop stop-${r.stop.kind}`} id="stop">
          <strong>{r.stop.kind === 'abort' ? 'Aborted' : 'Halted'}</strong> by {r.stop.by} at {utc(r.stop.at)}: {r.stop.reason}
        </p>
      ) : null}
      {d.freeze.length ? (
        <ul class="freeze">
          {d.freeze.map((f) => (
            <li>
              {f.now ? 'Freeze now' : 'Freeze ahead'}: {utc(f.start)} to {utc(f.end)}
              {f.reason ? ` (${f.reason})` : ''}: no wave starts inside it.
            </li>
          ))}
        </ul>
      ) : null}
      <ActionButtons rolloutId={r.id} actions={props.actions} />

      <h2>Waves</h2>
      <ol class="timeline" aria-label="Waves in order">
        {d.waves.map((w) => (
          <li class={`wave-item w-${w.label.replace(/ /g, '-')}`} data-wave={w.index} data-status={w.status}>
            <h3>
              Wave {w.index}: <span class="wlabel">{w.label}</span>
            </h3>
            <p>
              {w.regions.join(', ')} · {w.targets} target{w.targets === 1 ? '' : 's'}
              {w.approval ? (w.approvedBy ? ` · approved by ${w.approvedBy}` : ' · needs approval') : ''}
            </p>
            <p>
              <Bake bake={w.bake} status={r.active ? w.status : null} />
            </p>
            {w.startedAt ? (
              <p class="small">
                started {utc(w.startedAt)}
                {w.verifiedAt ? `, verified ${utc(w.verifiedAt)}` : ''}
              </p>
            ) : null}
            {w.verdicts.length ? (
              <ul class="verdicts">
                {w.verdicts.map((v) => (
                  <li>
                    {v.gate}: <VerdictMark verdict={v.verdict} />
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ol>

      {d.rollback ? (
        <>
          <h2>Rollback</h2>
          <p>
            Began {utc(d.rollback.startedAt)}
            {d.rollback.round > 1 ? `, round ${d.rollback.round}` : ''}. Targets go back in this order: failing ones first, and a region's
            pair partner only once the region passes on the old version.
          </p>
          <div class="scroll">
            <table class="rollback">
              <caption class="sr">Rollback order</caption>
              <thead>
                <tr>
                  <th scope="col">Order</th>
                  <th scope="col">Target</th>
                  <th scope="col">Stage</th>
                  <th scope="col">When it rolled back</th>
                  <th scope="col">Why</th>
                </tr>
              </thead>
              <tbody>
                {d.rollback.targets.map((t, i) => (
                  <tr data-rollback-target={t.id} data-stage={t.stage}>
                    <td>{i + 1}</td>
                    <th scope="row">{t.id}</th>
                    <td>
                      {STAGE_WORD[t.stage] ?? t.stage}
                      {t.failing ? ' · was failing' : ''}
                      {t.hung ? ' · hung, forced' : ''}
                    </td>
                    <td>
                      {t.backAt ? `back ${utc(t.backAt)}` : '—'}
                      {t.provenBackAt ? `, proven ${utc(t.provenBackAt)}` : ''}
                    </td>
                    <td>{[t.waitReason, t.hungReason, t.lastError].filter(Boolean).join('; ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}

      <h2>Gates</h2>
      {d.gates.length === 0 ? <p class="empty">This rollout has no gates.</p> : null}
      {d.gates.map((g) => (
        <section class="gate" data-gate={g.name} data-verdict={g.verdict ?? 'none'} aria-labelledby={`gate-${g.name}`}>
          <h3 id={`gate-${g.name}`}>
            {g.name} <span class="kind">({g.kind})</span> <VerdictMark verdict={g.verdict} />
          </h3>
          <p class="condition">Rule: {g.condition}</p>
          {g.reason ? (
            <p class="reason">
              Wave {g.wave}, <Time t={g.at} now={now} />: {g.reason}
            </p>
          ) : (
            <p class="reason">Not judged yet.</p>
          )}
          {g.judgeMetrics.length ? (
            <>
              <h4>Judge, newest look, per metric (estimate and interval)</h4>
              <ul class="judge">
                {g.judgeMetrics.map((m) => (
                  <li>{m}</li>
                ))}
              </ul>
            </>
          ) : null}
          {g.kind !== 'approval' ? (
            <>
              <Chart gate={g} />
              <EvidenceTable gate={g} now={now} />
            </>
          ) : null}
        </section>
      ))}

      <h2>Targets</h2>
      <div class="scroll">
        <table class="targets">
          <caption class="sr">Targets of the rollout</caption>
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">Wave</th>
              <th scope="col">Status</th>
              <th scope="col">Should run</th>
              <th scope="col">Observed version</th>
              <th scope="col">Last probe</th>
              <th scope="col">Last error</th>
              {props.targetActions.size ? <th scope="col">Action</th> : null}
            </tr>
          </thead>
          <tbody>
            {d.targets.map((t) => (
              <tr data-target={t.id} data-status={t.status}>
                <th scope="row">{t.id}</th>
                <td>{t.wave}</td>
                <td>
                  {t.status.replace('_', ' ')}
                  {t.attempt > 1 ? ` (attempt ${t.attempt})` : ''}
                </td>
                <td>{t.intended ?? '—'}</td>
                <td class="observed">
                  {t.observed ?? 'unknown'}
                  {t.observedBy ? (
                    <span class="detail"> ({t.observedBy === 'etape:observe' ? 'driver observe' : `probe ${t.observedBy}`})</span>
                  ) : null}
                  {t.drift ? (
                    <strong class="drift">
                      {' '}
                      <span aria-hidden="true">⚠</span> drift
                    </strong>
                  ) : null}
                </td>
                <td>
                  {t.lastProbe ? (
                    <>
                      <VerdictMark verdict={t.lastProbe.verdict} />
                      {t.lastProbe.latencyMs !== null ? `, ${Math.round(t.lastProbe.latencyMs)} ms` : ''},{' '}
                      <Time t={t.lastProbe.at} now={now} />
                      {t.lastProbe.verdict !== 'pass' && t.lastProbe.detail ? <span class="detail"> {t.lastProbe.detail}</span> : null}
                    </>
                  ) : (
                    'none'
                  )}
                </td>
                <td>{t.lastError ?? ''}</td>
                {props.targetActions.size ? (
                  <td>
                    <ActionButtons rolloutId={r.id} actions={props.targetActions.get(t.id) ?? []} />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Event log</h2>
      {d.olderEvents ? <p class="small">Older events are left out; `etape rollout history {r.id}` has them all.</p> : null}
      <ol class="events" aria-label="Events, oldest first" tabindex={0}>
        {d.events.map((e) => (
          <li data-type={e.type}>
            <time datetime={new Date(e.at).toISOString()}>{utc(e.at)}</time> <code>{e.type}</code> <span class="actor">{e.actor}</span>{' '}
            {e.text}
          </li>
        ))}
      </ol>
    </>
  );
}

export function ConfirmView(props: { rolloutId: string; action: ActionOffer; session: Session; error?: string }) {
  const a = props.action;
  return (
    <>
      <p class="crumbs">
        <a href={`${UI}/rollouts`}>Rollouts</a> / <a href={rolloutHref(props.rolloutId)}>{props.rolloutId}</a> / {a.label}
      </p>
      <h1>
        {a.label}: {props.rolloutId}?
      </h1>
      {props.error ? (
        <p class="stop" role="alert">
          {props.error}
        </p>
      ) : null}
      <p class="consequence" id="consequence">
        {a.consequence}
      </p>
      <form method="post" action={`${rolloutHref(props.rolloutId)}/actions/${a.name}`}>
        <Csrf session={props.session} />
        {a.target ? <input type="hidden" name="target" value={a.target} /> : null}
        {a.reason ? (
          <p>
            <label for="reason">Reason (kept in the event log)</label>
            <br />
            <input id="reason" name="reason" type="text" maxlength={1000} size={60} />
          </p>
        ) : null}
        <p>
          <button type="submit" class={a.danger ? 'danger' : 'primary'}>
            {a.label}
            {a.target ? '' : ` rollout`}
          </button>{' '}
          <a href={rolloutHref(props.rolloutId)}>Cancel</a>
        </p>
      </form>
    </>
  );
}

const STATUS_WORD: Record<string, string> = {
  operational: 'operational',
  under_maintenance: 'maintenance',
  degraded_performance: 'degraded',
  unknown: 'unknown',
  partial_outage: 'partial outage',
  major_outage: 'major outage',
};

export function FleetView(props: { view: FleetView; now: number }) {
  const v = props.view;
  return (
    <>
      <h1>Fleet</h1>
      <p>
        What each region runs, per service, from the newest probe answers; health as the status page computes it. Generated{' '}
        {utc(v.generatedAt)}.
      </p>
      {v.freezes.length ? (
        <ul class="freeze">
          {v.freezes.map((f) => (
            <li>
              <strong>{f.now ? 'Freeze now' : 'Freeze ahead'}</strong>: {utc(f.start)} to {utc(f.end)}
              {f.reason ? ` (${f.reason})` : ''}: no wave starts inside it.
            </li>
          ))}
        </ul>
      ) : (
        <p class="small">No freeze window in the config now or ahead.</p>
      )}
      {v.held.length ? (
        <ul class="freeze" aria-label="Freezes in force">
          {v.held.map((f) => (
            <li data-freeze={f.id}>
              <strong>Frozen</strong> {f.scope === 'global' ? 'everywhere' : `${f.scope} ${f.value ?? ''}`} by {f.by} since {utc(f.at)}
              {f.reason ? `: ${f.reason}` : ''}. No wave starts there until it is lifted.
            </li>
          ))}
        </ul>
      ) : null}
      <div class="scroll">
        <table class="fleet">
          <caption class="sr">Services by region</caption>
          <thead>
            <tr>
              <th scope="col">Region</th>
              <th scope="col">Pairs with</th>
              {v.services.map((s) => (
                <th scope="col">{s}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {v.regions.map((r) => (
              <tr id={`region-${r.id}`}>
                <th scope="row">
                  {r.name}
                  {r.canary ? <span class="tag"> canary</span> : null}
                  <span class="small"> {r.geography}</span>
                </th>
                <td>
                  {r.pairs.length
                    ? r.pairs.map((p, i) => (
                        <>
                          {i > 0 ? ', ' : ''}
                          <a href={`#region-${p}`}>{p}</a>
                        </>
                      ))
                    : '—'}
                </td>
                {v.services.map((s) => {
                  const c = v.cells.get(`${s}/${r.id}`);
                  if (!c) return <td class="na">not here</td>;
                  return (
                    <td class={`cell st-${c.status}`} data-component={`${s}/${r.id}`}>
                      <span class="st">{STATUS_WORD[c.status] ?? c.status}</span>
                      <br />
                      {c.versions.length
                        ? c.versions.map((x) => `${x.version}${c.cells > 1 ? ` (${x.cells}/${c.cells})` : ''}`).join(', ')
                        : 'version unknown'}
                      {c.drift ? (
                        <strong class="drift">
                          {' '}
                          <span aria-hidden="true">⚠</span> drift from {c.expected ?? '?'}
                        </strong>
                      ) : null}
                      {c.frozen.length ? (
                        <strong class="frozen">
                          {' '}
                          <span aria-hidden="true">❄</span> frozen
                        </strong>
                      ) : null}
                      {c.rollout ? (
                        <>
                          <br />
                          <a href={rolloutHref(c.rollout.id)} class="small">
                            {c.rollout.version}: wave {c.rollout.wave} {c.rollout.waveStatus.replace('_', ' ')}
                          </a>
                        </>
                      ) : null}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function IncidentsView(props: { view: IncidentsView; now: number; session: Session; canPost: boolean; error?: string }) {
  const v = props.view;
  return (
    <>
      <h1>Incidents</h1>
      {props.error ? (
        <p class="stop" role="alert">
          {props.error}
        </p>
      ) : null}
      <h2>Open</h2>
      {v.open.length === 0 ? <p class="empty">No open incident.</p> : null}
      {v.open.map((i) => (
        <article class="incident" data-incident={i.id} aria-labelledby={`inc-${i.id}`}>
          <h3 id={`inc-${i.id}`}>
            {i.title}{' '}
            {i.overdue ? (
              <strong class="overdue">
                <span aria-hidden="true">⚠</span> update overdue
              </strong>
            ) : null}
          </h3>
          <p>
            {i.kind} · {i.status} · impact {i.impact} · {i.components.join(', ') || 'no component'} · opened {utc(i.createdAt)} ({i.source})
            · last public update <Time t={i.lastUpdateAt} now={props.now} />
            {i.overdue ? `, more than ${formatDuration(v.cadenceMs)} ago` : ''}
          </p>
          <ol class="updates">
            {[...i.updates].reverse().map((u) => (
              <li>
                <time datetime={new Date(u.at).toISOString()}>{utc(u.at)}</time> <strong>{u.status}</strong> ({u.actor}): {u.body}
              </li>
            ))}
          </ol>
          {props.canPost ? (
            <form method="post" action={`${UI}/incidents/${enc(i.id)}/updates`} class="post-update">
              <Csrf session={props.session} />
              <p>
                <label for={`msg-${i.id}`}>Public update</label>
                <br />
                <textarea id={`msg-${i.id}`} name="message" rows={2} cols={60} required></textarea>
              </p>
              <p>
                <label for={`st-${i.id}`}>Status</label>{' '}
                <select id={`st-${i.id}`} name="status">
                  <option value="">keep {i.status}</option>
                  {(i.kind === 'maintenance'
                    ? ['scheduled', 'in_progress', 'verifying', 'completed']
                    : ['investigating', 'identified', 'monitoring', 'resolved']
                  ).map((s) => (
                    <option value={s}>{s.replace('_', ' ')}</option>
                  ))}
                </select>{' '}
                <button type="submit">Post update</button>
              </p>
            </form>
          ) : null}
        </article>
      ))}
      <h2>Recently closed</h2>
      {v.recent.length === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <ul>
          {v.recent.map((i) => (
            <li>
              {i.title}: {i.status}, {utc(i.resolvedAt ?? i.updatedAt)}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function SignInView(props: { error?: string }) {
  return (
    <>
      <h1>Sign in to etape</h1>
      <p>Sign in with an API token from server.tokens in etape.yaml. Viewers see everything; operators can also act.</p>
      {props.error ? (
        <p class="stop" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action={`${UI}/signin`}>
        <p>
          <label for="token">API token</label>
          <br />
          <input id="token" name="token" type="password" autocomplete="current-password" required size={40} />
        </p>
        <p>
          <button type="submit" class="primary">
            Sign in
          </button>
        </p>
      </form>
      <p class="small">The token is kept in a cookie only this dashboard reads (HttpOnly, SameSite=Strict); sign out to remove it.</p>
    </>
  );
}

export function MessageView(props: { title: string; text: string; back?: string }) {
  return (
    <>
      <h1>{props.title}</h1>
      <p>{props.text}</p>
      {props.back ? (
        <p>
          <a href={props.back}>Back</a>
        </p>
      ) : null}
    </>
  );
}
