// The store's health is the server's: a write probe on a timer (a store that can be read but not written —
// a read-only SQLite file, a PostgreSQL that is down or read-only — fails it), and for SQLite a check that
// the file this process opened is still the one at its path (a deleted or replaced file is not written
// to; SQLite would go on writing to the unlinked inode and lose everything at exit). Failures are logged
// once when they start, then with backoff (1 s, 2 s, 4 s … 5 min), and once when they end.
import { statSync } from 'node:fs';
import type { Logger } from '../core/log.js';
import type { Store } from './store.js';

export interface StoreHealthState {
  ok: boolean;
  /** Since when (epoch ms) it has been in this state. */
  since: number;
  /** What failed, for /healthz and the log. */
  error?: string;
  /** Failed checks in a row. */
  failures: number;
}

/** Logs a repeating failure once, then with exponential backoff, and once when it clears. */
export class BackoffLog {
  private next = 0;
  private delay: number;
  private suppressed = 0;
  private failing = false;
  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly firstMs = 1000,
    private readonly maxMs = 5 * 60_000,
  ) {
    this.delay = firstMs;
  }
  failed(err: unknown, now = Date.now()): void {
    if (!this.failing || now >= this.next) {
      this.log.error({ err, suppressed: this.suppressed, nextLogInMs: this.delay }, `${this.what}: failing`);
      this.failing = true;
      this.suppressed = 0;
      this.next = now + this.delay;
      this.delay = Math.min(this.maxMs, this.delay * 2);
    } else this.suppressed++;
  }
  ok(): void {
    if (this.failing) this.log.warn({ suppressed: this.suppressed }, `${this.what}: working again`);
    this.failing = false;
    this.suppressed = 0;
    this.delay = this.firstMs;
    this.next = 0;
  }
}

export interface StoreHealthOptions {
  store: Store;
  holder: string;
  log: Logger;
  /** How often to check (ms). Default 2000. */
  everyMs?: number;
  /** Called once when the SQLite file this process opened is gone or replaced: the server must stop. */
  onVanished?: (why: string) => void;
  /** Called on each change of state (metrics). */
  onChange?: (s: StoreHealthState) => void;
}

export class StoreHealth {
  private state: StoreHealthState = { ok: true, since: Date.now(), failures: 0 };
  private timer: NodeJS.Timeout | undefined;
  private inode: number | undefined;
  private path: string | undefined;
  private vanished = false;
  private checking: Promise<void> | undefined;
  private readonly logger: BackoffLog;

  constructor(private readonly o: StoreHealthOptions) {
    this.logger = new BackoffLog(o.log, 'store');
    const s = o.store as Store & { kind?: string; path?: string };
    if (s.kind === 'sqlite' && s.path && s.path !== ':memory:') {
      this.path = s.path;
      try {
        this.inode = statSync(s.path).ino;
      } catch {
        this.inode = undefined;
      }
    }
  }

  get current(): StoreHealthState {
    return { ...this.state };
  }

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.o.everyMs ?? 2000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Another part saw the store fail (a reconcile, a probe flush): counts as a failed check. */
  report(err: unknown): void {
    this.set(false, err);
  }

  /** One check now (the timer's, or a test's). */
  check(): Promise<void> {
    this.checking ??= this.run().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async run(): Promise<void> {
    if (this.path !== undefined) {
      let why: string | undefined;
      try {
        const ino = statSync(this.path).ino;
        if (this.inode !== undefined && ino !== this.inode) why = `the SQLite file ${this.path} was replaced by another file`;
      } catch (e) {
        why = `the SQLite file ${this.path} is gone (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      }
      if (why) {
        this.set(false, new Error(why));
        if (!this.vanished) {
          this.vanished = true;
          this.o.onVanished?.(why);
        }
        return;
      }
    }
    try {
      // A write: leases are tiny rows, and this one is this process's own.
      await this.o.store.acquireLease(`health:${this.o.holder}`, this.o.holder, 60_000);
      this.set(true);
    } catch (e) {
      this.set(false, e);
    }
  }

  private set(ok: boolean, err?: unknown): void {
    const was = this.state.ok;
    if (ok) {
      this.logger.ok();
      this.state = was ? { ...this.state, failures: 0 } : { ok: true, since: Date.now(), failures: 0 };
    } else {
      this.logger.failed(err);
      const error = err instanceof Error ? err.message : String(err);
      this.state = { ok: false, since: was ? Date.now() : this.state.since, error, failures: this.state.failures + 1 };
    }
    if (was !== ok) this.o.onChange?.(this.current);
  }
}
