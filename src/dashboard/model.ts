// The dashboard's view models, read from the store: the one place the web pages get their facts from.
// Pages only format what these functions return; nothing here renders HTML.
import type { Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { EtapeError } from '../core/errors.js';
import { OBSERVE_SOURCE, type Observation, type Verdict } from '../core/types.js';
import { ms } from '../config/common.js';
import type { EtapeConfig } from '../config/schema.js';
import { buildFleet } from '../fleet/fleet.js';
import { ACTIVE_PHASES, PHASES, isActive, isTerminal } from '../rollout/phases.js';
import { bakeLeft, currentWave, type RolloutState, type WaveState } from '../rollout/state.js';
import { loadRolloutState, stateIfValid } from '../rollout/state-schema.js';
import { stageOf, type RollbackStage } from '../rollout/rollback.js';
import { componentsFromConfig, componentStatuses, statusRulesFromConfig, type ComponentStatus } from '../status/status.js';
import { listIncidentsOp, type IncidentView } from '../incidents/service.js';
import { activeFreezes } from '../rollout/freeze-operations.js';
import { verifiedVersions } from '../rollout/operations.js';
import { readDriftMarks } from '../drift/operations.js';
import { holdCovers, type Freeze } from '../linestop/line.js';
import type { EventRecord, RolloutRecord, Store } from '../store/store.js';

export interface DashboardSource {
  store: Store;
  config: EtapeConfig;
  clock: Clock;
}

export const PAGE_SIZE = 50;

export interface BakeView {
  accruedMs: number;
  totalMs: number;
  leftMs: number;
  accruing: boolean;
}

export interface RolloutRow {
  id: string;
  service: string;
  version: string;
  fromVersion: string | null;
  /** A force of one target (`etape target force`), by its id; null for a release. */
  forceOf: string | null;
  phase: string;
  active: boolean;
  /** The wave in progress (or the last one when all are verified), 1-based, and how many there are. */
  wave: number | null;
  waves: number;
  waveStatus: string | null;
  bake: BakeView | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** What the rollout waits for now, in words: "bake: 3m left", "approval of wave 2", "a person: halted". */
  waitsFor: string;
  stop: RolloutState['stop'] | null;
  pausedBy: string | null;
}

function bakeOf(w: WaveState | undefined): BakeView | null {
  if (!w || w.bakeMs <= 0) return null;
  return {
    accruedMs: w.bakeAccruedMs,
    totalMs: w.bakeMs,
    leftMs: bakeLeft(w),
    accruing: w.status === 'baking' && w.lastAccrualAt !== null,
  };
}

/** What a rollout waits for, from its state alone. */
export function waitsFor(s: RolloutState): string {
  const cur = currentWave(s);
  switch (s.phase) {
    case 'pending':
      return 'the controller to start it';
    case 'paused':
      return `a person to resume it (paused by ${s.pausedBy ?? 'someone'})`;
    case 'halted':
      return s.rollbackOnHalt ? 'its rollback to start' : 'a person: halted with rollback off; abort to roll back';
    case 'aborted':
    case 'rolling_back': {
      const n = Object.values(s.targets).filter(
        (t) => t.status === 'rolling_back' || t.status === 'forcing' || t.status === 'deployed',
      ).length;
      return `rollback of ${n} target${n === 1 ? '' : 's'}`;
    }
    case 'failed':
      return 'a person: rollback failed on some target';
    case 'completed':
    case 'rolled_back':
      return 'nothing (ended)';
  }
  if (!cur) return 'the controller to complete it';
  if (cur.status === 'awaiting_approval') return `approval of wave ${cur.index}`;
  if (cur.status === 'waiting') return cur.approval && !cur.approvedBy ? `approval of wave ${cur.index}` : `wave ${cur.index} to start`;
  if (cur.status === 'deploying') {
    const left = cur.targets.filter((id) => s.targets[id]?.status !== 'deployed').length;
    return `deploys to ${left} target${left === 1 ? '' : 's'} of wave ${cur.index}`;
  }
  if (cur.status === 'baking') {
    const approvalGate = cur.gates.find((g) => s.gates[g]?.kind === 'approval');
    if (approvalGate && !cur.approvedBy) return `approval of wave ${cur.index} (gate ${approvalGate})`;
    if (cur.waitingForData) return `data for ${cur.waitingForData}`;
    const failing = cur.verdicts.filter((v) => v.verdict !== 'pass').map((v) => `${v.gate} ${v.verdict}`);
    if (cur.lastAccrualAt === null && failing.length) return `gates to pass (${failing.join(', ')}); bake held`;
    return `bake: ${formatDuration(bakeLeft(cur))} left of ${formatDuration(cur.bakeMs)}`;
  }
  return `wave ${cur.index}`;
}

export function rolloutRow(rec: RolloutRecord): RolloutRow {
  let s: RolloutState;
  try {
    s = loadRolloutState(rec.state, rec.id);
  } catch (e) {
    // One rollout whose stored state does not load shows as such; the list goes on.
    if (!(e instanceof EtapeError)) throw e;
    return invalidRow(rec, e);
  }
  const cur = currentWave(s) ?? s.waves[s.waves.length - 1];
  return {
    id: rec.id,
    service: rec.service,
    version: rec.version,
    fromVersion: s.fromVersion ?? null,
    forceOf: s.force ? (s.waves[0]?.targets[0] ?? null) : null,
    phase: rec.phase,
    active: isActive(rec.phase),
    wave: cur?.index ?? null,
    waves: s.waves.length,
    waveStatus: cur?.status ?? null,
    bake: bakeOf(cur),
    createdBy: s.createdBy,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    waitsFor: waitsFor(s),
    stop: s.stop ?? null,
    pausedBy: s.pausedBy ?? null,
  };
}

function invalidRow(rec: RolloutRecord, e: EtapeError): RolloutRow {
  return {
    id: rec.id,
    service: rec.service,
    version: rec.version,
    fromVersion: null,
    forceOf: null,
    phase: rec.phase,
    active: isActive(rec.phase),
    wave: null,
    waves: 0,
    waveStatus: null,
    bake: null,
    createdBy: '',
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    waitsFor: `a person: ${e.message}`,
    stop: null,
    pausedBy: null,
  };
}

export interface RolloutListQuery {
  service?: string;
  /** A phase, or `active` for every phase with work left. */
  phase?: string;
  /** Cursor from a previous page (`next`). */
  before?: string;
  limit?: number;
}

export interface RolloutListView {
  rows: RolloutRow[];
  /** Cursor of the next page, when there may be one. */
  next: string | null;
  services: string[];
  phases: string[];
  query: { service: string; phase: string };
}

export function encodeCursor(r: { createdAt: number; id: string }): string {
  return `${r.createdAt}~${r.id}`;
}

export function decodeCursor(s: string | undefined): { createdAt: number; id: string } | undefined {
  if (!s) return undefined;
  const m = /^(\d{1,16})~(.{1,128})$/.exec(s);
  return m ? { createdAt: Number(m[1]), id: m[2] } : undefined;
}

/** One page of rollouts, newest first: a keyset page, so page 20 costs what page 1 does. */
export async function rolloutList(src: DashboardSource, q: RolloutListQuery): Promise<RolloutListView> {
  const services = src.config.services.map((s) => s.name);
  const phases = ['active', ...Object.keys(PHASES)];
  const service = q.service && services.includes(q.service) ? q.service : '';
  const phase = q.phase && phases.includes(q.phase) ? q.phase : '';
  const limit = Math.min(Math.max(q.limit ?? PAGE_SIZE, 1), 200);
  const recs = await src.store.listRollouts({
    service: service || undefined,
    phases: phase === 'active' ? [...ACTIVE_PHASES] : phase ? [phase] : undefined,
    before: decodeCursor(q.before),
    limit: limit + 1,
  });
  const page = recs.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page.map(rolloutRow),
    next: recs.length > limit && last ? encodeCursor(last) : null,
    services,
    phases,
    query: { service, phase },
  };
}

// ---------------------------------------------------------------------------------------------------------
// One rollout
// ---------------------------------------------------------------------------------------------------------

export interface WaveView {
  index: number;
  status: string;
  /** How the wave looks on the timeline: its status, or `rolled back` when its targets went back. */
  label: string;
  regions: string[];
  targets: number;
  bake: BakeView | null;
  startedAt: number | null;
  verifiedAt: number | null;
  approval: boolean;
  approvedBy: string | null;
  gates: string[];
  verdicts: { gate: string; kind: string; verdict: Verdict; reason: string; at: number }[];
}

export interface ProbeView {
  at: number;
  verdict: Verdict;
  latencyMs: number | null;
  detail: string | null;
  source: string;
}

export interface TargetView {
  id: string;
  wave: number;
  status: string;
  /** The version this rollout means the target to run now. */
  intended: string | null;
  /** The version the target says it runs (its newest probe answer or driver observation), when known. */
  observed: string | null;
  observedAt: number | null;
  /** Which said so: a probe's name, or `etape:observe` (the driver's observe). */
  observedBy: string | null;
  /** Observed differs from intended while nothing is in flight. */
  drift: boolean;
  lastProbe: ProbeView | null;
  lastError: string | null;
  attempt: number;
}

export interface SeriesPoint {
  at: number;
  value: number | null;
  verdict: Verdict;
  detail?: string;
}

export interface GateEvidence {
  name: string;
  kind: string;
  /** The wave whose verdict and evidence are shown. */
  wave: number | null;
  verdict: Verdict | null;
  reason: string | null;
  at: number | null;
  /** The rule the evidence is judged against, in words. */
  condition: string;
  /** What the chart's values are. */
  unit: 'ms' | 'value' | 'score' | null;
  /** Per target: its measurements of this gate's sources in the shown wave, oldest first. */
  series: { target: string; points: SeriesPoint[] }[];
  /** Judge gates: the newest look's explanation per metric (estimate and interval in words). */
  judgeMetrics: string[];
}

export interface EventView {
  seq: number;
  at: number;
  actor: string;
  type: string;
  text: string;
}

export interface RollbackTargetView {
  id: string;
  stage: RollbackStage;
  /** It was failing when the rollback began (it goes back first); a timeout made it hung (forced at once). */
  failing: boolean;
  hung: boolean;
  hungReason: string | null;
  /** Why it is not going back yet (the pair rule, failing targets first), or why it is held. */
  waitReason: string | null;
  backAt: number | null;
  provenBackAt: number | null;
  lastError: string | null;
}

export interface RollbackView {
  startedAt: number;
  round: number;
  /** In the order the targets go back. */
  targets: RollbackTargetView[];
}

export interface RolloutDetail {
  row: RolloutRow;
  rollback: RollbackView | null;
  state: RolloutState;
  revision: number;
  waves: WaveView[];
  targets: TargetView[];
  gates: GateEvidence[];
  events: EventView[];
  /** Events before the shown ones exist. */
  olderEvents: boolean;
  freeze: { start: number; end: number; reason?: string; now: boolean }[];
}

const EVENT_KEYS = ['wave', 'target', 'gate', 'verdict', 'version', 'attempt', 'reason', 'detail', 'by'];

function eventText(e: EventRecord): string {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of EVENT_KEYS) {
    const v = d[k];
    if (v !== undefined && v !== null && v !== '') parts.push(`${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join(' · ');
}

function waveLabel(s: RolloutState, w: WaveState): string {
  const ts = w.targets.map((id) => s.targets[id]?.status);
  if (ts.length && ts.every((t) => t === 'rolled_back')) return 'rolled back';
  if (ts.some((t) => t === 'rolling_back' || t === 'forcing')) return 'rolling back';
  if (ts.some((t) => t === 'failed')) return 'rollback failed';
  if (w.targets.some((id) => s.targets[id]?.held)) return 'held on the new version';
  if (w.status === 'waiting') return 'planned';
  return w.status.replace('_', ' ');
}

function intendedVersion(s: RolloutState, status: string, from: string | undefined): string | null {
  switch (status) {
    case 'pending':
    case 'rolled_back':
    case 'rolling_back':
    case 'forcing':
    case 'failed':
      return from ?? null;
    default:
      return s.version;
  }
}

/** Targets whose evidence is charted: the wave in progress, or the one that halted. */
const CHART_TARGETS = 8;
const POINTS_PER_SERIES = 240;
const EVENTS_SHOWN = 300;

function focusWave(s: RolloutState): WaveState | undefined {
  const started = s.waves.filter((w) => w.status !== 'waiting' && w.status !== 'awaiting_approval');
  return started[started.length - 1] ?? s.waves[0];
}

function conditionOf(spec: RolloutState['gates'][string]): string {
  const g = spec.config;
  switch (g.kind) {
    case 'probe':
      return `fails after ${g.failAfter} consecutive failed probes of ${g.probe}; ${spec.consecutiveErrorLimit + 1} errors in a row halt`;
    case 'metric':
      return [g.successCondition && `pass when ${g.successCondition}`, g.failureCondition && `fail when ${g.failureCondition}`]
        .filter(Boolean)
        .join('; ');
    case 'judge':
      return `canary vs baseline at ${Math.round(g.confidence * 100)}% confidence; pass at score ${g.passScore}, fail below ${g.marginalScore}`;
    case 'approval':
      return 'a person approves the wave';
  }
  return '';
}

export async function rolloutDetail(src: DashboardSource, id: string): Promise<RolloutDetail | undefined> {
  const rec = await src.store.getRollout(id);
  if (!rec) return undefined;
  const s = loadRolloutState(rec.state, rec.id);
  const now = src.clock.now();
  const end = s.endedAt ?? s.completedAt ?? (isTerminal(rec.phase) ? rec.updatedAt : now);
  // Evidence up to a few seconds past the end: what the last decision saw, and the first answers after it.
  const windowEnd = Math.min(now, end + 5_000) + 1;

  // Newest probe answer per target (any probe of the service), for the observed version and the last probe.
  const latest = await src.store.latestObservations({ service: s.service, since: s.createdAt - 3_600_000 });
  const probeSources = new Set(Object.values(s.gates).flatMap((g) => (g.kind === 'probe' ? g.sources : [])));
  const svc = src.config.services.find((x) => x.name === s.service);
  for (const p of svc?.probes ?? []) probeSources.add(p.name);
  const newest = new Map<string, Observation>();
  const newestVersion = new Map<string, Observation>();
  for (const o of latest) {
    // The driver's observations (`etape:observe`) say which version runs, but are no probe.
    const observe = o.source === OBSERVE_SOURCE;
    if (o.cell === null || (!observe && !probeSources.has(o.source)) || o.at >= windowEnd) continue;
    const key = `${o.region}/${o.cell}`;
    if (!observe && (newest.get(key)?.at ?? -1) < o.at) newest.set(key, o);
    if (o.version !== undefined && (newestVersion.get(key)?.at ?? -1) < o.at) newestVersion.set(key, o);
  }

  const targets: TargetView[] = Object.values(s.targets)
    .sort((a, b) => a.wave - b.wave || (a.id < b.id ? -1 : 1))
    .map((t) => {
      const intended = intendedVersion(s, t.status, t.fromVersion);
      const lp = newest.get(t.id);
      const ov = newestVersion.get(t.id);
      const settled = t.status === 'deployed' || t.status === 'rolled_back' || t.status === 'pending';
      return {
        id: t.id,
        wave: t.wave,
        status: t.status,
        intended,
        observed: ov?.version ?? null,
        observedAt: ov?.at ?? null,
        observedBy: ov?.source ?? null,
        drift: settled && intended !== null && ov?.version !== undefined && ov.version !== intended,
        lastProbe: lp
          ? { at: lp.at, verdict: lp.verdict, latencyMs: lp.latencyMs ?? null, detail: lp.detail ?? null, source: lp.source }
          : null,
        lastError: t.lastError ?? null,
        attempt: t.attempt,
      };
    });

  const focus = focusWave(s);
  const gates: GateEvidence[] = [];
  for (const [name, spec] of Object.entries(s.gates)) {
    // The verdict of the newest wave that judged this gate.
    const judged = [...s.waves].reverse().find((w) => w.verdicts.some((v) => v.gate === name));
    const v = judged?.verdicts.find((x) => x.gate === name);
    const wave = judged ?? (focus && focus.gates.includes(name) ? focus : undefined);
    const series: GateEvidence['series'] = [];
    let judgeMetrics: string[] = [];
    if (wave && spec.kind !== 'approval') {
      const from = wave.startedAt ?? s.createdAt;
      for (const tid of wave.targets.slice(0, CHART_TARGETS)) {
        const t = s.targets[tid];
        if (!t || t.status === 'pending') continue;
        const points: SeriesPoint[] = [];
        for (const source of spec.sources) {
          const obs = await src.store.queryObservations({
            service: s.service,
            region: t.region,
            cell: t.cell,
            source,
            from,
            to: windowEnd,
            order: 'desc',
            limit: POINTS_PER_SERIES,
          });
          for (const o of obs) {
            const value = spec.kind === 'probe' ? (o.latencyMs ?? null) : (o.value ?? null);
            points.push({ at: o.at, value, verdict: o.verdict, ...(o.detail ? { detail: o.detail } : {}) });
          }
        }
        points.sort((a, b) => a.at - b.at);
        series.push({ target: tid, points });
      }
      if (spec.kind === 'judge') {
        const newestLook = series.flatMap((x) => x.points).sort((a, b) => b.at - a.at)[0];
        judgeMetrics = splitJudgeDetail(newestLook?.detail ?? v?.reason ?? '');
      }
    }
    gates.push({
      name,
      kind: spec.kind,
      wave: wave?.index ?? null,
      verdict: v?.verdict ?? null,
      reason: v?.reason ?? null,
      at: v?.at ?? null,
      condition: conditionOf(spec),
      unit: spec.kind === 'probe' ? 'ms' : spec.kind === 'metric' ? 'value' : spec.kind === 'judge' ? 'score' : null,
      series,
      judgeMetrics,
    });
  }

  const evs = await src.store.listEvents({ rolloutId: id });
  const shown = evs.slice(-EVENTS_SHOWN);
  return {
    row: rolloutRow(rec),
    rollback: s.rollback
      ? {
          startedAt: s.rollback.startedAt,
          round: s.rollback.round,
          targets: s.rollback.order
            .filter((tid) => s.targets[tid])
            .map((tid) => {
              const t = s.targets[tid];
              const stage = stageOf(t);
              return {
                id: tid,
                stage,
                failing: !!t.failing,
                hung: !!t.hung,
                hungReason: t.hungReason ?? null,
                waitReason: stage === 'waiting' || stage === 'held' ? (t.waitReason ?? null) : null,
                backAt: t.backAt ?? null,
                provenBackAt: t.provenBackAt ?? null,
                lastError: t.lastError ?? null,
              };
            }),
        }
      : null,
    state: s,
    revision: rec.revision,
    waves: s.waves.map((w) => ({
      index: w.index,
      status: w.status,
      label: waveLabel(s, w),
      regions: w.regions,
      targets: w.targets.length,
      bake: bakeOf(w),
      startedAt: w.startedAt ?? null,
      verifiedAt: w.verifiedAt ?? null,
      approval: w.approval || w.gates.some((g) => s.gates[g]?.kind === 'approval'),
      approvedBy: w.approvedBy ?? null,
      gates: w.gates,
      verdicts: w.verdicts.map((x) => ({ gate: x.gate, kind: x.kind, verdict: x.verdict, reason: x.reason, at: x.at })),
    })),
    targets,
    gates,
    events: shown.map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, type: e.type, text: eventText(e) })),
    olderEvents: evs.length > shown.length,
    freeze: s.freeze.filter((f) => f.end > now).map((f) => ({ ...f, now: f.start <= now && now < f.end })),
  };
}

/** A judge look's reason lists one explanation per metric after a "score …:" or "… evidence …:" lead. */
export function splitJudgeDetail(reason: string): string[] {
  const i = reason.indexOf(': ');
  const rest = i >= 0 ? reason.slice(i + 2) : reason;
  return rest
    .split('; ')
    .map((x) => x.trim())
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------------------
// Fleet
// ---------------------------------------------------------------------------------------------------------

export interface FleetCell {
  service: string;
  region: string;
  status: ComponentStatus;
  reason: string;
  /** Versions the region's cells say they run, with how many cells run each. */
  versions: { version: string; cells: number }[];
  cells: number;
  /** The version the service should run here: the active rollout's where it deployed, else the last verified. */
  expected: string | null;
  /** A cell runs a version that is neither expected nor in flight, or the drift watcher marked one (docs/drift.md). */
  drift: boolean;
  /** Freezes set by people (`etape freeze`, /api/freezes) that cover this service in this region. */
  frozen: Freeze[];
  /** The active rollout touching this region, and its wave's status here. */
  rollout: { id: string; version: string; phase: string; wave: number; waveStatus: string } | null;
}

export interface FleetView {
  services: string[];
  regions: { id: string; name: string; geography: string; canary: boolean; pairs: string[] }[];
  /** `service/region` → cell; absent where the service does not run. */
  cells: Map<string, FleetCell>;
  freezes: { start: number; end: number; reason?: string; now: boolean }[];
  /** Freezes in force, set by people or the line-stop: no wave starts in their scope until lifted. */
  held: Freeze[];
  generatedAt: number;
}

export async function fleetView(src: DashboardSource): Promise<FleetView> {
  const now = src.clock.now();
  const fleet = buildFleet(src.config.fleet);
  const defs = componentsFromConfig(src.config);
  const rules = statusRulesFromConfig(src.config.statuspage.rules);
  const since = now - rules.freshForMs;
  const latest = await src.store.latestObservations({ since });
  const states = componentStatuses(defs, latest, now, rules);
  const byId = new Map(states.map((c) => [c.id, c]));
  const active = await src.store.listRollouts({ phases: [...ACTIVE_PHASES] });
  const lastVerified = new Map<string, Awaited<ReturnType<typeof verifiedVersions>>>();
  for (const svc of src.config.services) lastVerified.set(svc.name, await verifiedVersions(src.store, svc));
  // Per service/region/cell: the newest version any observation reports.
  const cellVersion = new Map<string, { v: string; at: number }>();
  for (const o of latest) {
    if (o.version === undefined || o.cell === null) continue;
    const k = `${o.service}/${o.region}/${o.cell}`;
    if ((cellVersion.get(k)?.at ?? -1) < o.at) cellVersion.set(k, { v: o.version, at: o.at });
  }
  const held = await activeFreezes(src.store);
  // Drift the watcher of `etape serve` found and has not seen end (docs/drift.md), by service/region.
  const drifted = new Set([...(await readDriftMarks(src.store)).marks.values()].map((m) => `${m.service}/${m.region}`));
  const cells = new Map<string, FleetCell>();
  for (const d of defs) {
    const st = byId.get(d.id);
    const counts = new Map<string, number>();
    for (const c of d.cells) {
      const v = cellVersion.get(`${d.service}/${d.region}/${c}`)?.v;
      if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const r = active.find((x) => x.service === d.service);
    let rollout: FleetCell['rollout'] = null;
    const allowed = new Set<string>();
    const verified = lastVerified.get(d.service);
    const base = verified?.version;
    if (base) allowed.add(base);
    // A target forced (`etape target force`) since the last release is verified on the version it was forced to.
    for (const [tid, v] of Object.entries(verified?.targets ?? {})) if (tid.startsWith(`${d.region}/`)) allowed.add(v);
    let expected = base ?? null;
    const s = r && stateIfValid(r.state, r.id);
    if (r && s) {
      const w = s.waves.find((x) => x.regions.includes(d.region));
      if (w) {
        rollout = { id: r.id, version: r.version, phase: r.phase, wave: w.index, waveStatus: w.status };
        allowed.add(r.version);
        for (const tid of w.targets) if (s.targets[tid]?.fromVersion) allowed.add(s.targets[tid].fromVersion!);
        if (w.targets.some((tid) => s.targets[tid]?.status === 'deployed')) expected = r.version;
      }
    }
    const versions = [...counts].map(([version, n]) => ({ version, cells: n })).sort((a, b) => b.cells - a.cells);
    cells.set(d.id, {
      service: d.service,
      region: d.region,
      status: st?.status ?? 'unknown',
      reason: st?.reason ?? 'no evidence',
      versions,
      cells: d.cells.length,
      expected,
      drift: drifted.has(d.id) || (allowed.size > 0 && versions.some((v) => !allowed.has(v.version))),
      frozen: held.filter((f) => holdCovers(f, d.service, [d.region])),
      rollout,
    });
  }
  return {
    services: src.config.services.map((s) => s.name),
    regions: fleet.regions.map((r) => ({
      id: r.id,
      name: r.name,
      geography: r.geography,
      canary: r.canary,
      pairs: [...(fleet.partners.get(r.id) ?? [])].sort(),
    })),
    cells,
    freezes: src.config.policy.freeze
      .map((f) => ({ start: Date.parse(f.start), end: Date.parse(f.end), reason: f.reason }))
      .filter((f) => f.end > now)
      .map((f) => ({ ...f, now: f.start <= now && now < f.end })),
    held,
    generatedAt: now,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Incidents
// ---------------------------------------------------------------------------------------------------------

export interface IncidentsView {
  open: IncidentView[];
  recent: IncidentView[];
  cadenceMs: number;
}

export async function incidentsView(src: DashboardSource): Promise<IncidentsView> {
  const cadenceMs = ms(src.config.statuspage.updateCadence);
  const deps = { store: src.store, clock: src.clock, updateCadenceMs: cadenceMs };
  const open = await listIncidentsOp(deps, { open: true, limit: 100 });
  const all = await listIncidentsOp(deps, { limit: 30 });
  const openIds = new Set(open.map((i) => i.id));
  return { open, recent: all.filter((i) => !openIds.has(i.id)), cadenceMs };
}
