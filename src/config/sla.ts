// sla and customers: what is promised, to whom, and what is owed when it is missed.
import { z } from 'zod';
import { didYouMean } from '../core/suggest.js';
import { duration, id, instant, ms } from './common.js';

export const creditTierSchema = z.strictObject({
  /** Monthly availability strictly below this percentage earns the credit. */
  below: z.number().min(0).max(100),
  /** Share of the monthly bill credited, in percent. */
  credit: z.number().min(0).max(100),
});

export const slaSchema = z.strictObject({
  service: id(),
  /** `storage`: request-based error rate per 5 minutes; `compute`: minute-based. Fills in measure and tiers. */
  preset: z.enum(['storage', 'compute']).optional(),
  objective: z.number().min(0).max(100).optional(),
  measure: z.enum(['requests', 'minutes']).optional(),
  tiers: z.array(creditTierSchema).optional(),
  /** For geo-redundant offerings: available while either region of a pair is. */
  geoRedundant: z.boolean().default(false),
  /**
   * Maintenance is excluded only when announced at least this long before it starts (default: any time
   * before it starts). A window announced after it started is never excluded.
   */
  maintenanceNotice: duration().optional(),
});

export const customerSchema = z.strictObject({
  id: id(),
  name: z.string().optional(),
  /** Shown next to credit amounts, e.g. EUR. */
  currency: z.string().optional(),
  /** Start of the contract: time before it counts for nobody in this customer's credits (I8). */
  since: instant().optional(),
  uses: z
    .array(
      z.strictObject({
        service: id(),
        regions: z.array(id()).min(1),
        /** Monthly bill for this service across these regions. */
        monthlyBill: z.number().min(0).optional(),
        geoRedundant: z.boolean().optional(),
      }),
    )
    .min(1),
});

export type SlaConfig = z.infer<typeof slaSchema>;
export type CustomerConfig = z.infer<typeof customerSchema>;
export type CreditTier = z.infer<typeof creditTierSchema>;

/**
 * The public shapes the presets model (as the providers published them; check your own contract):
 * - `storage`: object storage, request-based. Error rate = failed / total requests in each 5-minute
 *   interval; monthly uptime = 100% − the mean of those rates. Below 99.9% → 10%, below 99% → 25%,
 *   below 95% → 100% of the monthly bill (the Amazon S3 Standard shape).
 * - `compute`: virtual machines, minute-based: monthly uptime = share of minutes in which the service was
 *   available in the region. Below 99.99% → 10%, below 99% → 30%, below 95% → 100% (the Amazon EC2
 *   region-level shape).
 */
export const SLA_PRESETS = {
  storage: {
    measure: 'requests',
    objective: 99.9,
    tiers: [
      { below: 99.9, credit: 10 },
      { below: 99, credit: 25 },
      { below: 95, credit: 100 },
    ],
  },
  compute: {
    measure: 'minutes',
    objective: 99.99,
    tiers: [
      { below: 99.99, credit: 10 },
      { below: 99, credit: 30 },
      { below: 95, credit: 100 },
    ],
  },
} as const satisfies Record<string, { measure: 'requests' | 'minutes'; objective: number; tiers: readonly CreditTier[] }>;

/** An SLA with its preset applied: everything the report needs. */
export interface ResolvedSla {
  service: string;
  measure: 'requests' | 'minutes';
  objective: number;
  /** Highest threshold first. */
  tiers: CreditTier[];
  geoRedundant: boolean;
  /** Minimum notice for maintenance to be excluded, in ms (0: announced any time before it starts). */
  maintenanceNoticeMs: number;
}

/** Applies the preset; explicit keys win over it. Without preset or measure, minutes and no tiers. */
export function resolveSla(def: SlaConfig): ResolvedSla {
  const preset = def.preset ? SLA_PRESETS[def.preset] : undefined;
  const tiers = (def.tiers ?? preset?.tiers ?? []).map((t) => ({ below: t.below, credit: t.credit }));
  tiers.sort((a, b) => b.below - a.below);
  return {
    service: def.service,
    measure: def.measure ?? preset?.measure ?? 'minutes',
    objective: def.objective ?? preset?.objective ?? (tiers.length > 0 ? tiers[0].below : 100),
    tiers,
    geoRedundant: def.geoRedundant ?? false,
    maintenanceNoticeMs: def.maintenanceNotice ? ms(def.maintenanceNotice) : 0,
  };
}

/**
 * The tier an availability reaches: of the tiers it is strictly below, the one with the largest credit.
 * Undefined when the objective was met (no tier applies).
 */
export function tierFor(percent: number, tiers: readonly CreditTier[]): CreditTier | undefined {
  let best: CreditTier | undefined;
  for (const t of tiers) if (percent < t.below && (best === undefined || t.credit > best.credit)) best = t;
  return best;
}

/** The resolved SLA of a service, if the config defines one. */
export function slaFor(config: { sla: SlaConfig[] }, service: string): ResolvedSla | undefined {
  const def = config.sla.find((s) => s.service === service);
  return def ? resolveSla(def) : undefined;
}

/** Undirected pair graph of the fleet: region -> partners. */
export function pairGraph(fleet: { regions: Array<{ id: string; pair?: string | string[] }> }): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  const add = (a: string, b: string) => {
    let s = g.get(a);
    if (!s) g.set(a, (s = new Set()));
    s.add(b);
  };
  for (const r of fleet.regions) {
    const partners = r.pair === undefined ? [] : Array.isArray(r.pair) ? r.pair : [r.pair];
    for (const p of partners) {
      add(r.id, p);
      add(p, r.id);
    }
  }
  return g;
}

/**
 * How a use of a service is measured: single regions, or pairs for geo-redundant use. Regions of a
 * geo-redundant use whose partner is not in the use stay single. Each unit is billed an equal share.
 */
export function usageUnits(regions: readonly string[], geoRedundant: boolean, pairs: Map<string, Set<string>>): string[][] {
  if (!geoRedundant) return regions.map((r) => [r]);
  const used = new Set<string>();
  const units: string[][] = [];
  for (const r of regions) {
    if (used.has(r)) continue;
    const partner = [...(pairs.get(r) ?? [])].find((p) => regions.includes(p) && !used.has(p) && p !== r);
    used.add(r);
    if (partner !== undefined) {
      used.add(partner);
      units.push([r, partner]);
    } else units.push([r]);
  }
  return units;
}

interface SlaCheckInput {
  fleet: { regions: Array<{ id: string; pair?: string | string[] }> };
  services: Array<{ name: string }>;
  sla: SlaConfig[];
  customers: CustomerConfig[];
}

/** Cross-reference checks of `sla` and `customers`; each problem has a path into etape.yaml. */
export function checkSlaConfig(config: SlaCheckInput): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  const regions = new Set(config.fleet.regions.map((r) => r.id));
  const services = new Set(config.services.map((s) => s.name));
  const slaServices = new Set<string>();
  const pairs = pairGraph(config.fleet);
  config.sla.forEach((s, i) => {
    if (slaServices.has(s.service))
      problems.push({ path: ['sla', i, 'service'], message: `a second SLA for service "${s.service}": keep one per service` });
    slaServices.add(s.service);
    if (services.size > 0 && !services.has(s.service))
      problems.push({
        path: ['sla', i, 'service'],
        message: `no service "${s.service}" under services${didYouMean(s.service, services)}`,
      });
    if (!s.preset && !s.measure)
      problems.push({
        path: ['sla', i],
        message: 'say how it is measured: `preset: storage` or `compute`, or `measure: requests` or `minutes`',
      });
    if (!s.preset && !s.tiers)
      problems.push({ path: ['sla', i], message: 'give credit `tiers` (e.g. [{below: 99.9, credit: 10}]) or a preset' });
    const seen = new Set<number>();
    (s.tiers ?? []).forEach((t, j) => {
      if (seen.has(t.below)) problems.push({ path: ['sla', i, 'tiers', j, 'below'], message: `two tiers below ${t.below}%` });
      seen.add(t.below);
    });
    const sorted = [...(s.tiers ?? [])].sort((a, b) => b.below - a.below);
    for (let k = 1; k < sorted.length; k++)
      if (sorted[k].credit < sorted[k - 1].credit)
        problems.push({
          path: ['sla', i, 'tiers'],
          message: `a lower availability must not earn a smaller credit (below ${sorted[k].below}% gives ${sorted[k].credit}%, below ${sorted[k - 1].below}% gives ${sorted[k - 1].credit}%)`,
        });
  });
  const customerIds = new Set<string>();
  config.customers.forEach((c, i) => {
    if (customerIds.has(c.id)) problems.push({ path: ['customers', i, 'id'], message: `a second customer "${c.id}": ids must be unique` });
    customerIds.add(c.id);
    c.uses.forEach((u, j) => {
      if (!slaServices.has(u.service))
        problems.push({
          path: ['customers', i, 'uses', j, 'service'],
          message: `service "${u.service}" has no SLA: add one under sla${didYouMean(u.service, slaServices)}`,
        });
      u.regions.forEach((r, k) => {
        if (!regions.has(r))
          problems.push({
            path: ['customers', i, 'uses', j, 'regions', k],
            message: `no region "${r}" in the fleet${didYouMean(r, regions)}`,
          });
      });
      // Only a use that asks for geo-redundancy itself must be made of pairs; one inheriting it from the SLA
      // may also use single regions.
      if (u.geoRedundant === true) {
        const units = usageUnits(u.regions, true, pairs);
        const single = units.filter((x) => x.length === 1).map((x) => x[0]);
        if (single.length > 0)
          problems.push({
            path: ['customers', i, 'uses', j, 'regions'],
            message: `geo-redundant use needs pairs of regions; ${single.join(', ')} ${single.length === 1 ? 'has' : 'have'} no partner in this list (fleet pairs decide)`,
          });
      }
    });
  });
  return problems;
}
