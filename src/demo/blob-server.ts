// One cell of the demo fleet: a small blob front-end, run as its own process on 127.0.0.1.
// Blobs live in memory. The bad version carries one of four faults, the first being the 2014 bug: a
// configuration switch that sends the blob path into an infinite synchronous loop, so the event loop is
// blocked, /health stops answering and a graceful reconfigure request is never read.
//
//   node blob-server.js --region R --cell C --version V [--fault none|hang|errors|latency|crash-loop]
//
// It listens on port 0 and reports the port to its parent over IPC ({type:'ready', port}) and as a line
// `etape-blob ready {"port":…}` on stdout. It exits when its parent goes away, even while hung.
import http from 'node:http';
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export const FAULTS = ['hang', 'errors', 'latency', 'crash-loop'] as const;
export type Fault = (typeof FAULTS)[number];

export interface BlobServerOptions {
  region: string;
  cell: string;
  version: string;
  fault: Fault | 'none';
  /** errors: share of blob requests answered 500. */
  errorRate: number;
  /** latency: extra delay on the blob path. */
  latencyMs: number;
  /** crash-loop: the process exits this long after it starts listening. */
  crashAfterMs: number;
  /** Parent pid to watch; the cell exits when it is re-parented. */
  parentPid?: number;
  /** Port to listen on; 0 picks a free one. A restarted cell keeps its port. */
  port: number;
}

export const READY_PREFIX = 'etape-blob ready ';
export const HANG_PREFIX = 'etape-blob hang ';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const MAX_BODY = 256 * 1024;

export function parseArgs(argv: string[]): BlobServerOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const fault = (get('fault') ?? 'none') as Fault | 'none';
  if (fault !== 'none' && !FAULTS.includes(fault)) throw new Error(`unknown fault ${fault}`);
  const parent = get('parent-pid');
  return {
    region: get('region') ?? 'local',
    cell: get('cell') ?? 'cell-1',
    version: get('version') ?? 'v1',
    fault,
    errorRate: Number(get('error-rate') ?? 0.5),
    latencyMs: Number(get('latency-ms') ?? 1200),
    crashAfterMs: Number(get('crash-after-ms') ?? 800),
    parentPid: parent === undefined ? undefined : Number(parent),
    port: Number(get('port') ?? 0),
  };
}

/** The blob path's configuration. `fastIndex` is the switch the bad version turns on. */
interface BlobPathConfig {
  fastIndex: boolean;
}

// Metrics for the canary judge: `etape_blob_requests_total{route,method,code}` counts every request (select
// `route="blobs"` for customer traffic), `etape_blob_request_duration_seconds` is the latency histogram of
// blob requests, and `etape_blob_info` carries the version. Every series has region, cell and version labels.
class Metrics {
  private byCode = new Map<string, number>();
  private buckets = new Array<number>(BUCKETS.length).fill(0);
  private count = 0;
  private sum = 0;

  constructor(private labels: string) {}

  observe(route: string, method: string, code: number, seconds: number): void {
    const k = `route="${route}",method="${method}",code="${code}"`;
    this.byCode.set(k, (this.byCode.get(k) ?? 0) + 1);
    if (route !== 'blobs') return;
    this.count++;
    this.sum += seconds;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) this.buckets[i]++;
  }

  render(): string {
    const l = this.labels;
    const out: string[] = [];
    out.push('# HELP etape_blob_info The version this cell runs.', '# TYPE etape_blob_info gauge', `etape_blob_info{${l}} 1`);
    out.push(
      '# HELP etape_blob_requests_total Requests served, by route, method and status code.',
      '# TYPE etape_blob_requests_total counter',
    );
    for (const [k, v] of this.byCode) out.push(`etape_blob_requests_total{${l},${k}} ${v}`);
    out.push(
      '# HELP etape_blob_request_duration_seconds Latency of blob requests.',
      '# TYPE etape_blob_request_duration_seconds histogram',
    );
    for (let i = 0; i < BUCKETS.length; i++)
      out.push(`etape_blob_request_duration_seconds_bucket{${l},le="${BUCKETS[i]}"} ${this.buckets[i]}`);
    out.push(`etape_blob_request_duration_seconds_bucket{${l},le="+Inf"} ${this.count}`);
    out.push(`etape_blob_request_duration_seconds_sum{${l}} ${this.sum}`);
    out.push(`etape_blob_request_duration_seconds_count{${l}} ${this.count}`);
    return out.join('\n') + '\n';
  }
}

/**
 * The blob lookup. With `fastIndex` on (the bad version's switch), it waits for an index that is built on a
 * later tick of the event loop, and waits by spinning: the builder needs the very event loop the spin
 * holds, so the loop never ends. That is the shape of the 2014 bug: a synchronous infinite loop in the
 * blob path that nothing inside the process can interrupt.
 */
function locate(
  store: Map<string, Buffer>,
  key: string,
  config: BlobPathConfig,
  index: { building: boolean; ready: boolean },
): Buffer | undefined {
  if (!config.fastIndex) return store.get(key);
  if (!index.building) {
    index.building = true;
    setImmediate(() => {
      index.ready = true;
    });
  }
  while (!index.ready) {
    // spin until the index is ready
  }
  return store.get(key);
}

function watchParent(parentPid: number): void {
  // A worker thread has its own event loop, so it still runs while the main thread is stuck in the loop.
  const code = `
    const { workerData } = require('node:worker_threads');
    setInterval(() => {
      if (process.ppid !== workerData.parentPid) process.kill(workerData.pid, 'SIGKILL');
    }, 250);
  `;
  const w = new Worker(code, { eval: true, workerData: { parentPid, pid: process.pid } });
  w.unref();
}

export function startBlobServer(opts: BlobServerOptions): Promise<{ server: http.Server; port: number }> {
  const blobs = new Map<string, Buffer>();
  blobs.set('probe', Buffer.from('ok\n'));
  const config: BlobPathConfig = { fastIndex: opts.fault === 'hang' };
  const index = { building: false, ready: false };
  const labels = `region="${opts.region}",cell="${opts.cell}",version="${opts.version}"`;
  const metrics = new Metrics(labels);
  let closing = false;

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://cell');
    let route = 'other';
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      metrics.observe(route, req.method ?? 'GET', code, Number(process.hrtime.bigint() - started) / 1e9);
      res.writeHead(code, { 'content-type': type, 'x-etape-version': opts.version, ...(closing ? { connection: 'close' } : {}) });
      res.end(body);
    };
    const json = (code: number, v: unknown) => send(code, JSON.stringify(v) + '\n', 'application/json');

    if (url.pathname === '/health' && req.method === 'GET') {
      route = 'health';
      return json(closing ? 503 : 200, {
        status: closing ? 'stopping' : 'ok',
        version: opts.version,
        region: opts.region,
        cell: opts.cell,
      });
    }
    if (url.pathname === '/metrics' && req.method === 'GET') {
      route = 'metrics';
      return send(200, metrics.render(), 'text/plain; version=0.0.4');
    }
    if (url.pathname === '/admin/reconfigure' && req.method === 'POST') {
      route = 'admin';
      return readBody(req, (err, body) => {
        if (err) return json(413, { error: err.message });
        let version: string | undefined;
        try {
          version = (JSON.parse(body.toString() || '{}') as { version?: string }).version;
        } catch {
          return json(400, { error: 'body must be JSON like {"version":"v2"}' });
        }
        json(202, { accepted: true, from: opts.version, to: version ?? opts.version });
        // Drain and exit: the supervisor that asked starts the new version in our place.
        closing = true;
        server.close(() => process.exit(0));
        server.closeIdleConnections();
        setTimeout(() => process.exit(0), 2000).unref();
      });
    }
    const m = /^\/blobs\/([A-Za-z0-9._-]{1,200})$/.exec(url.pathname);
    if (m) {
      route = 'blobs';
      const key = m[1];
      const finish = (fn: () => void) => {
        if (opts.fault === 'latency') setTimeout(fn, opts.latencyMs * (0.9 + Math.random() * 0.2));
        else fn();
      };
      if (opts.fault === 'errors' && Math.random() < opts.errorRate) {
        return finish(() => json(500, { error: 'internal error in the blob path' }));
      }
      const lookup = (): Buffer | undefined => {
        if (config.fastIndex && !index.ready) {
          // Say so synchronously before the loop starts: nothing asynchronous will ever run again.
          try {
            writeSync(1, HANG_PREFIX + JSON.stringify({ at: Date.now() }) + '\n');
          } catch {
            /* no stdout */
          }
        }
        return locate(blobs, key, config, index);
      };
      if (req.method === 'GET') {
        const blob = lookup();
        return finish(() =>
          blob ? send(200, blob.toString('latin1'), 'application/octet-stream') : json(404, { error: `no blob ${key}` }),
        );
      }
      if (req.method === 'PUT') {
        return readBody(req, (err, body) => {
          if (err) return json(413, { error: err.message });
          lookup(); // a write looks the key up first, like a read
          blobs.set(key, body);
          finish(() => json(201, { key, bytes: body.length }));
        });
      }
      return json(405, { error: 'use GET or PUT' });
    }
    return json(404, { error: 'not found' });
  });
  server.keepAliveTimeout = 2000;

  // The previous process of this cell may still hold the port for a moment after it exits: retry briefly.
  return new Promise((resolve, reject) => {
    let attempts = 0;
    const tryListen = () => {
      const onError = (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE' && opts.port !== 0 && ++attempts < 50) setTimeout(tryListen, 100);
        else reject(e);
      };
      server.once('error', onError);
      server.listen(opts.port, '127.0.0.1', () => {
        server.off('error', onError);
        const addr = server.address();
        const port = typeof addr === 'object' && addr ? addr.port : 0;
        resolve({ server, port });
      });
    };
    tryListen();
  });
}

function readBody(req: http.IncomingMessage, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY && !done) {
      done = true;
      cb(new Error(`body over ${MAX_BODY} bytes`), Buffer.alloc(0));
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (!done) {
      done = true;
      cb(null, Buffer.concat(chunks));
    }
  });
  req.on('error', () => {
    if (!done) {
      done = true;
      cb(new Error('request aborted'), Buffer.alloc(0));
    }
  });
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const parentPid = opts.parentPid ?? process.ppid;
  watchParent(parentPid);
  // With an IPC channel, its closing means the parent is gone or done with us.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  const { port } = await startBlobServer(opts);
  const ready = { type: 'ready', port, pid: process.pid, version: opts.version, region: opts.region, cell: opts.cell };
  if (process.send) process.send(ready);
  writeSync(1, READY_PREFIX + JSON.stringify(ready) + '\n');
  if (opts.fault === 'crash-loop') {
    setTimeout(() => {
      writeSync(2, `blob front-end ${opts.region}/${opts.cell} ${opts.version}: fatal: configuration rejected at startup\n`);
      process.exit(3);
    }, opts.crashAfterMs);
  }
}

// Run only as a process entry point, not when imported by a test or the fleet.
const entry = process.argv[1] ?? '';
if (/blob-server\.(ts|js)$/.test(entry)) {
  main().catch((e) => {
    process.stderr.write(`blob front-end failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
