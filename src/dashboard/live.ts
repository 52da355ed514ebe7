// The change feed behind the dashboard's live pages: it follows the store's event log (every state change
// is an event, I5), whichever process wrote it, and tells each open page what changed. It polls only while
// some page listens. Evidence (probe results, metric readings) arrives without events; a slower tick lets
// pages that chart it refresh.
import type { Store } from '../store/store.js';
import type { Logger } from '../core/log.js';

export interface Change {
  /** Rollouts with new events, or `null` for changes not tied to a rollout (incidents). */
  rollouts: string[];
  other: boolean;
  seq: number;
}

type Listener = (msg: { kind: 'change'; change: Change } | { kind: 'evidence' }) => void;

export interface LiveFeedOptions {
  store: Store;
  log?: Logger;
  pollMs?: number;
  evidenceMs?: number;
}

export class LiveFeed {
  private listeners = new Set<Listener>();
  private seq: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private evidenceTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly pollMs: number;
  private readonly evidenceMs: number;

  constructor(private readonly opts: LiveFeedOptions) {
    this.pollMs = opts.pollMs ?? 500;
    this.evidenceMs = opts.evidenceMs ?? 3000;
  }

  get size(): number {
    return this.listeners.size;
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.evidenceTimer = setInterval(() => this.emit({ kind: 'evidence' }), this.evidenceMs);
      void this.poll();
    }
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.evidenceTimer);
    this.timer = undefined;
    this.evidenceTimer = undefined;
  }

  private emit(msg: Parameters<Listener>[0]): void {
    for (const l of this.listeners) {
      try {
        l(msg);
      } catch {
        // a closed stream; its own cleanup unsubscribes it
      }
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const first = this.seq === undefined;
      const rollouts = new Set<string>();
      let other = false;
      for (;;) {
        const evs = await this.opts.store.listEvents({ afterSeq: this.seq ?? 0, limit: 1000 });
        for (const e of evs) {
          this.seq = e.seq;
          if (e.rolloutId && !e.type.startsWith('incident.')) rollouts.add(e.rolloutId);
          else other = true;
        }
        if (evs.length < 1000) break;
      }
      this.seq ??= 0;
      // The first poll only finds where the log ends.
      if (!first && (rollouts.size > 0 || other)) this.emit({ kind: 'change', change: { rollouts: [...rollouts], other, seq: this.seq } });
    } catch (err) {
      this.opts.log?.warn({ err }, 'dashboard live feed: reading events failed');
    } finally {
      this.polling = false;
    }
  }
}
