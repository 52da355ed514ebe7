// Whether an `etape serve` is driving rollouts on this store: the server keeps a lease named
// `etape-serve` alive; anything else can ask without disturbing it.
import type { Clock } from '../core/clock.js';
import type { Store } from '../store/store.js';

export const SERVE_LEASE = 'etape-serve';

/** True when a server holds its lease. Probes by taking the lease for a millisecond and giving it back. */
export async function serverRunning(store: Store, clock: Clock): Promise<boolean> {
  const me = `probe:${process.pid}:${Math.random().toString(36).slice(2)}`;
  const now = clock.now();
  const free = await store.acquireLease(SERVE_LEASE, me, now, now + 1);
  if (free) await store.releaseLease(SERVE_LEASE, me);
  return !free;
}

/** Keeps the server's lease alive until the returned function is called (which releases it). */
export function holdServeLease(store: Store, clock: Clock, holder: string, leaseMs: number): () => Promise<void> {
  let stopped = false;
  const renew = () => store.acquireLease(SERVE_LEASE, holder, clock.now(), clock.now() + leaseMs).catch(() => false);
  void renew();
  const t = setInterval(
    () => {
      if (!stopped) void renew();
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  t.unref();
  return async () => {
    stopped = true;
    clearInterval(t);
    await store.releaseLease(SERVE_LEASE, holder).catch(() => {});
  };
}
