// Real targets on loopback for the rollout integration tests: one HTTP server per target that answers
// probes with its version, and one control server the `exec` driver calls with curl. A version containing
// "hang" makes its target stop answering anything — probes and graceful deploys alike — until it is forced
// (killed and restarted), like the 2014 front-ends. Each target keeps its own log of when it could not answer
// (`downLog`): hung, or restarting when `restartMs` is set.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

export interface Applied {
  action: 'deploy' | 'rollback' | 'force' | 'drain' | 'restore';
  target: string;
  version: string;
  key: string;
  at: number;
  /** The same key came again (a repeat after a crash): answered without deploying. */
  repeat: boolean;
}

/** A stretch of time in which a target answered nothing: `to` undefined while it lasts. */
export interface DownSpan {
  target: string;
  from: number;
  to?: number;
  why: 'hung' | 'restart';
}

/** One request to the control server, as the driver's own log: who sent it, with which lease token, and when it ran. */
export interface DriverCallLog {
  action: Applied['action'];
  target: string;
  version: string;
  key: string;
  /** The sender (the `by` form field: which controller process ran the command), if the command sent it. */
  by: string;
  /** The lease token the controller made the call under (ETAPE_LEASE_TOKEN), if sent. */
  token: number | null;
  arrived: number;
  /** When it was answered or given up. */
  finished?: number;
  /** applied: the work was done; repeat: answered as already done; cancelled: the command went away before the work was done, nothing changed. */
  outcome?: 'applied' | 'repeat' | 'cancelled';
}

class Target {
  server!: Server;
  port = 0;
  version: string;
  sockets = new Set<Socket>();
  constructor(
    readonly id: string,
    initial: string,
    private fleet: TargetFleet,
  ) {
    this.version = initial;
  }
  get hung(): boolean {
    return this.version.includes('hang') && (this.fleet.hangsOn === undefined || this.fleet.hangsOn(this.id));
  }
  /** Puts `version` in place and logs when that makes the target stop (or start again) answering. */
  setVersion(version: string): void {
    const was = this.hung;
    this.version = version;
    if (!was && this.hung) this.fleet.down(this.id, 'hung');
    if (was && !this.hung) this.fleet.up(this.id, 'hung');
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
  /** Kill and restart on `version`: every connection dropped, the hang gone; down for `restartMs` meanwhile. */
  async restart(version: string): Promise<void> {
    const wasHung = this.hung;
    if (wasHung) this.fleet.up(this.id, 'hung');
    this.fleet.down(this.id, 'restart');
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    if (this.fleet.restartMs > 0) await new Promise((r) => setTimeout(r, this.fleet.restartMs));
    this.version = version;
    await this.listen(this.port);
    this.fleet.up(this.id, 'restart');
    if (this.hung) this.fleet.down(this.id, 'hung');
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export class TargetFleet {
  readonly targets = new Map<string, Target>();
  readonly applied: Applied[] = [];
  /** Every request in order of arrival, with when it was answered (the driver's log). */
  readonly calls: DriverCallLog[] = [];
  /**
   * A deploy, rollback or force whose command goes away before the work is done (killed at its timeout) is not
   * applied: the target stays as it was, like a deploy script killed midway. Default false.
   */
  cancelOnDisconnect = false;
  /** Keys taken, with the work they started (true once applied): a repeat waits for the first and is answered as done. */
  private seen = new Map<string, Promise<boolean>>();
  control!: Server;
  controlPort = 0;
  /** Extra time a deploy takes (ms), so that crashes land inside driver calls too. */
  deployDelayMs = 0;
  /**
   * How long a rollback or a force takes the target down (ms): both restart the process, as a real
   * rollback does. 0: a rollback is an instant switch and a force a bare restart.
   */
  restartMs = 0;
  /** Which targets a "hang" version hangs (all when unset): a fault that shows only in some regions. */
  hangsOn?: (target: string) => boolean;
  /** Targets a load balancer in front of them would not send customers to (the driver's drain). */
  readonly drained = new Set<string>();
  /** When each target answered nothing, as the targets saw it (not as etape's events say). */
  readonly downLog: DownSpan[] = [];

  constructor(
    ids: string[],
    private initial = 'v1',
  ) {
    for (const id of ids) this.targets.set(id, new Target(id, initial, this));
  }

  down(target: string, why: DownSpan['why']): void {
    this.downLog.push({ target, from: Date.now(), why });
  }
  up(target: string, why: DownSpan['why']): void {
    const open = this.downLog.findLast((d) => d.target === target && d.why === why && d.to === undefined);
    if (open) open.to = Date.now();
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
    if (!t || !['deploy', 'rollback', 'force', 'drain', 'restore'].includes(action) || !version || !key) {
      res.writeHead(400).end('bad request\n');
      return;
    }
    const token = q.get('token');
    const log: DriverCallLog = {
      action,
      target: id,
      version,
      key,
      by: q.get('by') ?? '',
      token: token ? Number(token) : null,
      arrived: Date.now(),
    };
    this.calls.push(log);
    let gone = false;
    res.on('close', () => {
      gone = !res.writableFinished;
      if (gone && !log.outcome) [log.outcome, log.finished] = ['cancelled', Date.now()];
    });
    // Idempotent by key, atomically: the key is taken before any work, so a repeat arriving while the first
    // call still runs (an orphaned call of a killed controller) waits for it instead of deploying again.
    for (let first = this.seen.get(key); first; first = this.seen.get(key)) {
      if (!(await first)) continue; // the first was cancelled: this one does the work
      this.applied.push({ action, target: id, version, key, at: Date.now(), repeat: true });
      [log.outcome, log.finished] = ['repeat', Date.now()];
      res.writeHead(200).end(`already done: ${key}\n`);
      return;
    }
    if (action === 'drain' || action === 'restore') {
      // The load balancer's rotation: it answers whatever the target does.
      if (action === 'drain') this.drained.add(id);
      else this.drained.delete(id);
      this.seen.set(key, Promise.resolve(true));
      this.applied.push({ action, target: id, version, key, at: Date.now(), repeat: false });
      [log.outcome, log.finished] = ['applied', Date.now()];
      res.writeHead(200).end(`${action} ${id}\n`);
      return;
    }
    if (action !== 'force' && t.hung) return; // a hung process does not take a graceful deploy either
    let done!: (applied: boolean) => void;
    this.seen.set(key, new Promise<boolean>((r) => (done = r)));
    if (action === 'deploy' && this.deployDelayMs > 0) await new Promise((r) => setTimeout(r, this.deployDelayMs));
    if (gone && this.cancelOnDisconnect) {
      this.seen.delete(key);
      done(false);
      return;
    }
    if (action === 'force' || (action === 'rollback' && this.restartMs > 0)) await t.restart(version);
    else t.setVersion(version);
    this.applied.push({ action, target: id, version, key, at: Date.now(), repeat: false });
    [log.outcome, log.finished] = ['applied', Date.now()];
    done(true);
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
  /** `by`: the environment variable that names the controller process (passed to the command), for the call log. */
  execDriver(opts: { timeout?: string; retries?: number; drain?: boolean; by?: string } = {}) {
    const by = opts.by ? ` --data-urlencode "by=$${opts.by}"` : '';
    const call = (action: string) =>
      `curl -sS -f -m 5 --data-urlencode "target=$ETAPE_REGION/$ETAPE_CELL" --data-urlencode "version=$ETAPE_VERSION" --data-urlencode "key=$ETAPE_IDEMPOTENCY_KEY" --data-urlencode "token=$ETAPE_LEASE_TOKEN"${by} http://127.0.0.1:${this.controlPort}/${action}`;
    return {
      kind: 'exec' as const,
      deploy: call('deploy'),
      rollback: call('rollback'),
      force: call('force'),
      ...(opts.drain ? { drain: call('drain'), restore: call('restore') } : {}),
      timeout: opts.timeout ?? '3s',
      retries: opts.retries ?? 0,
      ...(opts.by ? { passEnv: [opts.by] } : {}),
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
