// Listening on a host:port with @hono/node-server, and closing cleanly (open keep-alive connections too).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { EtapeError } from '../core/errors.js';
import type { ApiApp } from './app.js';
import { API_LIMITS } from '../core/limits.js';
import { listenProblem, parseListenAddress } from '../config/checks.js';

export interface RunningServer {
  /** `http://host:port`, with the port actually bound (for `:0`). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** `127.0.0.1:7070`, `:7070`, `7070`, `[::1]:7070`. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const parsed = parseListenAddress(listen);
  if (!parsed) {
    throw new EtapeError('usage', `listen address "${listen}": ${listenProblem(listen) ?? 'expected host:port'}`, {
      problems: [{ path: 'server.listen', message: 'expected host:port' }],
    });
  }
  return parsed;
}

export interface ServeOptions {
  /** The whole request must arrive within this (ms); default API_LIMITS.requestMs. Slower ones get 408. */
  requestTimeoutMs?: number;
  /** Headers must arrive within this (ms); default API_LIMITS.headersMs. */
  headersTimeoutMs?: number;
}

export function serveApi(app: ApiApp, listen: string, opts: ServeOptions = {}): Promise<RunningServer> {
  const { hostname, port } = parseListen(listen);
  const requestTimeout = opts.requestTimeoutMs ?? API_LIMITS.requestMs;
  const headersTimeout = Math.min(opts.headersTimeoutMs ?? API_LIMITS.headersMs, requestTimeout);
  // Node checks these timeouts every connectionsCheckingInterval: often enough to hold a slow body no
  // longer than about the limit.
  const serverOptions = { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeout / 4)) };
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port, serverOptions }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).close(() => done());
            (server as Server).closeAllConnections?.();
          }),
      });
    }) as Server;
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new EtapeError(
          'usage',
          `cannot listen on ${listen}: ${e.code === 'EADDRINUSE' ? 'the address is in use; pick another with --listen or server.listen' : e.message}`,
          { cause: e },
        ),
      ),
    );
  });
}
