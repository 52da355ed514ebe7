// services: what is deployed, where, by which driver, watched by which probes and gates.
import { z } from 'zod';
import { duration, FLOORS, id, instant, secretRef } from './common.js';
import { planWaveSchema } from './policy.js';

export const execDriverSchema = z
  .strictObject({
    kind: z.literal('exec'),
    /** Commands run through the shell; they also get ETAPE_* variables (target, version, idempotency key). */
    deploy: z.string().min(1),
    rollback: z.string().min(1).optional(),
    force: z.string().min(1).optional(),
    observe: z.string().min(1).optional(),
    /**
     * Take a target out of rotation, and put it back (both or neither): a failing target is drained before its
     * rollback or force and restored once it passes on the old version. Tried once each time (no retries), with
     * `timeout`: the way back does not wait longer for a drain.
     */
    drain: z.string().min(1).optional(),
    restore: z.string().min(1).optional(),
    timeout: duration(FLOORS.driverTimeout).default('60s'),
    retries: z.number().int().min(0).max(20).default(2),
    /**
     * Names of this process's environment variables the commands also get. By default they get only the
     * ETAPE_* call variables and the basics (PATH, HOME, USER, LANG, TZ, …): never etape's own secrets.
     */
    passEnv: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'an environment variable name, like AWS_PROFILE' }))
      .default([]),
  })
  .refine((d) => (d.drain === undefined) === (d.restore === undefined), {
    message: 'give drain and restore together: a target drained without a way to restore it stays out of rotation',
    path: ['restore'],
  });

export const httpDriverSchema = z.strictObject({
  kind: z.literal('http'),
  /** Webhook URL; receives a JSON body signed with HMAC-SHA256 in the X-Etape-Signature header. */
  url: z.string().url(),
  secret: secretRef(),
  timeout: duration(FLOORS.driverTimeout).default('30s'),
  retries: z.number().int().min(0).max(20).default(3),
  /** The receiver also handles `drain` and `restore` (take a target out of rotation, put it back). */
  drain: z.boolean().default(false),
});

export const fleetDriverSchema = z.strictObject({
  kind: z.literal('fleet'),
  /** Control URL template of the local fleet's supervisor. */
  url: z.string().default('http://127.0.0.1:{controlPort}'),
  timeout: duration(FLOORS.driverTimeout).default('10s'),
  retries: z.number().int().min(0).max(20).default(1),
  /** Drain a failing cell at the fleet's front door before its way back, and restore it after. */
  drain: z.boolean().default(false),
});

export const driverSchema = z.discriminatedUnion('kind', [execDriverSchema, httpDriverSchema, fleetDriverSchema]);

export const probeSchema = z.strictObject({
  name: id(),
  /** URL template with {region}, {cell} and any region or cell `vars`. */
  url: z.string().min(1),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT']).default('GET'),
  expectStatus: z.union([z.number().int(), z.array(z.number().int())]).default(200),
  bodyMatch: z.string().optional(),
  interval: duration(FLOORS.probeInterval).default('10s'),
  timeout: duration(FLOORS.probeTimeout).default('2s'),
  /** The answer's header that says which version answered (default: X-Etape-Version, then X-Version). */
  versionHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, { message: 'a header name: letters, digits and "-", like X-Version' })
    .optional(),
  /** A field of the answer's JSON body that says which version answered, as a dotted path (`build.version`); wins over the header. */
  versionField: z
    .string()
    .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, { message: 'a dotted path into the JSON body, like version or build.version' })
    .optional(),
  /**
   * Follow-up probes after a failed one (a timeout counts), to confirm it at once rather than an interval
   * later: at most this many per run of failures (a new burst only after a pass), so a sick target is not
   * flooded. 0: none, the regular interval only.
   */
  confirm: z.number().int().min(0).max(10).default(2),
  /** Spacing of the follow-up probes, from the failure and from each other (start to start). */
  confirmEvery: duration(FLOORS.probeConfirmEvery).default('200ms'),
});

const limits = {
  /** Failed measurements tolerated before the gate fails (0: the first failure fails it). */
  failureLimit: z.number().int().min(0).default(0),
  /** Consecutive errored measurements (could not measure) tolerated before the rollout halts (I3). */
  consecutiveErrorLimit: z.number().int().min(0).default(4),
  /** Inconclusive measurements tolerated before the gate fails. */
  inconclusiveLimit: z.number().int().min(0).default(10),
  /** Evidence older than this is stale: not a pass (I3). Defaults to 3 × the probe interval. */
  freshFor: duration().optional(),
};

export const probeGateSchema = z.strictObject({
  kind: z.literal('probe'),
  name: id(),
  probe: id(),
  /** Consecutive failed probes that fail the gate (k). */
  failAfter: z.number().int().positive().default(3),
  ...limits,
});

export const metricGateSchema = z.strictObject({
  kind: z.literal('metric'),
  name: id(),
  /** Prometheus base URL. */
  prometheus: z.string().url(),
  /** PromQL with {region}, {cell}, {version} placeholders; evaluated once per target (instant query). */
  query: z.string().min(1),
  /** Conditions on `result`, like `result < 0.01` or `result >= 0.99 and result <= 1`. */
  successCondition: z.string().optional(),
  failureCondition: z.string().optional(),
  interval: duration(FLOORS.queryInterval).default('30s'),
  timeout: duration(FLOORS.probeTimeout).default('5s'),
  ...limits,
});

export const judgeMetricSchema = z
  .strictObject({
    /** Shown in every explanation: "p99 latency +38% (98% CI …)". */
    name: z.string().min(1).max(80),
    /**
     * PromQL for one target; placeholders {region}, {cell}, {version}. For `latency`: a value per step (for
     * example a p99 from a histogram). For `count`: the cumulative counter of failed requests.
     */
    query: z.string().min(1),
    /** For `count`: the cumulative counter of all requests (the denominator). */
    totalQuery: z.string().min(1).optional(),
    kind: z.enum(['count', 'latency']).default('latency'),
    /** Which change is bad. */
    direction: z.enum(['increase', 'decrease', 'either']).default('increase'),
    critical: z.boolean().default(false),
    /** Smallest relative change that matters (0.1 = 10%); default 0.1 for latency, 0.25 for count. */
    effectFloor: z.number().min(0).optional(),
    weight: z.number().positive().default(1),
    /** Samples (latency) or requests (count) each side needs before this metric can pass. */
    minSamples: z.number().int().positive().optional(),
    /** To pass, rule out a regression this large (default twice the floor). */
    passMargin: z.number().min(0).optional(),
    /** Latency: compare canary and baseline only within the same step (cancels a strong common cycle). */
    alignInTime: z.boolean().default(false),
  })
  .refine((m) => m.kind !== 'count' || m.totalQuery !== undefined, {
    message: 'a count metric needs `totalQuery`, the cumulative counter of all requests (`query` counts the failed ones)',
    path: ['totalQuery'],
  });

export const judgeGateSchema = z.strictObject({
  kind: z.literal('judge'),
  name: id(),
  prometheus: z.string().url(),
  metrics: z.array(judgeMetricSchema).min(1),
  interval: duration(FLOORS.queryInterval).default('1m'),
  timeout: duration(FLOORS.probeTimeout).default('10s'),
  /** Resolution of the range queries (one latency sample / one count bucket per step). */
  step: duration(FLOORS.judgeStep).default('15s'),
  /** Confidence of decisions and intervals; stays valid however often the judge looks. */
  confidence: z.number().gt(0.5).lt(1).default(0.98),
  /** Latency samples each side needs before a latency metric can pass. */
  minSamples: z.number().int().positive().default(50),
  /** Requests each side needs before a count metric can pass. */
  minRequests: z.number().int().positive().default(1000),
  /** A count metric also passes when, with confidence, the canary fails at most this much more often than the baseline (0.002 = 0.2 points). */
  negligibleIncrease: z.number().min(0).max(1).default(0.002),
  /** Time buckets (steps) a count metric needs before it can fail: one burst is not a trend. */
  minBuckets: z.number().int().positive().default(5),
  /** Judge each canary target alone as well as all together. */
  perCell: z.boolean().default(true),
  passScore: z.number().min(0).max(100).default(95),
  marginalScore: z.number().min(0).max(100).default(75),
  ...limits,
  /** Early looks are inconclusive while traffic accrues; the limit counts only looks with enough data. */
  inconclusiveLimit: z.number().int().min(0).default(10),
  /**
   * What a judgment still inconclusive at the end of the wave's bake time does (only when data are missing
   * or below the minimums; otherwise the last look decides pass or fail): `pause` holds the wave for a
   * person, `fail` fails the gate.
   */
  inconclusive: z.enum(['pause', 'fail']).default('pause'),
});

export const approvalGateSchema = z.strictObject({
  kind: z.literal('approval'),
  name: id(),
});

export const gateSchema = z.discriminatedUnion('kind', [probeGateSchema, metricGateSchema, judgeGateSchema, approvalGateSchema]);

export const versionSchema = z.strictObject({
  /**
   * Where the version comes from: `observe` (the driver's observe: an exec command that prints it, an http
   * driver's observe call), `probe` (the answers of the service's probes: `versionHeader` / `versionField`),
   * or `auto` (default): whichever of them reports one.
   */
  from: z.enum(['auto', 'observe', 'probe'], { message: 'version.from is auto, observe or probe' }).default('auto'),
  /** How long a target may take, after its deploy or rollback call returns, to report the version it should run. */
  timeout: duration({ min: '1s', why: 'a deploy needs time to show' }).default('1m'),
  /** How often the driver's observe runs: while proving a deploy or a rollback, and for drift in `etape serve`. */
  every: duration({ min: '1s', why: 'observing every target more often than once a second floods them' }).default('30s'),
});

export const serviceSchema = z.strictObject({
  name: id(),
  description: z.string().optional(),
  /** Regions the service runs in; `all` (default) for the whole fleet. */
  regions: z.union([z.literal('all'), z.array(id()).min(1)]).default('all'),
  driver: driverSchema.optional(),
  probes: z.array(probeSchema).default([]),
  gates: z.array(gateSchema).default([]),
  /** Version running everywhere before any rollout (the last verified version). */
  initialVersion: z.string().optional(),
  /** How etape reads the version a target runs, to prove a deploy and a rollback (I9) and to see drift. */
  version: versionSchema.optional(),
  /** A target found running a version etape did not put there: `alert` (default) or `revert` it, along the pair-safe path. */
  drift: z
    .enum(['alert', 'revert'], { message: 'drift is `alert` (report it) or `revert` (report it and put the verified version back)' })
    .default('alert'),
  /**
   * When measurement of this service began in every region. Before it, the history shows "not monitored" and
   * the SLA counts nothing; after it, time without evidence counts as down (I8). Default: each component's
   * first stored evidence.
   */
  measuredSince: instant().optional(),
  /** Waves written by hand instead of planned from the policy; checked against I1 and I2 (see docs/planning.md). */
  plan: z.array(planWaveSchema).min(1).optional(),
});

export type DriverConfig = z.infer<typeof driverSchema>;
export type ProbeConfig = z.infer<typeof probeSchema>;
export type GateConfig = z.infer<typeof gateSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
