// The Driver contract: how etape changes what runs on a target. Every method must be idempotent for the
// same `key`: a call repeated after a controller crash (I5) must not deploy twice. Failures are values
// (`ok: false`), never exceptions; a timeout is a failure with `timedOut: true`.
import type { Target } from '../core/types.js';

export interface DriverCall {
  /** Idempotency key: `${rolloutId}:${region}/${cell}:${step}:${attempt}`. */
  key: string;
  rolloutId: string;
  target: Target;
  /** The version the target must run after the call. */
  version: string;
  /** The version it ran before (for deploy) or is leaving (for rollback/force). */
  fromVersion?: string;
  /**
   * The lease token of the controller's holding that makes the call: it grows with every new holder, so a
   * target that keeps the greatest token it has seen can refuse a call from a holder that lost the lease.
   */
  leaseToken?: number;
  /**
   * Asked before each attempt, with how long that attempt may run at most (timeout and kill grace), ms. It
   * proves in the store that this controller still holds the rollout's lease and makes the lease outlive the
   * attempt; it answers the local epoch time by which the attempt must be over, or undefined: start nothing
   * (the lease is lost). Absent when nothing fences the call (tests, one-off tools).
   */
  arm?: (attemptMs: number) => Promise<number | undefined>;
  /** Told the process group of each attempt the driver starts (exec), so a takeover can tell when it is over. */
  onSpawn?: (pgid: number) => void;
}

export interface DriverResult {
  ok: boolean;
  /** One line a person can read: "exit 0", "HTTP 502 after 3 attempts", "timeout after 30s". */
  detail: string;
  timedOut?: boolean;
  /** Not started (or not retried) because `arm` said the lease is lost: nothing is known about the target. */
  fenced?: boolean;
  /** Captured output (exec stdout/stderr, webhook response), trimmed; kept in the event log. */
  output?: string;
  durationMs: number;
  attempts: number;
}

export interface Observed {
  version?: string;
  healthy?: boolean;
  detail: string;
}

export interface Driver {
  /**
   * When set, the driver calls `DriverCall.arm` before each attempt, and no attempt runs longer than it asked
   * for even if this process dies or stops. Otherwise the controller arms the whole call once, for
   * `callMs` (default: the lease).
   */
  armsAttempts?: boolean;
  /** The longest one call may take (for drivers that do not arm each attempt), ms. */
  callMs?: number;
  /** Puts `call.version` on the target, gracefully. */
  deploy(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /** Puts the target back on `call.version` (its last verified version), gracefully. */
  rollback(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /** Kills the target's process without asking and starts it on `call.version`: for a process that will not listen (I4). */
  force(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /**
   * Optional, with `restore`: takes the target out of rotation (a load balancer stops sending it customers)
   * without changing what it runs. Called on a failing target before its rollback or force; it must return
   * promptly even when the target hangs, since the way back waits for it (a failure is logged and the way
   * back goes on).
   */
  drain?(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /** Puts a drained target back into rotation (after it passed its probes on the old version). */
  restore?(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /** Reports what the target runs now, as far as the driver can tell. */
  observe(target: Target, signal?: AbortSignal): Promise<Observed>;
  close?(): Promise<void>;
}
