// The exec and http drivers against real child processes and real loopback webhook servers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './helpers.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { isEtapeError } from '../src/core/errors.js';
import { execDriverSchema, httpDriverSchema, serviceSchema } from '../src/config/service.js';
import { fleetSchema } from '../src/config/fleet.js';
import type { Driver, DriverCall } from '../src/drivers/driver.js';
import { idempotencyKey } from '../src/core/types.js';
import { createExecDriver, expandCommand } from '../src/drivers/exec.js';
import { createHttpDriver, verifySignature, type WebhookBody } from '../src/drivers/http.js';
import { createDriver, fleetVars } from '../src/drivers/index.js';
import { knownSecrets } from '../src/config/secrets.js';
import { parseConfig } from '../src/config/load.js';

const call = (over: Partial<DriverCall> = {}): DriverCall => ({
  key: idempotencyKey('r1', { region: 'eu-west', cell: 'c1' }, 'w1.deploy', 1),
  rolloutId: 'r1',
  target: { service: 'blob', region: 'eu-west', cell: 'c1' },
  version: '2.0.0',
  fromVersion: '1.9.0',
  ...over,
});

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'etape-drivers-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  // a zombie that nobody has reaped yet is dead too
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
  } catch {
    return true;
  }
}

describe('exec driver', () => {
  it('passes target, versions and idempotency key as arguments and environment', async () => {
    const out = join(dir, 'args.txt');
    const d = createExecDriver(
      execDriverSchema.parse({
        kind: 'exec',
        deploy: `printf '%s\\n' {region} {cell} {version} {key} {service} {fromVersion} "$ETAPE_REGION" "$ETAPE_CELL" "$ETAPE_VERSION" "$ETAPE_IDEMPOTENCY_KEY" "$ETAPE_SERVICE" "$ETAPE_ACTION" "$ETAPE_FROM_VERSION" > ${out}; echo deployed {version}`,
      }),
    );
    const c = call();
    const r = await d.deploy(c);
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.detail, 'exit 0');
    assert.equal(r.attempts, 1);
    assert.equal(r.output, 'deployed 2.0.0');
    assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), [
      'eu-west',
      'c1',
      '2.0.0',
      c.key,
      'blob',
      '1.9.0',
      'eu-west',
      'c1',
      '2.0.0',
      c.key,
      'blob',
      'deploy',
      '1.9.0',
    ]);
  });

  it('a command that ended in time while this process was stalled past its timeout is not called timed out', async () => {
    const d = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'sleep 0.2; echo done', timeout: '1s', retries: 0 }));
    const p = d.deploy({ ...call(), leaseToken: 7 });
    // This process does nothing for 2 s (a GC pause, SIGSTOP): the command exits at 0.2 s, the timer is due at 1 s.
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      /* stalled */
    }
    const r = await p;
    assert.equal(r.ok, true, r.detail);
    assert.ok(!r.timedOut, r.detail);
  });

  it("gives commands only the ETAPE_* variables, the basics and passEnv: never etape's secrets", async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: '/home/op',
      LC_ALL: 'C',
      ETAPE_OPERATOR_TOKEN: 'op-secret-123',
      AWS_PROFILE: 'deploy',
      PGPASSWORD: 'pw-9876',
    };
    const d = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'env | sort', passEnv: ['AWS_PROFILE'] }), { env });
    const r = await d.deploy(call());
    assert.equal(r.ok, true, r.detail);
    const names = new Set((r.output ?? '').split('\n').map((l) => l.split('=')[0]));
    for (const n of ['PATH', 'HOME', 'LC_ALL', 'AWS_PROFILE', 'ETAPE_REGION', 'ETAPE_VERSION', 'ETAPE_TRY'])
      assert.ok(names.has(n), `${n} passed`);
    for (const n of ['ETAPE_OPERATOR_TOKEN', 'PGPASSWORD']) assert.ok(!names.has(n), `${n} kept out`);
    assert.doesNotMatch(r.output ?? '', /op-secret-123|pw-9876/);
  });

  it('redacts known secrets from what a command prints, before it is stored', async () => {
    const config = parseConfig(
      `fleet: { regions: [{ id: a, geography: g, canary: true }, { id: b, geography: g }] }
server: { tokens: [{ name: ops, role: operator, token: { env: OPS_TOKEN } }] }
store: postgres://etape:store-pass-42@127.0.0.1:5432/etape
services:
  - name: blob
    driver: { kind: exec, deploy: 'echo "token=$OPS_TOKEN store=$STORE_URL"; echo leaked >&2', passEnv: [OPS_TOKEN, STORE_URL] }
`,
      'etape.yaml',
    );
    const env = { PATH: process.env.PATH, OPS_TOKEN: 'tok-abcdef-777', STORE_URL: 'postgres://etape:store-pass-42@127.0.0.1:5432/etape' };
    const secrets = knownSecrets(config, env);
    const d = createDriver(config.services[0], { env, secrets });
    const r = await d.deploy(call());
    assert.equal(r.ok, true, r.detail);
    assert.match(r.output ?? '', /token=\[redacted\] store=postgres:\/\/etape:\[redacted\]@127/);
    assert.doesNotMatch(r.output ?? '', /tok-abcdef-777|store-pass-42/);
  });

  it('quotes values so a hostile version cannot inject shell commands', async () => {
    const out = join(dir, 'quoted.txt');
    const pwned = join(dir, 'pwned');
    const d = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: `printf '%s' {version} > ${out}` }));
    const version = `1.0'; touch ${pwned}; echo '`;
    const r = await d.deploy(call({ version }));
    assert.equal(r.ok, true, r.detail);
    assert.equal(readFileSync(out, 'utf8'), version);
    assert.equal(existsSync(pwned), false);
    assert.equal(expandCommand('echo ${HOME} {a,b} {version}', { version: 'x y' }), `echo \${HOME} {a,b} 'x y'`);
  });

  it('rollback and force fall back to the deploy command, with ETAPE_ACTION telling them apart', async () => {
    const d = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'echo "$ETAPE_ACTION {version}"' }));
    assert.equal((await d.rollback(call({ version: '1.9.0' }))).output, 'rollback 1.9.0');
    assert.equal((await d.force(call({ version: '1.9.0' }))).output, 'force 1.9.0');
  });

  it('a timeout is reported as timedOut and kills the whole process group', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const d = createExecDriver(
      execDriverSchema.parse({ kind: 'exec', deploy: `sleep 60 & echo $! > ${pidFile}; echo started; wait`, timeout: '400ms', retries: 0 }),
      { killGraceMs: 200 },
    );
    const t0 = Date.now();
    const r = await d.deploy(call());
    assert.equal(r.ok, false);
    assert.equal(r.timedOut, true);
    assert.equal(r.detail, 'timeout after 400ms');
    assert.equal(r.attempts, 1);
    assert.match(r.output ?? '', /started/);
    assert.ok(Date.now() - t0 < 10_000);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await waitFor('the grandchild to be gone', () => processGone(grandchild), 10_000);
  });

  it('a command that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const d = createExecDriver(
      execDriverSchema.parse({ kind: 'exec', deploy: `trap '' TERM; sleep 60 & echo $! > ${pidFile}; wait`, timeout: '300ms', retries: 0 }),
      { killGraceMs: 300 },
    );
    const r = await d.deploy(call());
    assert.equal(r.timedOut, true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await waitFor('the process to be gone', () => processGone(pid), 10_000);
  });

  it('retries a failing command up to `retries` and counts attempts', async () => {
    const counter = join(dir, 'count');
    // fails on tries 1 and 2, succeeds on 3
    const d = createExecDriver(
      execDriverSchema.parse({ kind: 'exec', deploy: `echo "try $ETAPE_TRY" >> ${counter}; [ "$ETAPE_TRY" -ge 3 ]`, retries: 2 }),
      { backoffMs: 5 },
    );
    const r = await d.deploy(call());
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.attempts, 3);
    assert.equal(readFileSync(counter, 'utf8'), 'try 1\ntry 2\ntry 3\n');

    const never = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'echo nope >&2; exit 7', retries: 2 }), { backoffMs: 5 });
    const f = await never.deploy(call());
    assert.equal(f.ok, false);
    assert.equal(f.attempts, 3);
    assert.equal(f.detail, 'exit 7 after 3 attempts');
    assert.equal(f.output, 'nope');
    assert.equal(f.timedOut, undefined);
  });

  it('a timeout is retried too', async () => {
    const d = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'sleep 30', timeout: '200ms', retries: 1 }), {
      backoffMs: 5,
      killGraceMs: 100,
    });
    const r = await d.deploy(call());
    assert.equal(r.ok, false);
    assert.equal(r.timedOut, true);
    assert.equal(r.attempts, 2);
    assert.equal(r.detail, 'timeout after 200ms after 2 attempts');
  });

  it('keeps only a few KB of output: the head and the tail', async () => {
    const d = createExecDriver(
      execDriverSchema.parse({
        kind: 'exec',
        deploy: `echo FIRST; i=0; while [ $i -lt 3000 ]; do echo "line $i of noise"; i=$((i+1)); done; echo LAST`,
      }),
    );
    const r = await d.deploy(call());
    assert.equal(r.ok, true);
    assert.ok((r.output ?? '').length < 4300, `output is ${(r.output ?? '').length} chars`);
    assert.match(r.output ?? '', /^FIRST/);
    assert.match(r.output ?? '', /LAST$/);
    assert.match(r.output ?? '', /characters trimmed/);
  });

  it('an abort stops the command and does not retry', async () => {
    const d = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'sleep 30', retries: 3 }), { killGraceMs: 100 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await d.deploy(call(), ac.signal);
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'aborted');
    assert.equal(r.attempts, 1);
  });

  it('a command that cannot run is a failure value', async () => {
    const d = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: '/nonexistent/deploy-tool {version}', retries: 0 }));
    const r = await d.deploy(call());
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'exit 127');
    assert.match(r.output ?? '', /not found/);
  });

  it('observe reads JSON or a version line', async () => {
    const json = createExecDriver(
      execDriverSchema.parse({ kind: 'exec', deploy: 'true', observe: `echo '{"version":"2.0.0","healthy":false,"detail":"draining"}'` }),
    );
    assert.deepEqual(await json.observe(call().target), { version: '2.0.0', healthy: false, detail: 'draining' });
    const line = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'true', observe: 'echo "1.9.0 on {region}/{cell}"' }));
    assert.equal((await line.observe(call().target)).version, '1.9.0 on eu-west/c1');
    const failing = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'true', observe: 'exit 3' }));
    assert.equal((await failing.observe(call().target)).healthy, false);
    const none = createExecDriver(execDriverSchema.parse({ kind: 'exec', deploy: 'true' }));
    assert.equal((await none.observe(call().target)).version, undefined);
  });

  it('createDriver fills {vars} from the fleet config (cell over region) and ETAPE_VAR_*', async () => {
    const fleet = fleetSchema.parse({
      regions: [{ id: 'eu-west', geography: 'eu', vars: { port: 7000, zone: 'a' }, cells: [{ id: 'c1', vars: { port: 7101 } }] }],
    });
    assert.deepEqual(fleetVars(fleet, { region: 'eu-west', cell: 'c1' }), { port: 7101, zone: 'a' });
    const svc = serviceSchema.parse({ name: 'blob', driver: { kind: 'exec', deploy: 'echo {port} {zone} $ETAPE_VAR_PORT' } });
    const r = await createDriver(svc, { fleet }).deploy(call());
    assert.equal(r.output, '7101 a 7101');
  });
});

interface Received {
  headers: IncomingMessage['headers'];
  raw: string;
  body: WebhookBody;
}

async function webhookServer(
  handler: (req: Received, n: number, res: ServerResponse) => void,
): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const r = { headers: req.headers, raw, body: JSON.parse(raw) as WebhookBody };
      got.push(r);
      handler(r, got.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, got, server };
}

function closeServer(s: Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((resolve) => s.close(() => resolve()));
}

describe('http driver', () => {
  const servers: Server[] = [];
  after(async () => {
    for (const s of servers) await closeServer(s);
  });

  const SECRET = 'test-webhook-secret';
  const http = (url: string, over: Record<string, unknown> = {}): Driver =>
    createHttpDriver(httpDriverSchema.parse({ kind: 'http', url, secret: { env: 'HOOK_SECRET' }, ...over }), {
      env: { HOOK_SECRET: SECRET },
      backoffMs: 5,
    });

  it('POSTs a signed JSON body carrying the idempotency key', async () => {
    const s = await webhookServer((_r, _n, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}'));
    servers.push(s.server);
    const c = call();
    const r = await http(s.url).deploy(c);
    assert.equal(r.ok, true, r.detail);
    assert.equal(r.detail, 'HTTP 200');
    assert.equal(r.attempts, 1);
    assert.equal(r.output, '{"accepted":true}');
    const [req] = s.got;
    assert.equal(req.headers['idempotency-key'], c.key);
    assert.equal(req.headers['content-type'], 'application/json');
    assert.ok(verifySignature(SECRET, req.raw, req.headers['x-etape-signature'] as string), 'signature verifies');
    assert.equal(verifySignature('wrong-secret', req.raw, req.headers['x-etape-signature'] as string), false);
    assert.equal(verifySignature(SECRET, req.raw.replace('2.0.0', '6.6.6'), req.headers['x-etape-signature'] as string), false);
    assert.deepEqual(
      { ...req.body, timestamp: 0 },
      {
        action: 'deploy',
        key: c.key,
        rolloutId: 'r1',
        target: c.target,
        version: '2.0.0',
        fromVersion: '1.9.0',
        timestamp: 0,
      },
    );
    assert.equal(String(req.body.timestamp), req.headers['x-etape-timestamp']);
    assert.ok(Math.abs(req.body.timestamp - Date.now() / 1000) < 60);
    await http(s.url).rollback(call({ version: '1.9.0' }));
    assert.equal(s.got[1].body.action, 'rollback');
  });

  it('retries 5xx with backoff and counts attempts; the key stays the same', async () => {
    const s = await webhookServer((_r, n, res) => res.writeHead(n < 3 ? 503 : 200).end(n < 3 ? 'busy' : 'ok'));
    servers.push(s.server);
    const r = await http(s.url, { retries: 3 }).deploy(call());
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 3);
    assert.equal(s.got.length, 3);
    assert.equal(new Set(s.got.map((g) => g.headers['idempotency-key'])).size, 1);
    for (const g of s.got) assert.ok(verifySignature(SECRET, g.raw, g.headers['x-etape-signature'] as string));

    const down = await webhookServer((_r, _n, res) => res.writeHead(502).end('bad gateway'));
    servers.push(down.server);
    const f = await http(down.url, { retries: 2 }).deploy(call());
    assert.equal(f.ok, false);
    assert.equal(f.attempts, 3);
    assert.equal(f.detail, 'HTTP 502 after 3 attempts');
    assert.equal(f.output, 'bad gateway');
  });

  it('does not retry a 4xx', async () => {
    const s = await webhookServer((_r, _n, res) => res.writeHead(400).end('unknown cell'));
    servers.push(s.server);
    const r = await http(s.url, { retries: 3 }).deploy(call());
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
    assert.equal(s.got.length, 1);
    assert.equal(r.detail, 'HTTP 400');
    assert.equal(r.output, 'unknown cell');
  });

  it('a webhook that never answers times out, is retried, and is reported as timedOut', async () => {
    const s = await webhookServer(() => {
      /* never answer */
    });
    servers.push(s.server);
    const t0 = Date.now();
    const r = await http(s.url, { retries: 1, timeout: '300ms' }).deploy(call());
    assert.equal(r.ok, false);
    assert.equal(r.timedOut, true);
    assert.equal(r.attempts, 2);
    assert.equal(r.detail, 'timeout after 300ms after 2 attempts');
    assert.equal(s.got.length, 2);
    assert.ok(Date.now() - t0 < 10_000);
  });

  it('a refused connection is a retried network error', async () => {
    const s = await webhookServer((_r, _n, res) => res.end());
    await closeServer(s.server);
    const r = await http(s.url, { retries: 2 }).deploy(call());
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 3);
    assert.match(r.detail, /^network error: ECONNREFUSED after 3 attempts$/);
  });

  it('observe reads the JSON answer', async () => {
    const s = await webhookServer((req, _n, res) =>
      res.writeHead(200).end(JSON.stringify({ version: '2.0.0', healthy: true, detail: `observed ${req.body.target.cell}` })),
    );
    servers.push(s.server);
    assert.deepEqual(await http(s.url).observe(call().target), { version: '2.0.0', healthy: true, detail: 'observed c1' });
    assert.equal(s.got[0].body.action, 'observe');
  });

  it('a secret from an unset environment variable is a config error naming it', () => {
    assert.throws(
      () =>
        createHttpDriver(httpDriverSchema.parse({ kind: 'http', url: 'http://127.0.0.1:1/', secret: { env: 'NO_SUCH_SECRET_VAR' } }), {
          env: {},
        }),
      (e: unknown) => isEtapeError(e) && e.code === 'config.invalid' && e.message.includes('NO_SUCH_SECRET_VAR'),
    );
  });
});

describe('createDriver', () => {
  it('uses an injected maker for extra kinds such as the demo fleet', async () => {
    const svc = serviceSchema.parse({ name: 'blob', driver: { kind: 'fleet' } });
    assert.throws(
      () => createDriver(svc),
      (e: unknown) => isEtapeError(e) && e.code === 'config.invalid',
    );
    let seen = '';
    const fake: Driver = {
      deploy: async (c) => ({ ok: true, detail: `fleet ${c.version}`, durationMs: 0, attempts: 1 }),
      rollback: async () => ({ ok: true, detail: '', durationMs: 0, attempts: 1 }),
      force: async () => ({ ok: true, detail: '', durationMs: 0, attempts: 1 }),
      observe: async () => ({ detail: '' }),
    };
    const d = createDriver(svc, {
      extra: {
        fleet: (cfg) => {
          seen = cfg.kind;
          return fake;
        },
      },
    });
    assert.equal(seen, 'fleet');
    assert.equal((await d.deploy(call())).detail, 'fleet 2.0.0');
  });

  it('a service without a driver is a config error', () => {
    assert.throws(
      () => createDriver(serviceSchema.parse({ name: 'blob' })),
      (e: unknown) => isEtapeError(e) && /has no driver/.test(e.message),
    );
  });
});
