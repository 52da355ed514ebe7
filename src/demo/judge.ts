// The canary judge in the demo's staged run: when Debian's `prometheus` binary is on this machine, a local
// Prometheus scrapes every cell each second and the blob service gets the judge gate of docs/judge.md
// ("The demo fleet"), measured by the same runner `etape serve` uses (the runtime builds it from the config). Without Prometheus the demo runs on
// probes alone and says so in one line.
import { existsSync } from 'node:fs';
import type { EtapeConfig } from '../config/schema.js';
import { judgeGateSchema } from '../config/service.js';
import { startLocalPrometheus, type LocalPrometheus } from '../demo/local-prometheus.js';

export const DEMO_JUDGE_GATE = 'canary-judge';
export const DEFAULT_PROMETHEUS = '/usr/bin/prometheus';

export interface DemoJudge {
  /** The config the rollout starts with: the judge gate added to the service when Prometheus runs. */
  config: EtapeConfig;
  /** One line for the live view: what judges this run. */
  note: string;
  prometheus?: LocalPrometheus;
  /** Stops the runner's Prometheus (idempotent). */
  stop(): Promise<void>;
}

export interface DemoJudgeOptions {
  config: EtapeConfig;
  service: string;
  /** The Prometheus binary (default: ETAPE_PROMETHEUS, else /usr/bin/prometheus); `false` turns the judge off. */
  binary?: string | false;
  signal?: AbortSignal;
}

/** The judge gate of docs/judge.md "The demo fleet", against a Prometheus at `url`. */
export function demoJudgeGate(url: string) {
  const sel = 'region="{region}",cell="{cell}",version="{version}"';
  return judgeGateSchema.parse({
    kind: 'judge',
    name: DEMO_JUDGE_GATE,
    prometheus: url,
    interval: '1s',
    timeout: '3s',
    step: '1s',
    minRequests: 400,
    minSamples: 8,
    metrics: [
      {
        name: 'errors',
        kind: 'count',
        critical: true,
        query: `etape_blob_requests_total{${sel},route="blobs",code=~"5.."}`,
        totalQuery: `etape_blob_requests_total{${sel},route="blobs"}`,
      },
      {
        name: 'p99 latency',
        kind: 'latency',
        query: `histogram_quantile(0.99, sum by (le) (rate(etape_blob_request_duration_seconds_bucket{${sel}}[3s])))`,
      },
    ],
  });
}

/** `127.0.0.1:<port>` of every cell of the demo config (each cell's `port` variable). */
export function cellAddresses(config: EtapeConfig): string[] {
  const out: string[] = [];
  for (const r of config.fleet.regions) for (const c of r.cells) if (c.vars?.port !== undefined) out.push(`127.0.0.1:${c.vars.port}`);
  return out;
}

/** Starts Prometheus and adds the judge gate when the binary exists; otherwise returns the config as it is. */
export async function startDemoJudge(opts: DemoJudgeOptions): Promise<DemoJudge> {
  const binary = opts.binary === false ? undefined : (opts.binary ?? process.env.ETAPE_PROMETHEUS ?? DEFAULT_PROMETHEUS);
  const without = (why: string): DemoJudge => ({
    config: opts.config,
    note: `no canary judge: ${why}; this run relies on probes alone`,
    stop: async () => undefined,
  });
  if (!binary) return without('turned off');
  if (!existsSync(binary)) return without(`${binary} not found (Debian's prometheus package)`);
  const targets = cellAddresses(opts.config);
  if (targets.length === 0) return without('the cells have no port variable to scrape');
  let prometheus: LocalPrometheus;
  try {
    prometheus = await startLocalPrometheus({ targets, scrapeInterval: '1s', binary, readyTimeoutMs: 30_000 });
  } catch (e) {
    return without(`Prometheus did not start (${e instanceof Error ? e.message : String(e)})`);
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await prometheus.stop();
  };
  // Ctrl-C: the demo's signal ends Prometheus at once, whatever else is still winding down.
  opts.signal?.addEventListener('abort', () => void stop(), { once: true });
  if (opts.signal?.aborted) await stop();
  const gate = demoJudgeGate(prometheus.url);
  const config: EtapeConfig = {
    ...opts.config,
    services: opts.config.services.map((s) =>
      s.name === opts.service ? { ...s, gates: [...s.gates.filter((g) => g.name !== gate.name), gate] } : s,
    ),
  };
  return {
    config,
    prometheus,
    note: `canary judge: a local Prometheus (${prometheus.url}) scrapes ${targets.length} cells every second; gate ${gate.name} compares the new version's cells with the old version's`,
    stop,
  };
}
