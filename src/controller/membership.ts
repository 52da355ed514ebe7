// Several `etape serve` on one store share the work that is not a rollout: each keeps a member lease
// (`member:<holder>`) alive, reads which members are live (judged by the store's clock), and takes the
// targets that rendezvous hashing gives it, so each target is probed by one server. A member that dies stops
// renewing; within the lease time its lease runs out and the others, on their next look, take its share.
// One named lease elects the status-page publisher the same way (`Elected`).
import { createHash } from 'node:crypto';
import { silentLogger, type Logger } from '../core/log.js';
import type { Fence, Store } from '../store/store.js';

const MEMBER_PREFIX = 'member:';

/** How often a member renews its lease and looks at who is live: a fifth of the lease, at most 1 s. */
export function refreshEvery(leaseMs: number): number {
  return Math.max(50, Math.min(1000, Math.floor(leaseMs / 5)));
}

function weight(member: string, key: string): bigint {
  return createHash('sha256').update(member).update('\0').update(key).digest().readBigUInt64BE(0);
}

/**
 * Rendezvous (highest random weight) hashing: the member that owns `key`. When a member joins or leaves,
 * only the keys it wins or held move; every member computes the same answer from the same list.
 */
export function ownerOf(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestW = -1n;
  for (const m of members) {
    const w = weight(m, key);
    if (w > bestW || (w === bestW && best !== undefined && m < best)) {
      best = m;
      bestW = w;
    }
  }
  return best;
}

export interface MembershipOptions {
  store: Pick<Store, 'acquireLease' | 'releaseLease' | 'liveLeases'>;
  holder: string;
  leaseMs: number;
  log?: Logger;
  /** Called with the live members (sorted, this one included) when the list changes, and once at start. */
  onChange: (members: string[]) => void;
}

export class Membership {
  private timer: NodeJS.Timeout | undefined;
  private current: string[] | undefined;
  private refreshing: Promise<void> | undefined;
  private failing = false;
  private stopped = false;

  constructor(private readonly o: MembershipOptions) {}

  get members(): readonly string[] {
    return this.current ?? [this.o.holder];
  }

  /** Renews this member's lease and reads the live members; a failure keeps the last list (logged once). */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const log = this.o.log ?? silentLogger;
      try {
        await this.o.store.acquireLease(MEMBER_PREFIX + this.o.holder, this.o.holder, this.o.leaseMs);
        const live = (await this.o.store.liveLeases(MEMBER_PREFIX)).map((l) => l.name.slice(MEMBER_PREFIX.length));
        if (!live.includes(this.o.holder)) live.push(this.o.holder);
        live.sort();
        if (this.failing) log.info('membership: reading live members works again');
        this.failing = false;
        if (this.current === undefined || live.join('\n') !== this.current.join('\n')) {
          const before = this.current;
          this.current = live;
          if (before !== undefined) log.info({ members: live.length, from: before.length }, 'membership: the live servers changed');
          this.o.onChange(live);
        }
      } catch (e) {
        if (!this.failing) log.warn({ err: e }, 'membership: cannot read live members; keeping the last share');
        this.failing = true;
      }
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** The first refresh, then one every refreshEvery(leaseMs). */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopped) return;
    if (this.current === undefined) {
      // The store did not answer: work alone until it does (every target probed, none missed).
      this.current = [this.o.holder];
      this.o.onChange(this.current);
    }
    this.timer = setInterval(() => void this.refresh(), refreshEvery(this.o.leaseMs));
    this.timer.unref();
  }

  /** Stops renewing and ends this member's lease, so the others take its share at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.refreshing;
    await this.o.store.releaseLease(MEMBER_PREFIX + this.o.holder, this.o.holder).catch(() => {});
  }
}

/**
 * One holder of a named lease among several servers (the status-page publisher): tries to take it every
 * refreshEvery(leaseMs), renews it while held. `fence()` is the holding while it surely lasts (local
 * monotonic time), for writes the store checks; undefined when not held.
 */
export class Elected {
  private timer: NodeJS.Timeout | undefined;
  private holding: { token: number; localUntil: number } | undefined;
  private trying: Promise<void> | undefined;

  constructor(
    private readonly o: {
      store: Pick<Store, 'acquireLease' | 'releaseLease'>;
      lease: string;
      holder: string;
      leaseMs: number;
      log?: Logger;
      /** Called when this server takes the lease (not on a renewal). */
      onGain?: () => void;
    },
  ) {}

  fence(): Fence | undefined {
    const h = this.holding;
    if (!h || performance.now() >= h.localUntil) return undefined;
    return { lease: this.o.lease, holder: this.o.holder, token: h.token };
  }

  /** Takes or renews the lease once; true while held. */
  async tryHold(): Promise<boolean> {
    this.trying ??= (async () => {
      const t0 = performance.now();
      const log = this.o.log ?? silentLogger;
      try {
        const g = await this.o.store.acquireLease(this.o.lease, this.o.holder, this.o.leaseMs);
        const was = this.holding;
        if (!g) {
          if (was) log.warn({ lease: this.o.lease }, `another server holds ${this.o.lease} now`);
          this.holding = undefined;
          return;
        }
        this.holding = { token: g.token, localUntil: t0 + this.o.leaseMs };
        if (!was || was.token !== g.token) {
          log.info({ lease: this.o.lease, token: g.token }, `this server holds ${this.o.lease}`);
          this.o.onGain?.();
        }
      } catch (e) {
        log.debug({ err: e, lease: this.o.lease }, 'could not renew a lease; retrying');
      }
    })().finally(() => (this.trying = undefined));
    await this.trying;
    return this.fence() !== undefined;
  }

  start(): void {
    void this.tryHold();
    this.timer = setInterval(() => void this.tryHold(), refreshEvery(this.o.leaseMs));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.trying;
    if (this.holding) await this.o.store.releaseLease(this.o.lease, this.o.holder).catch(() => {});
    this.holding = undefined;
  }
}
