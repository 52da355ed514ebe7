// Hook for the demo's status page and SLA report, written next to the event log from the same store.
// The status page (src/statuspage/) and the SLA report (src/sla/) are wired in here once they land; until
// then this writes nothing and says so in the returned list.
import type { EtapeConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';

export interface DemoReportsInput {
  store: Store;
  config: EtapeConfig;
  /** The demo's output folder: the status page goes to `<out>/status/`, the SLA report to `<out>/sla.json`. */
  out: string;
  rolloutId: string;
}

/** Files written (absolute paths). Not wired yet: returns an empty list. */
export async function writeStatusAndSla(_input: DemoReportsInput): Promise<string[]> {
  return [];
}
