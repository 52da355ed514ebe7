// Checks of etape.yaml that a schema cannot express: references between sections, duplicates, and whether
// the policy can be met at all. Each problem carries a path into the document; load.ts gives it a line.
import { buildFleet, declaredPairs, resolveCanary } from '../fleet/fleet.js';
import { checkPlan } from '../plan/check.js';
import { explicitPlan, planProblems } from './plan.js';
import { didYouMean } from '../core/suggest.js';
import type { ConfigPath, PathProblem } from './load.js';
import type { EtapeConfig } from './schema.js';
import { checkSlaConfig } from './sla.js';
import { approvalProblems, runtimeProblems } from './checks.js';

/** Every problem found in a config that passed the schema; empty when it is fine. */
export function validateConfig(config: EtapeConfig, opts: { referencesOnly?: boolean } = {}): PathProblem[] {
  const problems: PathProblem[] = [];
  const add = (path: ConfigPath, message: string, at?: 'key' | 'value') => problems.push({ path, message, at });

  // ---- fleet ----
  const regionIds = new Map<string, number>();
  const cellsOf = new Map<string, Set<string>>();
  config.fleet.regions.forEach((r, i) => {
    const first = regionIds.get(r.id);
    if (first !== undefined)
      add(['fleet', 'regions', i, 'id'], `duplicate region id "${r.id}" (also fleet.regions[${first}]): region ids must be unique`);
    else {
      regionIds.set(r.id, i);
      cellsOf.set(r.id, new Set(r.cells.map((c) => c.id)));
    }
    const cellIds = new Map<string, number>();
    r.cells.forEach((c, j) => {
      const prev = cellIds.get(c.id);
      if (prev !== undefined)
        add(
          ['fleet', 'regions', i, 'cells', j, 'id'],
          `duplicate cell id "${c.id}" in region "${r.id}" (also cells[${prev}]): cell ids must be unique within a region`,
        );
      else cellIds.set(c.id, j);
    });
  });
  const known = [...regionIds.keys()];
  const unknownRegion = (id: string, what = 'region') =>
    `unknown ${what} "${id}"${didYouMean(id, known)}; regions are declared under fleet.regions`;

  config.fleet.regions.forEach((r, i) => {
    const pairs = declaredPairs(r.pair);
    pairs.forEach((p, j) => {
      const path: ConfigPath = Array.isArray(r.pair) ? ['fleet', 'regions', i, 'pair', j] : ['fleet', 'regions', i, 'pair'];
      if (p === r.id)
        add(path, `region "${r.id}" is paired with itself: a pair joins two different regions; name its partner or remove the pair`);
      else if (!regionIds.has(p)) add(path, `pair names ${unknownRegion(p)}`);
      else if (pairs.indexOf(p) !== j) add(path, `"${p}" is listed twice in the pair of "${r.id}"`);
    });
  });

  // ---- policy ----
  const policy = config.policy;
  if (policy.growth < 1)
    add(
      ['policy', 'growth'],
      `growth must be at least 1, got ${policy.growth}: each wave may weigh at most growth × the weight already verified, so below 1 the rollout shrinks and never finishes`,
    );
  if (policy.firstRegion !== 'smallest' && !regionIds.has(policy.firstRegion))
    add(['policy', 'firstRegion'], `firstRegion names ${unknownRegion(policy.firstRegion)}, or write "smallest"`);
  policy.freeze.forEach((w, i) => {
    const s = Date.parse(w.start);
    const e = Date.parse(w.end);
    if (e <= s)
      add(
        ['policy', 'freeze', i, 'end'],
        `freeze window ends (${w.end}) ${e === s ? 'when' : 'before'} it starts (${w.start}): end must be after start`,
      );
  });
  const canaryEntries = new Set<string>();
  (policy.canary ?? []).forEach((entry, i) => {
    const path: ConfigPath = ['policy', 'canary', i];
    if (canaryEntries.has(entry)) add(path, `"${entry}" is listed twice in the canary set`);
    canaryEntries.add(entry);
    const slash = entry.indexOf('/');
    const region = slash < 0 ? entry : entry.slice(0, slash);
    if (!regionIds.has(region)) return add(path, `canary set names ${unknownRegion(region)}`);
    if (slash >= 0) {
      const cell = entry.slice(slash + 1);
      const cells = cellsOf.get(region)!;
      if (!cells.has(cell))
        add(
          path,
          `canary set names unknown cell "${cell}" of region "${region}"${didYouMean(cell, cells)}; its cells are ${[...cells].join(', ')}`,
        );
      else if (canaryEntries.has(region)) add(path, `"${entry}" is already in the canary set through region "${region}"`);
    }
  });

  // ---- services ----
  const serviceNames = new Map<string, number>();
  config.services.forEach((s, i) => {
    const prev = serviceNames.get(s.name);
    if (prev !== undefined)
      add(['services', i, 'name'], `duplicate service name "${s.name}" (also services[${prev}]): service names must be unique`);
    else serviceNames.set(s.name, i);
    if (s.regions !== 'all')
      s.regions.forEach((r, j) => {
        if (!regionIds.has(r)) add(['services', i, 'regions', j], `service "${s.name}" runs in ${unknownRegion(r)}`);
        else if (s.regions.indexOf(r) !== j) add(['services', i, 'regions', j], `region "${r}" is listed twice`);
      });
    const probes = new Map<string, number>();
    s.probes.forEach((p, j) => {
      const prevP = probes.get(p.name);
      if (prevP !== undefined)
        add(
          ['services', i, 'probes', j, 'name'],
          `duplicate probe name "${p.name}" in service "${s.name}" (also probes[${prevP}]): probe names must be unique`,
        );
      else probes.set(p.name, j);
    });
    const gates = new Map<string, number>();
    s.gates.forEach((g, j) => {
      const prevG = gates.get(g.name);
      if (prevG !== undefined)
        add(
          ['services', i, 'gates', j, 'name'],
          `duplicate gate name "${g.name}" in service "${s.name}" (also gates[${prevG}]): gate names must be unique`,
        );
      else gates.set(g.name, j);
      if (g.kind === 'probe' && !probes.has(g.probe))
        add(
          ['services', i, 'gates', j, 'probe'],
          `gate "${g.name}" watches unknown probe "${g.probe}"${didYouMean(g.probe, probes.keys())}; probes of service "${s.name}": ${[...probes.keys()].join(', ') || 'none'}`,
        );
    });
  });

  // ---- health signals ----
  const signalNames = new Map<string, number>();
  config.health.signals.forEach((h, i) => {
    const prev = signalNames.get(h.name);
    if (prev !== undefined)
      add(['health', 'signals', i, 'name'], `duplicate health signal "${h.name}" (also health.signals[${prev}]): names must be unique`);
    else signalNames.set(h.name, i);
    if (h.service !== undefined && !config.services.some((s) => s.name === h.service)) {
      const names = config.services.map((s) => s.name);
      add(
        ['health', 'signals', i, 'service'],
        `unknown service "${h.service}"${didYouMean(h.service, names)}; services are declared under services`,
      );
    }
    if (Array.isArray(h.regions))
      h.regions.forEach((r, j) => {
        if (!regionIds.has(r)) add(['health', 'signals', i, 'regions', j], `health signal "${h.name}" measures ${unknownRegion(r)}`);
      });
  });

  // ---- sla and customers (their own checks) ----
  for (const p of checkSlaConfig(config)) problems.push({ path: p.path, message: p.message });

  // ---- templates, URLs, regular expressions, conditions, listen address ----
  problems.push(...runtimeProblems(config));

  // The canary set and plans need a consistent fleet: stop at reference problems.
  if (problems.length > 0 || opts.referencesOnly) return problems;

  const fleet = buildFleet(config.fleet);
  const canary = resolveCanary(fleet, policy);
  const canaryPath: ConfigPath = policy.canary !== undefined ? ['policy', 'canary'] : ['fleet', 'regions'];
  const allTargets = fleet.regions.reduce((n, r) => n + r.cells.length, 0);
  if (canary.size === 0) {
    add(
      canaryPath,
      policy.canary !== undefined
        ? 'the canary set is empty: list at least one region or region/cell under policy.canary'
        : 'the canary set is empty: mark a region with `canary: true` or list regions or region/cell entries under policy.canary',
    );
    return problems;
  }
  if (canary.size === allTargets)
    add(
      canaryPath,
      `the canary set covers the whole fleet (${allTargets} cells): nothing would be left to protect; choose a smaller canary set`,
    );

  if (problems.length > 0) return problems;

  // ---- can the policy be met, service by service? ----
  config.services.forEach((s, i) => {
    if (s.plan !== undefined) {
      const built = explicitPlan(config, fleet, s);
      if ('problems' in built) {
        for (const p of built.problems) add(['services', i, 'plan', ...p.path], p.message);
        return;
      }
      for (const v of checkPlan(built.plan, fleet, policy, s.regions))
        add(
          ['services', i, 'plan', v.wave - 1],
          `wave ${v.wave} breaks ${v.rule === 'coverage' ? 'coverage' : v.rule === 'policy' ? 'the policy' : v.rule}: ${v.message}`,
        );
      return;
    }
    for (const p of planProblems(config, fleet, s))
      add(p.path.length ? p.path : ['services', i], `policy cannot be met for service "${s.name}": ${p.message}`);
  });
  if (config.services.length === 0) {
    for (const p of planProblems(config, fleet, { name: '(fleet)', regions: 'all', gates: [] }))
      add(p.path, `policy cannot be met: ${p.message}`);
  }
  if (problems.length === 0) problems.push(...approvalProblems(config));
  return problems;
}
