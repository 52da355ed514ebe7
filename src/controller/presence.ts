// Whether an `etape serve` is driving rollouts on this store: the server keeps a lease named
// `etape-serve` alive; anything else can ask without disturbing it.
import type { Store } from '../store/store.js';

export const SERVE_LEASE = 'etape-serve';

/** True when a server holds its lease (judged by the store's clock). */
export async function serverRunning(store: Store): Promise<boolean> {
  const l = await store.getLease(SERVE_LEASE);
  return l !== undefined && l.until > (await store.now());
}

/** Keeps the server's lease alive until the returned function is called (which releases it). */
export function holdServeLease(store: Store, holder: string, leaseMs: number): () => Promise<void> {
  let stopped = false;
  const renew = () => store.acquireLease(SERVE_LEASE, holder, leaseMs).catch(() => undefined);
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
