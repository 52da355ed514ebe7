// Where a process runs, precisely enough to ask "is that process group still alive?" from another process:
// the machine's boot id and the PID namespace (so two containers, or two boots, never look alike). Only on
// Linux; elsewhere undefined, and a takeover then waits for a call's timeout instead.
import { readFileSync, readlinkSync } from 'node:fs';

let cached: string | null | undefined;

/** This process's place, or undefined where it cannot be told apart from another machine's. */
export function processPlace(): string | undefined {
  if (cached === undefined) {
    try {
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      const ns = readlinkSync('/proc/self/ns/pid');
      cached = boot && ns ? `${boot}/${ns}` : null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}

/** True when the process group `pgid` is known to be gone (checked only from the same place). */
export function processGroupGone(place: string | null | undefined, pgid: number | null | undefined): boolean {
  if (!place || !pgid || place !== processPlace()) return false;
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
