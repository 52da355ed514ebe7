// The demo's blob front-end as a real process: the healthy version and each fault of the bad one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { killChildren, startChild, waitFor } from './helpers.js';
import type { ChildProcess } from 'node:child_process';
import { blobServerCommand, getJson, isRunning, postJson } from '../src/demo/fleet.js';

after(killChildren);

const alive = isRunning;

async function startCell(extra: string[]): Promise<{ child: ChildProcess; base: string; exited: Promise<number | null> }> {
  const { command, args } = blobServerCommand();
  const { child, exited } = startChild(command, [...args, '--region', 'test', '--cell', 'cell-1', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
    child.once('exit', (code) => reject(new Error(`exited early: ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}`, exited };
}

async function put(url: string, body: string, timeoutMs = 2000): Promise<{ status?: number; timedOut?: boolean }> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const r = await fetch(url, { method: 'PUT', body, signal: ctl.signal });
    await r.text();
    return { status: r.status };
  } catch {
    return { timedOut: ctl.signal.aborted };
  } finally {
    clearTimeout(t);
  }
}

test('the healthy version stores and serves blobs and exposes Prometheus metrics with its version', async () => {
  const { child, base } = await startCell(['--version', 'v1']);
  assert.equal((await put(`${base}/blobs/a`, 'hello')).status, 201);
  const r = await fetch(`${base}/blobs/a`);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'hello');
  assert.equal((await fetch(`${base}/blobs/missing`)).status, 404);
  const h = await getJson(`${base}/health`, 2000);
  assert.equal(h.ok, true);
  assert.equal((h.body as { version: string }).version, 'v1');
  const m = await (await fetch(`${base}/metrics`)).text();
  assert.match(m, /^etape_blob_requests_total\{region="test",cell="cell-1",version="v1",route="blobs",method="PUT",code="201"\} 1$/m);
  assert.match(m, /^etape_blob_requests_total\{[^}]*route="blobs",method="GET",code="404"\} 1$/m);
  assert.match(m, /^etape_blob_requests_total\{[^}]*route="blobs",method="GET",code="200"\} 1$/m);
  assert.match(m, /^etape_blob_requests_total\{[^}]*route="health",method="GET",code="200"\} 1$/m);
  assert.match(m, /^etape_blob_request_duration_seconds_count\{[^}]*version="v1"\} 3$/m);
  assert.match(m, /^etape_blob_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} 3$/m);
  assert.match(m, /^etape_blob_info\{region="test",cell="cell-1",version="v1"\} 1$/m);
  child.kill('SIGKILL');
});

test('hang: the blob path blocks the event loop for good; health and a graceful restart request go unanswered', async () => {
  const { child, base } = await startCell(['--version', 'v2', '--fault', 'hang']);
  // Before any blob request the switch has not been hit: it looks healthy.
  assert.equal((await getJson(`${base}/health`, 2000)).ok, true);
  const r = await put(`${base}/blobs/x`, 'data', 1000);
  assert.equal(r.timedOut, true, 'the blob request never gets an answer');
  const h = await getJson(`${base}/health`, 1000);
  assert.equal(h.ok, false);
  assert.equal(h.timedOut, true);
  const asked = await postJson(`${base}/admin/reconfigure`, { version: 'v1' }, 1500);
  assert.equal(asked.timedOut, true, 'a hung cell cannot accept the revert');
  assert.equal(alive(child.pid!), true, 'still running (hung), not crashed');
  // Still hung a moment later: the loop does not end by itself.
  assert.equal((await getJson(`${base}/health`, 500)).timedOut, true);
  child.kill('SIGKILL');
});

test('errors: blob requests fail with 500 at the configured share, health stays green', async () => {
  const { child, base } = await startCell(['--version', 'v2', '--fault', 'errors', '--error-rate', '1']);
  assert.equal((await put(`${base}/blobs/x`, 'data')).status, 500);
  assert.equal((await fetch(`${base}/blobs/x`)).status, 500);
  assert.equal((await getJson(`${base}/health`, 2000)).ok, true);
  child.kill('SIGKILL');

  const half = await startCell(['--version', 'v2', '--fault', 'errors', '--error-rate', '0.5']);
  const codes: number[] = [];
  for (let i = 0; i < 60; i++) codes.push((await fetch(`${half.base}/blobs/probe`)).status);
  const failed = codes.filter((c) => c === 500).length;
  assert.ok(failed > 5 && failed < 55, `about half fail, got ${failed}/60`);
  half.child.kill('SIGKILL');
});

test('latency: the blob path is slower by the configured delay, health is not', async () => {
  const { child, base } = await startCell(['--version', 'v2', '--fault', 'latency', '--latency-ms', '400']);
  const t0 = performance.now();
  assert.equal((await fetch(`${base}/blobs/probe`)).status, 200);
  assert.ok(performance.now() - t0 >= 350, 'blob request delayed');
  assert.equal((await getJson(`${base}/health`, 2000)).ok, true);
  child.kill('SIGKILL');
});

test('crash-loop: the process exits by itself soon after it starts', async () => {
  const { exited } = await startCell(['--version', 'v2', '--fault', 'crash-loop', '--crash-after-ms', '200']);
  assert.equal(await exited, 3);
});

test('graceful reconfigure: a healthy cell accepts, drains and exits', async () => {
  const { base, exited } = await startCell(['--version', 'v1']);
  const r = await postJson(`${base}/admin/reconfigure`, { version: 'v2' }, 2000);
  assert.equal(r.status, 202);
  assert.equal(await exited, 0);
});

test('a hung cell exits when its parent dies', async () => {
  // A middle process starts a cell, makes it hang, prints its pid, and is then killed with SIGKILL.
  const { command, args } = blobServerCommand();
  const script = `
    const { spawn } = require('node:child_process');
    const c = spawn(${JSON.stringify(command)}, ${JSON.stringify(args)}.concat(['--version','v2','--fault','hang','--parent-pid', String(process.pid)]), { stdio: ['ignore','pipe','inherit','ipc'] });
    c.on('message', async (m) => {
      if (m.type !== 'ready') return;
      const ctl = new AbortController(); setTimeout(() => ctl.abort(), 300);
      await fetch('http://127.0.0.1:' + m.port + '/blobs/k', { signal: ctl.signal }).catch(() => {});
      console.log(JSON.stringify({ cell: c.pid }));
    });
  `;
  const middle = startChild(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }).child;
  const cellPid = await new Promise<number>((resolve) => {
    let buf = '';
    middle.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /\{"cell":(\d+)\}/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
  });
  assert.equal(alive(cellPid), true);
  middle.kill('SIGKILL');
  await waitFor('the orphaned hung cell to exit', () => !alive(cellPid), 10_000);
});
