// Real targets on loopback for the rollout integration tests: one HTTP server per target that answers
// probes with its version, and one control server the `exec` driver calls with curl. A version containing
// "hang" makes its target stop answering anything — probes and graceful deploys alike — until it is forced
// (killed and restarted), like the 2014 front-ends.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

export interface Applied {
  action: 'deploy' | 'rollback' | 'force';
  target: string;
  version: string;
  key: string;
  at: number;
  /** The same key came again (a repeat after a crash): answered without deploying. */
  repeat: boolean;
}

class Target {
  server!: Server;
  port = 0;
  version: string;
  sockets = new Set<Socket>();
  constructor(
    readonly id: string,
    initial: string,
  ) {
    this.version = initial;
  }
  get hung(): boolean {
    return this.version.includes('hang');
  }
  async listen(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      if (this.hung) return; // never answers
      res.writeHead(200, { 'content-type': 'text/plain', 'x-etape-version': this.version });
      res.end(`ok ${this.id} ${this.version}\n`);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  /** Kill and restart on `version`: every connection dropped, the hang gone. */
  async restart(version: string): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    this.version = version;
    await this.listen(this.port);
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export class TargetFleet {
  readonly targets = new Map<string, Target>();
  readonly applied: Applied[] = [];
  /** Keys taken, with the work they started: a repeat waits for the first and is answered as done. */
  private seen = new Map<string, Promise<void>>();
  control!: Server;
  controlPort = 0;
  /** Extra time a deploy takes (ms), so that crashes land inside driver calls too. */
  deployDelayMs = 0;

  constructor(
    ids: string[],
    private initial = 'v1',
  ) {
    for (const id of ids) this.targets.set(id, new Target(id, initial));
  }

  async start(): Promise<void> {
    for (const t of this.targets.values()) await t.listen();
    this.control = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.control.listen(0, '127.0.0.1', r));
    this.controlPort = (this.control.address() as AddressInfo).port;
  }

  port(id: string): number {
    return this.targets.get(id)!.port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const q = new URLSearchParams(body);
    const action = (req.url ?? '').slice(1) as Applied['action'];
    const id = q.get('target') ?? '';
    const version = q.get('version') ?? '';
    const key = q.get('key') ?? '';
    const t = this.targets.get(id);
    if (!t || !['deploy', 'rollback', 'force'].includes(action) || !version || !key) {
      res.writeHead(400).end('bad request\n');
      return;
    }
    // Idempotent by key, atomically: the key is taken before any work, so a repeat arriving while the first
    // call still runs (an orphaned call of a killed controller) waits for it instead of deploying again.
    const first = this.seen.get(key);
    if (first) {
      await first;
      this.applied.push({ action, target: id, version, key, at: Date.now(), repeat: true });
      res.writeHead(200).end(`already done: ${key}\n`);
      return;
    }
    if (action !== 'force' && t.hung) return; // a hung process does not take a graceful deploy either
    let done!: () => void;
    this.seen.set(key, new Promise<void>((r) => (done = r)));
    if (action === 'deploy' && this.deployDelayMs > 0) await new Promise((r) => setTimeout(r, this.deployDelayMs));
    if (action === 'force') await t.restart(version);
    else t.version = version;
    this.applied.push({ action, target: id, version, key, at: Date.now(), repeat: false });
    done();
    res.writeHead(200).end(`${action} ${id} ${version}\n`);
  }

  /** What each target says it runs, asked over HTTP (a hung target answers `undefined`). */
  async versions(): Promise<Map<string, string | undefined>> {
    const out = new Map<string, string | undefined>();
    for (const [id, t] of this.targets) {
      try {
        const r = await fetch(`http://127.0.0.1:${t.port}/health`, { signal: AbortSignal.timeout(1000) });
        out.set(id, r.headers.get('x-etape-version') ?? undefined);
      } catch {
        out.set(id, undefined);
      }
    }
    return out;
  }

  /** exec driver commands that call the control server (form-encoded, so keys with ":" and "/" travel safely). */
  execDriver(opts: { timeout?: string; retries?: number } = {}) {
    const call = (action: string) =>
      `curl -sS -f -m 5 --data-urlencode "target=$ETAPE_REGION/$ETAPE_CELL" --data-urlencode "version=$ETAPE_VERSION" --data-urlencode "key=$ETAPE_IDEMPOTENCY_KEY" http://127.0.0.1:${this.controlPort}/${action}`;
    return {
      kind: 'exec' as const,
      deploy: call('deploy'),
      rollback: call('rollback'),
      force: call('force'),
      timeout: opts.timeout ?? '3s',
      retries: opts.retries ?? 0,
    };
  }

  async stop(): Promise<void> {
    for (const t of this.targets.values()) await t.close();
    this.control.closeAllConnections();
    await new Promise<void>((r) => this.control.close(() => r()));
  }
}

/** A fleet section for etape.yaml whose cells carry their target's port as the `port` var. */
export function fleetConfig(
  fleet: TargetFleet,
  regions: { id: string; cells: string[]; canary?: boolean; pair?: string; geography?: string; weight?: number }[],
) {
  return {
    regions: regions.map((r) => ({
      id: r.id,
      geography: r.geography ?? 'geo',
      canary: r.canary ?? false,
      ...(r.pair ? { pair: r.pair } : {}),
      weight: r.weight ?? r.cells.length,
      cells: r.cells.map((c) => ({ id: c, vars: { port: fleet.port(`${r.id}/${c}`) } })),
    })),
  };
}
