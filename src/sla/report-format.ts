// The SLA report for people and programs: a terminal table, CSV (one row per customer × unit) and JSON.
// Formatting only: the figures come from buildSlaReport in report.ts.
import type { CreditTier } from '../config/sla.js';
import { describeStart } from './measurement.js';
import type { SlaReport } from './report.js';

function money(x: number | null, currency?: string): string {
  if (x === null) return '-';
  return `${x.toFixed(2)}${currency ? ' ' + currency : ''}`;
}

function iso(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace(':00.000Z', 'Z');
}

function tierText(t: CreditTier | undefined): string {
  return t ? `<${t.below}% → ${t.credit}%` : 'met';
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The report as text for a terminal. */
export function formatSlaTable(r: SlaReport): string {
  const out: string[] = [];
  out.push(
    `SLA report ${r.period.label} (${iso(r.period.fromMs)} to ${iso(r.period.toMs)}, UTC)` +
      (r.complete ? '' : ' — period not over: later minutes not counted yet'),
  );
  out.push('');
  out.push('Availability');
  const counted = (fromMs: number) => (fromMs <= r.period.fromMs ? 'month start' : fromMs >= r.period.toMs ? 'never' : iso(fromMs));
  const rows = [
    ['unit', 'measure', 'availability', 'objective', 'tier', 'counted from', 'down min', 'no-evidence min', 'maint. min', 'incidents'],
  ];
  for (const u of r.units)
    rows.push([
      u.id,
      u.measure,
      u.shown,
      `${u.objective}%`,
      u.uptime.minutes === 0 ? '-' : tierText(u.tier),
      counted(u.countedFromMs),
      String(u.uptime.downMinutes),
      String(u.uptime.unknownMinutes),
      String(u.uptime.maintenanceMinutes),
      u.incidents.join(',') || '-',
    ]);
  out.push(table(rows));
  const singles = r.units.filter((u) => u.regions.length === 1);
  const late = singles.filter((u) => u.measuredSince && u.countedFromMs > r.period.fromMs && u.countedFromMs < r.period.toMs);
  const never = singles.filter((u) => u.measuredSince === null);
  if (singles.some((u) => u.measuredSince !== undefined)) {
    out.push(
      '',
      "Counting starts at the later of the month's start, the customer's contract (customers[].since) and the start of " +
        'measurement (services[].measuredSince, or the first evidence); time before it counts for nobody. After it, time ' +
        'without evidence counts as down unless it falls in maintenance announced in advance.',
    );
    for (const u of late) out.push(`  ${u.id}: measured since ${describeStart(u.measuredSince ?? undefined)}`);
    if (never.length)
      out.push(
        `  Not monitored at all: ${never.length === singles.length ? 'every component' : never.map((u) => u.id).join(', ')}: no evidence ` +
          'stored and no services[].measuredSince, so nothing is counted. If it was meant to be measured, check the store (--store) and ' +
          'that probes are running, or set services[].measuredSince to count the silent time as down.',
      );
  }
  const silent = singles.filter((u) => u.uptime.minutes > 0 && u.uptime.unknownMinutes === u.uptime.minutes);
  if (silent.length)
    out.push(
      '',
      `No evidence at all for ${silent.length === singles.length ? 'any component' : silent.map((u) => u.id).join(', ')} over the counted time: ` +
        'this time counts as down. If that is wrong, check the store (--store) and that probes were running.',
    );
  const notExcluded = r.units.flatMap((u) =>
    u.maintenanceNotExcluded.map((m) => `${u.id}: maintenance ${m.id} not excluded (${m.reason})`),
  );
  if (notExcluded.length) out.push('', ...[...new Set(notExcluded)]);
  out.push('');
  out.push('Credits');
  const crow = [['customer', 'unit', 'availability', 'tier', 'counted from', 'bill share', 'credit']];
  for (const c of r.customers) {
    for (const l of c.lines)
      crow.push([
        c.id,
        l.unit,
        l.shown,
        l.uptime.minutes === 0 ? '-' : tierText(l.tier),
        l.countedFrom === 'contract' ? `${counted(l.countedFromMs)} (contract)` : counted(l.countedFromMs),
        money(l.billShare, c.currency),
        money(l.credit, c.currency),
      ]);
    crow.push([c.id, 'total', '', '', '', '', c.total === null ? (c.owed ? 'owed (no bill known)' : '-') : money(c.total, c.currency)]);
  }
  out.push(table(crow));
  out.push('');
  const totals = Object.entries(r.totals).map(([cur, v]) => money(v, cur || undefined));
  out.push(`Total credits: ${totals.length ? totals.join(' + ') : '0.00'}; customers owed: ${r.customersOwed} of ${r.customers.length}`);
  if (r.incidents.length) {
    out.push('');
    out.push('Incidents behind the downtime');
    out.push(
      table([
        ['incident', 'from', 'to', 'down/unknown min', 'title'],
        ...r.incidents.map((i) => [i.id, iso(i.fromMs), i.toMs === null ? 'open' : iso(i.toMs), String(i.badMinutes), i.title]),
      ]),
    );
  }
  return out.join('\n') + '\n';
}

function csvCell(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per customer line, then one per unit no customer uses (customer empty). */
export function formatSlaCsv(r: SlaReport): string {
  const head = [
    'month',
    'customer',
    'service',
    'regions',
    'measure',
    'availability',
    'availability_exact',
    'tier_below',
    'credit_percent',
    'bill_share',
    'credit',
    'currency',
    'down_minutes',
    'unknown_minutes',
    'maintenance_minutes',
    'incidents',
    'counted_from',
  ];
  const lines = [head.join(',')];
  const unitById = new Map(r.units.map((u) => [u.id, u]));
  const used = new Set<string>();
  for (const c of r.customers)
    for (const l of c.lines) {
      const u = unitById.get(l.unit)!;
      used.add(u.id);
      lines.push(
        [
          r.period.label,
          c.id,
          l.service,
          l.regions.join('+'),
          u.measure,
          l.shown,
          l.percent,
          l.tier?.below,
          l.creditPercent,
          l.billShare,
          l.credit,
          c.currency,
          l.uptime.downMinutes,
          l.uptime.unknownMinutes,
          l.uptime.maintenanceMinutes,
          u.incidents.join(' '),
          new Date(l.countedFromMs).toISOString(),
        ]
          .map(csvCell)
          .join(','),
      );
    }
  for (const u of r.units)
    if (!used.has(u.id))
      lines.push(
        [
          r.period.label,
          '',
          u.service,
          u.regions.join('+'),
          u.measure,
          u.shown,
          u.percent,
          u.tier?.below,
          u.tier?.credit ?? 0,
          '',
          '',
          '',
          u.uptime.downMinutes,
          u.uptime.unknownMinutes,
          u.uptime.maintenanceMinutes,
          u.incidents.join(' '),
          new Date(u.countedFromMs).toISOString(),
        ]
          .map(csvCell)
          .join(','),
      );
  return lines.join('\n') + '\n';
}

/** JSON-friendly form: the exact and shown figures, without typed arrays. */
export function slaReportJson(r: SlaReport): unknown {
  return {
    month: r.period.label,
    from: new Date(r.period.fromMs).toISOString(),
    to: new Date(r.period.toMs).toISOString(),
    complete: r.complete,
    units: r.units.map((u) => ({
      id: u.id,
      service: u.service,
      regions: u.regions,
      measure: u.measure,
      objective: u.objective,
      availability: u.shown,
      availabilityExact: u.percent,
      met: u.met,
      tier: u.tier ?? null,
      measuredSince: u.measuredSince
        ? { at: new Date(u.measuredSince.atMs).toISOString(), source: u.measuredSince.source }
        : (u.measuredSince ?? null),
      countedFrom: new Date(u.countedFromMs).toISOString(),
      minutes: {
        counted: u.uptime.minutes,
        up: u.uptime.upMinutes,
        degraded: u.uptime.degradedMinutes,
        down: u.uptime.downMinutes,
        unknown: u.uptime.unknownMinutes,
        maintenance: u.uptime.maintenanceMinutes,
        future: u.uptime.futureMinutes,
        unmonitored: u.uptime.unmonitoredMinutes,
      },
      requests: { counted: u.uptime.requests, failed: u.uptime.failures, intervals: u.uptime.intervals },
      maintenanceExcluded: u.maintenance.map((m) => ({
        id: m.id ?? null,
        from: new Date(m.fromMs).toISOString(),
        to: new Date(m.toMs).toISOString(),
      })),
      maintenanceNotExcluded: u.maintenanceNotExcluded,
      badPeriods: u.badPeriods.map((p) => ({
        from: new Date(p.fromMs).toISOString(),
        to: new Date(p.toMs).toISOString(),
        state: p.state === 3 ? 'down' : 'unknown',
      })),
      incidents: u.incidents,
    })),
    customers: r.customers.map((c) => ({
      id: c.id,
      name: c.name ?? null,
      currency: c.currency ?? null,
      total: c.total,
      owed: c.owed,
      lines: c.lines.map((l) => ({
        service: l.service,
        regions: l.regions,
        unit: l.unit,
        availability: l.shown,
        tier: l.tier ?? null,
        creditPercent: l.creditPercent,
        billShare: l.billShare,
        credit: l.credit,
        countedFrom: new Date(l.countedFromMs).toISOString(),
        countedFromReason: l.countedFrom,
        minutes: {
          counted: l.uptime.minutes,
          down: l.uptime.downMinutes,
          unknown: l.uptime.unknownMinutes,
          unmonitored: l.uptime.unmonitoredMinutes,
        },
      })),
    })),
    totals: r.totals,
    customersOwed: r.customersOwed,
    incidents: r.incidents.map((i) => ({
      ...i,
      from: new Date(i.fromMs).toISOString(),
      to: i.toMs === null ? null : new Date(i.toMs).toISOString(),
    })),
  };
}
