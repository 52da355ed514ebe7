// A local Prometheus (Debian's `prometheus` package) for the demo and the integration tests: a generated
// config, a temporary storage folder, a free loopback port, and a wait until every target is scraped. Not
// part of the product's evidence code (evidence/prometheus.ts is the client etape uses against a real one).
import { EtapeError } from '../core/errors.js';

export interface LocalPrometheusOptions {
  /** `host:port` of each /metrics endpoint to scrape (loopback). */
  targets: string[];
  /** Scrape interval, e.g. `1s`. */
  scrapeInterval?: string;
  binary?: string;
  /** How long to wait for readiness and for every target to be up. */
  readyTimeoutMs?: number;
}

export interface LocalPrometheus {
  url: string;
  /** stderr of the process so far (for messages when something goes wrong). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus on a free loopback port and resolves once every target is up. Throws if it cannot. */
export async function startLocalPrometheus(opts: LocalPrometheusOptions): Promise<LocalPrometheus> {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { createServer } = await import('node:net');
  const binary = opts.binary ?? '/usr/bin/prometheus';
  if (!existsSync(binary))
    throw new EtapeError('usage', `${binary} is missing: install Debian's prometheus package (scripts/setup-test-deps.sh)`);
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'etape-prometheus-'));
  const every = opts.scrapeInterval ?? '1s';
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: ${every}\n  evaluation_interval: ${every}\nscrape_configs:\n  - job_name: etape\n    static_configs:\n      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]\n`,
  );
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  const ok = async (): Promise<boolean> => {
    try {
      if (!(await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok) return false;
      const body = (await (await fetch(`${url}/api/v1/targets`, { signal: AbortSignal.timeout(2000) })).json()) as {
        data: { activeTargets: { health: string }[] };
      };
      const t = body.data.activeTargets;
      return t.length === opts.targets.length && t.every((x) => x.health === 'up');
    } catch {
      return false;
    }
  };
  while (!(await ok())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new EtapeError(
        'internal',
        `Prometheus did not come up with every target scraped: ${stderr.trim().split('\n').slice(-3).join(' ') || 'no output'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, log: () => stderr, stop };
}
