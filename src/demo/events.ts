// The demo's event log in words: one line per rollout event worth showing in the live view.

export function describeEvent(e: { type: string; data: unknown }): string | undefined {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const target = typeof d.target === 'string' ? d.target : '';
  const regions = Array.isArray(d.regions) ? ` (${(d.regions as string[]).join(', ')})` : '';
  switch (e.type) {
    case 'rollout.running':
      return d.from === 'pending' ? 'rollout started' : 'rollout resumed';
    case 'rollout.halted':
      return d.gate ? `HALTED by the ${d.kind ?? ''} gate ${d.gate}: ${d.reason}` : `HALTED: ${d.reason}`;
    case 'demo.judge':
      return String(d.text ?? '');
    case 'gate.skipped':
      return `gate ${d.gate} skipped in wave ${d.wave}: ${d.reason}`;
    case 'wave.bake_waiting_for_data':
      return `wave ${d.wave}: bake time done, waiting for enough data for ${Array.isArray(d.gates) ? (d.gates as Array<{ gate: string }>).map((g) => g.gate).join(', ') : 'the judge'}`;
    case 'rollout.rolling_back':
      return `rolling back ${Array.isArray(d.targets) ? d.targets.length : ''} touched target(s)`;
    case 'rollout.rolled_back':
      return 'rollout rolled back: every touched target is on its last verified version';
    case 'rollout.completed':
      return 'rollout completed: every wave verified';
    case 'rollout.failed':
      return `rollout FAILED: ${d.reason ?? 'rollback failed'}`;
    case 'wave.deploying':
    case 'wave.baking':
    case 'wave.verified':
      return `wave ${d.wave}${regions}: ${e.type.slice('wave.'.length)}`;
    case 'gate.verdict':
      return d.verdict === 'inconclusive' ? undefined : `gate ${d.gate}: ${d.verdict} — ${d.reason}`;
    case 'target.deploying':
      return `deploy ${d.version} → ${target}`;
    case 'target.rolling_back':
      return `roll back to ${d.version} → ${target}`;
    case 'target.forcing':
      return `force ${d.version} → ${target}${d.reason ? ` (${d.reason})` : ''}`;
    case 'target.drained':
      return `${target} out of rotation: customers are no longer sent to it`;
    case 'target.drain_failed':
      return `drain failed: ${target}${d.detail ? ` — ${d.detail}` : ''}; going on with the ${d.then ?? 'way back'}`;
    case 'target.restored':
      return `${target} back in rotation on ${d.version}`;
    case 'target.restore_failed':
      return `restore failed: ${target}${d.detail ? ` — ${d.detail}` : ''}${d.retrying ? '; trying again' : '; it stays out of rotation'}`;
    case 'target.deploy_failed':
    case 'target.rollback_failed':
    case 'target.force_failed':
    case 'target.failed':
      return `${e.type.slice('target.'.length).replace('_', ' ')}: ${target}${d.detail ? ` — ${d.detail}` : ''}`;
    case 'driver.deploy.succeeded':
    case 'driver.rollback.succeeded':
    case 'driver.force.succeeded':
      return `  ${target}: ${d.detail}`;
    case 'driver.deploy.failed':
    case 'driver.rollback.failed':
    case 'driver.force.failed':
      return `  ${target}: ${e.type.split('.')[1]} failed — ${d.detail}`;
    default:
      return undefined;
  }
}
