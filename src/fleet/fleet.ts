// The fleet as the planner sees it: regions with geography and weight, cells carrying a share of their
// region's weight, the undirected pair graph (I2), and the canary set.
// It takes domain inputs, so the config (which validates a fleet with these functions) is not needed here.

/** The fleet as declared (the shape of `fleet` in etape.yaml after validation). */
export interface FleetSpec {
  regions: ReadonlyArray<{
    id: string;
    name?: string;
    geography: string;
    pair?: string | readonly string[];
    weight: number;
    canary: boolean;
    cells: ReadonlyArray<{ id: string; weight: number }>;
  }>;
}

export interface Cell {
  id: string;
  region: string;
  /** Capacity share: the region's weight split over its cells by cell weight. */
  weight: number;
}

export interface Region {
  id: string;
  name: string;
  geography: string;
  weight: number;
  /** Marked `canary: true` in the config. */
  canary: boolean;
  cells: Cell[];
  /** Position in the config; ties in the planner fall back to it via the id. */
  index: number;
}

export interface Fleet {
  regions: Region[];
  byId: Map<string, Region>;
  /** Undirected pair graph: a pair declared on either side joins both regions. */
  partners: Map<string, Set<string>>;
  totalWeight: number;
}

/** Every pair declaration of a region, as a list. */
export function declaredPairs(pair: string | readonly string[] | undefined): readonly string[] {
  if (pair === undefined) return [];
  return typeof pair === 'string' ? [pair] : pair;
}

/**
 * Builds the fleet model. Pair declarations naming unknown regions or the region itself are ignored here
 * (config validation reports them); duplicate region ids keep the first.
 */
export function buildFleet(config: FleetSpec): Fleet {
  const regions: Region[] = [];
  const byId = new Map<string, Region>();
  config.regions.forEach((r, index) => {
    if (byId.has(r.id)) return;
    const cellTotal = r.cells.reduce((s, c) => s + c.weight, 0);
    const seen = new Set<string>();
    const cells: Cell[] = [];
    for (const c of r.cells) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      cells.push({ id: c.id, region: r.id, weight: (r.weight * c.weight) / cellTotal });
    }
    const region: Region = { id: r.id, name: r.name ?? r.id, geography: r.geography, weight: r.weight, canary: r.canary, cells, index };
    regions.push(region);
    byId.set(r.id, region);
  });
  const partners = new Map<string, Set<string>>();
  for (const r of regions) partners.set(r.id, new Set());
  config.regions.forEach((r) => {
    for (const p of declaredPairs(r.pair)) {
      if (p === r.id || !byId.has(p) || !byId.has(r.id)) continue;
      partners.get(r.id)!.add(p);
      partners.get(p)!.add(r.id);
    }
  });
  const totalWeight = regions.reduce((s, r) => s + r.weight, 0);
  return { regions, byId, partners, totalWeight };
}

/** The undirected pair edges, each once as [a, b] with a < b, sorted. */
export function pairEdges(fleet: Fleet): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [a, ps] of fleet.partners) for (const b of ps) if (a < b) out.push([a, b]);
  return out.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
}

/**
 * The canary set as target ids (`region/cell`): `policy.canary` entries are regions (all their cells) or
 * `region/cell`; without `policy.canary`, every cell of the regions marked `canary: true`.
 * Unknown entries are skipped (config validation reports them).
 */
export function resolveCanary(fleet: Fleet, policy: { canary?: readonly string[] }): Set<string> {
  const out = new Set<string>();
  if (policy.canary === undefined) {
    for (const r of fleet.regions) if (r.canary) for (const c of r.cells) out.add(`${r.id}/${c.id}`);
    return out;
  }
  for (const entry of policy.canary) {
    const slash = entry.indexOf('/');
    const region = fleet.byId.get(slash < 0 ? entry : entry.slice(0, slash));
    if (!region) continue;
    if (slash < 0) for (const c of region.cells) out.add(`${region.id}/${c.id}`);
    else {
      const cell = entry.slice(slash + 1);
      if (region.cells.some((c) => c.id === cell)) out.add(entry);
    }
  }
  return out;
}

/** The regions a service runs in, in fleet order (`all` or a list; unknown ids skipped). */
export function serviceRegions(fleet: Fleet, regions: 'all' | string[]): Region[] {
  if (regions === 'all') return fleet.regions;
  const want = new Set(regions);
  return fleet.regions.filter((r) => want.has(r.id));
}
