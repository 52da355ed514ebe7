// Listening on a host:port with @hono/node-server, and closing cleanly (open keep-alive connections too).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { EtapeError } from '../core/errors.js';
import type { ApiApp } from './app.js';

export interface RunningServer {
  /** `http://host:port`, with the port actually bound (for `:0`). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** `127.0.0.1:7070`, `:7070`, `7070`, `[::1]:7070`. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new EtapeError('usage', `listen address "${listen}" is not host:port: write something like 127.0.0.1:7070`, {
      problems: [{ path: 'server.listen', message: 'expected host:port' }],
    });
  }
  return { hostname: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function serveApi(app: ApiApp, listen: string): Promise<RunningServer> {
  const { hostname, port } = parseListen(listen);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port }, (info: AddressInfo) => {
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
