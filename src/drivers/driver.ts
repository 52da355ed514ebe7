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
}

export interface DriverResult {
  ok: boolean;
  /** One line a person can read: "exit 0", "HTTP 502 after 3 attempts", "timeout after 30s". */
  detail: string;
  timedOut?: boolean;
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
  /** Puts `call.version` on the target, gracefully. */
  deploy(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /** Puts the target back on `call.version` (its last verified version), gracefully. */
  rollback(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /** Kills the target's process without asking and starts it on `call.version`: for a process that will not listen (I4). */
  force(call: DriverCall, signal?: AbortSignal): Promise<DriverResult>;
  /** Reports what the target runs now, as far as the driver can tell. */
  observe(target: Target, signal?: AbortSignal): Promise<Observed>;
  close?(): Promise<void>;
}
