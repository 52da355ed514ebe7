// Checks of etape.yaml that would otherwise fail only at run time: templates expanded for every target they
// serve, URLs after expansion, regular expressions and conditions compiled, listen addresses parsed, numbered
// approvals against the plans. Each problem carries a path into the document; load.ts gives it a line.
import { isEtapeError } from '../core/errors.js';
import { buildFleet } from '../fleet/fleet.js';
import { bodyMatcher } from '../evidence/probe.js';
import { compileConditions } from '../gates/metric-gate.js';
import { planFleet } from '../plan/planner.js';
import { explicitPlan, planPolicy, planService } from './plan.js';
import { didYouMean } from '../core/suggest.js';
import type { ConfigPath, PathProblem } from './load.js';
import type { EtapeConfig } from './schema.js';
import type { ServiceConfig } from './service.js';

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Why `url` is not an http(s) URL, or undefined when it is one. */
export function httpUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${JSON.stringify(url)} is not a URL: write it like http://127.0.0.1:8080/health`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `${JSON.stringify(url)} uses ${u.protocol.replace(/:$/, '')}:, but only http and https are allowed`;
  if (u.hostname === '') return `${JSON.stringify(url)} names no host`;
  return undefined;
}

/** `host:port` as `server.listen` and `--listen` take it; undefined when it is not one. */
export function parseListenAddress(listen: string): { hostname: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*))?:?(\d{1,5})$/.exec(listen.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { hostname: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function listenProblem(listen: string): string | undefined {
  const m = /:(\d+)$/.exec(listen.trim());
  if (m && Number(m[1]) > 65535) return `port ${m[1]} is out of range: a port is 0 to 65535 (0 picks a free one)`;
  if (!parseListenAddress(listen)) return `"${listen}" is not host:port: write something like 127.0.0.1:7070`;
  return undefined;
}

function regionsOf(config: EtapeConfig, svc: ServiceConfig) {
  return svc.regions === 'all' ? config.fleet.regions : config.fleet.regions.filter((r) => (svc.regions as string[]).includes(r.id));
}

/**
 * Expands `template` for every cell the service runs in, with the names each has (`always` plus the region's
 * and the cell's vars). Reports the first unknown placeholder (and how many cells lack it), then, when
 * `isUrl`, the first expansion that is not an http(s) URL.
 */
function templateProblems(
  config: EtapeConfig,
  svc: ServiceConfig,
  template: string,
  path: ConfigPath,
  o: { always: string[]; isUrl: boolean; what: string },
): PathProblem[] {
  const names = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
  const regions = regionsOf(config, svc);
  for (const name of new Set(names)) {
    if (o.always.includes(name)) continue;
    const lacking: string[] = [];
    const known = new Set<string>(o.always);
    for (const r of regions)
      for (const c of r.cells) {
        const vars = { ...r.vars, ...c.vars };
        for (const k of Object.keys(vars)) known.add(k);
        if (!Object.hasOwn(vars, name)) lacking.push(`${r.id}/${c.id}`);
      }
    if (lacking.length > 0) {
      const where =
        lacking.length === 1 ? lacking[0] : `${lacking[0]} and ${lacking.length - 1} more cell${lacking.length === 2 ? '' : 's'}`;
      return [
        {
          path,
          message: `${o.what} uses {${name}}, which ${where} ${lacking.length === 1 ? 'does' : 'do'} not define${didYouMean(name, known)}; known here: ${[...known].map((k) => `{${k}}`).join(', ')}. Add ${name} to the region's or cell's vars, or fix the name`,
        },
      ];
    }
  }
  if (!o.isUrl) return [];
  for (const r of regions)
    for (const c of r.cells) {
      const vars: Record<string, string | number> = { ...r.vars, ...c.vars, service: svc.name, region: r.id, cell: c.id };
      const url = template.replace(PLACEHOLDER, (m, name: string) => (Object.hasOwn(vars, name) ? String(vars[name]) : m));
      const why = httpUrlProblem(url);
      if (why) return [{ path, message: `${o.what} for ${r.id}/${c.id}: ${why}` }];
    }
  return [];
}

/** The problems of a config that passed the schema and the reference checks. */
export function runtimeProblems(config: EtapeConfig): PathProblem[] {
  const problems: PathProblem[] = [];
  const add = (path: ConfigPath, message: string) => problems.push({ path, message });
  const url = (path: ConfigPath, value: string | undefined, what: string) => {
    if (value === undefined) return;
    const why = httpUrlProblem(value);
    if (why) add(path, `${what}: ${why}`);
  };

  config.services.forEach((s, i) => {
    s.probes.forEach((p, j) => {
      problems.push(
        ...templateProblems(config, s, p.url, ['services', i, 'probes', j, 'url'], {
          always: ['service', 'region', 'cell'],
          isUrl: true,
          what: `probe "${p.name}"'s URL`,
        }),
      );
      if (p.bodyMatch !== undefined) {
        if (p.method === 'HEAD')
          add(['services', i, 'probes', j, 'bodyMatch'], 'bodyMatch needs a method that returns a body: use GET (the default), not HEAD');
        try {
          bodyMatcher(p.bodyMatch);
        } catch (e) {
          add(['services', i, 'probes', j, 'bodyMatch'], `${(e as Error).message}; to match the text literally, do not wrap it in /…/`);
        }
      }
    });
    s.gates.forEach((g, j) => {
      const at = (...rest: (string | number)[]): ConfigPath => ['services', i, 'gates', j, ...rest];
      if (g.kind === 'metric' || g.kind === 'judge') url(at('prometheus'), g.prometheus, `gate "${g.name}"'s prometheus`);
      if (g.kind === 'metric') {
        try {
          compileConditions(g);
        } catch (e) {
          const key = !g.successCondition && !g.failureCondition ? [] : g.successCondition ? ['successCondition'] : ['failureCondition'];
          if (isEtapeError(e)) {
            // Say which of the two conditions is wrong.
            let bad = key;
            if (g.successCondition && g.failureCondition) {
              try {
                compileConditions({ name: g.name, successCondition: g.successCondition });
                bad = ['failureCondition'];
              } catch {
                bad = ['successCondition'];
              }
            }
            add(at(...bad), e.message);
          } else throw e;
        }
        problems.push(
          ...templateProblems(config, s, g.query, at('query'), {
            always: ['region', 'cell', 'version'],
            isUrl: false,
            what: `gate "${g.name}"'s query`,
          }),
        );
      }
      if (g.kind === 'judge')
        g.metrics.forEach((m, k) => {
          for (const key of ['query', 'totalQuery'] as const) {
            const q = m[key];
            if (q !== undefined)
              problems.push(
                ...templateProblems(config, s, q, at('metrics', k, key), {
                  always: ['region', 'cell', 'version'],
                  isUrl: false,
                  what: `metric "${m.name}"'s ${key}`,
                }),
              );
          }
        });
    });
    const d = s.driver;
    if (d?.kind === 'http') url(['services', i, 'driver', 'url'], d.url, `the http driver's url`);
  });

  config.notifications.webhooks.forEach((h, i) => url(['notifications', 'webhooks', i, 'url'], h.url, 'webhook url'));
  url(['statuspage', 'url'], config.statuspage.url, 'statuspage.url, the public address of the page');
  const listen = listenProblem(config.server.listen);
  if (listen) add(['server', 'listen'], listen);
  return problems;
}

/** Numbered approvals that name a wave no service's plan has (the plans exist: the policy can be met). */
export function approvalProblems(config: EtapeConfig): PathProblem[] {
  const numbered = config.policy.approvals.map((a, i) => ({ a, i })).filter((x): x is { a: number; i: number } => typeof x.a === 'number');
  if (numbered.length === 0) return [];
  const fleet = buildFleet(config.fleet);
  const lengths: { name: string; waves: number }[] = [];
  const services = config.services.length ? config.services : [{ name: '(fleet)', regions: 'all' as const, gates: [] }];
  for (const s of services) {
    const out = 'plan' in s && s.plan ? explicitPlan(config, fleet, s) : planFleet(fleet, planPolicy(config.policy), planService(s));
    if ('plan' in out) lengths.push({ name: s.name, waves: out.plan.waves.length });
  }
  if (lengths.length === 0) return [];
  const most = Math.max(...lengths.map((l) => l.waves));
  return numbered
    .filter(({ a }) => a > most)
    .map(({ a, i }) => ({
      path: ['policy', 'approvals', i],
      message: `wave ${a} does not exist: ${lengths.map((l) => `${l.name === '(fleet)' ? 'the fleet' : `service "${l.name}"`} has ${l.waves} wave${l.waves === 1 ? '' : 's'}`).join(', ')} (see \`etape plan\`)`,
    }));
}
