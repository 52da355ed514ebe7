// Reading canary and baseline series from files for the offline judge (`etape judge`): CSV or JSON rows of
// `time, target, metric, value[, total]`. A metric whose rows carry `total` is a count (value = failed
// requests, total = all requests in that time bucket); otherwise each row is one sample (a latency).
import { EtapeError, type Problem } from '../core/errors.js';
import type { CountPoint, JudgeMetricInput, JudgeMetricSpec, MetricKind, TargetSeries, ValuePoint } from './judge.js';

export interface SeriesRow {
  t: number;
  target: string;
  metric: string;
  value: number;
  total?: number;
  /** 1-based line (CSV) or array index + 1 (JSON), for messages. */
  line: number;
}

/** Time as unix seconds or milliseconds, an ISO 8601 date, or any plain number (an index). */
function parseTime(raw: unknown): number | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const s = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  const d = Date.parse(s);
  return Number.isNaN(d) ? undefined : d;
}

/** Splits one CSV line, honouring double quotes ("a,b" and "" for a quote). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

const COLUMNS = ['time', 'target', 'metric', 'value', 'total'] as const;

/** Parses series rows from a file's text; `file` is used in messages and as the default target. */
export function parseSeries(text: string, file: string): SeriesRow[] {
  const trimmed = text.trimStart();
  return trimmed.startsWith('[') || trimmed.startsWith('{') ? parseJsonSeries(text, file) : parseCsvSeries(text, file);
}

function fail(file: string, problems: Problem[]): never {
  throw new EtapeError(
    'bad_request',
    `${file}: cannot read the series; each row needs time, metric and value (and total for counts): see docs/judge.md`,
    { problems },
  );
}

export function parseCsvSeries(text: string, file: string): SeriesRow[] {
  const lines = text.split(/\r?\n/);
  const problems: Problem[] = [];
  let header: string[] | undefined;
  let headerLine = 0;
  const rows: SeriesRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const cells = splitCsv(raw);
    if (!header) {
      header = cells.map((c) => c.toLowerCase());
      headerLine = i + 1;
      for (const need of ['time', 'metric', 'value']) {
        if (!header.includes(need))
          problems.push({
            message: `the header has no "${need}" column (columns: ${COLUMNS.join(', ')})`,
            location: { file, line: i + 1, column: 1 },
          });
      }
      if (problems.length) fail(file, problems);
      continue;
    }
    const get = (name: string) => {
      const k = header!.indexOf(name);
      return k >= 0 ? cells[k] : undefined;
    };
    const col = (name: string) => header!.indexOf(name) + 1;
    const t = parseTime(get('time'));
    const metric = get('metric');
    const value = Number(get('value'));
    const totalRaw = get('total');
    const total = totalRaw === undefined || totalRaw === '' ? undefined : Number(totalRaw);
    const at = (name: string) => ({ file, line: i + 1, column: Math.max(1, col(name)) });
    if (t === undefined)
      problems.push({ message: `time "${get('time') ?? ''}" is not a number or an ISO 8601 date`, location: at('time') });
    if (!metric) problems.push({ message: 'metric name is empty', location: at('metric') });
    if (get('value') === undefined || get('value') === '' || !Number.isFinite(value))
      problems.push({ message: `value "${get('value') ?? ''}" is not a number`, location: at('value') });
    if (total !== undefined && !(Number.isFinite(total) && total >= 0))
      problems.push({ message: `total "${totalRaw}" is not a count`, location: at('total') });
    if (problems.length > 20) break;
    if (t !== undefined && metric && Number.isFinite(value))
      rows.push({ t, target: get('target') || file, metric, value, total, line: i + 1 });
  }
  if (!header)
    fail(file, [{ message: `empty file: expected a header line "${COLUMNS.join(',')}"`, location: { file, line: 1, column: 1 } }]);
  if (problems.length) fail(file, problems);
  if (rows.length === 0) fail(file, [{ message: 'no data rows after the header', location: { file, line: headerLine, column: 1 } }]);
  return rows;
}

export function parseJsonSeries(text: string, file: string): SeriesRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    fail(file, [{ message: `not valid JSON: ${(e as Error).message}`, location: { file, line: 1, column: 1 } }]);
  }
  const list = Array.isArray(data) ? data : (data as { rows?: unknown })?.rows;
  if (!Array.isArray(list)) fail(file, [{ message: 'expected an array of rows, or an object with a "rows" array', path: '$' }]);
  const problems: Problem[] = [];
  const rows: SeriesRow[] = [];
  list.forEach((r: Record<string, unknown>, i: number) => {
    const path = `[${i}]`;
    const t = parseTime(r?.time ?? r?.t);
    const value = typeof r?.value === 'number' ? r.value : Number(r?.value);
    const total = r?.total === undefined || r?.total === null ? undefined : Number(r.total);
    if (t === undefined) problems.push({ message: 'time is missing or not a number / ISO 8601 date', path: `${path}.time` });
    if (typeof r?.metric !== 'string' || r.metric === '') problems.push({ message: 'metric name is missing', path: `${path}.metric` });
    if (!Number.isFinite(value)) problems.push({ message: 'value is missing or not a number', path: `${path}.value` });
    if (total !== undefined && !(Number.isFinite(total) && total >= 0))
      problems.push({ message: 'total is not a count', path: `${path}.total` });
    if (t !== undefined && typeof r.metric === 'string' && r.metric && Number.isFinite(value)) {
      rows.push({ t, target: typeof r.target === 'string' && r.target ? r.target : file, metric: r.metric, value, total, line: i + 1 });
    }
  });
  if (problems.length) fail(file, problems.slice(0, 20));
  if (rows.length === 0) fail(file, [{ message: 'no rows', path: '$' }]);
  return rows;
}

export interface MetricOptions {
  direction?: Record<string, JudgeMetricSpec['direction']>;
  critical?: Set<string>;
  effectFloor?: Record<string, number>;
  defaultEffectFloor?: number;
}

/** Pairs the rows of both files metric by metric into judge input. */
export function buildJudgeInput(baseline: SeriesRow[], canary: SeriesRow[], opts: MetricOptions = {}): JudgeMetricInput[] {
  const names = [...new Set([...baseline, ...canary].map((r) => r.metric))];
  const out: JudgeMetricInput[] = [];
  const problems: Problem[] = [];
  for (const name of names) {
    const b = baseline.filter((r) => r.metric === name);
    const c = canary.filter((r) => r.metric === name);
    const kinds = new Set([...b, ...c].map((r) => (r.total !== undefined ? 'count' : 'latency')));
    if (kinds.size > 1) {
      problems.push({ message: `metric "${name}" has rows with and without "total": a count metric needs total on every row` });
      continue;
    }
    const kind = [...kinds][0] as MetricKind;
    const spec: JudgeMetricSpec = {
      name,
      kind,
      direction: opts.direction?.[name] ?? 'increase',
      critical: opts.critical?.has(name) ?? false,
      effectFloor: opts.effectFloor?.[name] ?? opts.defaultEffectFloor,
      weight: 1,
    };
    const group = <P>(rows: SeriesRow[], point: (r: SeriesRow) => P): TargetSeries<P>[] => {
      const m = new Map<string, P[]>();
      for (const r of rows) m.set(r.target, [...(m.get(r.target) ?? []), point(r)]);
      return [...m.entries()].map(([target, points]) => ({ target, points }));
    };
    if (kind === 'count') {
      const bad = [...b, ...c].find((r) => r.value > (r.total ?? 0));
      if (bad) problems.push({ message: `metric "${name}" at line ${bad.line}: ${bad.value} failed out of ${bad.total} requests` });
      const pt = (r: SeriesRow): CountPoint => ({ t: r.t, total: r.total ?? 0, errors: r.value });
      out.push({ ...spec, kind: 'count', baseline: group(b, pt), canary: group(c, pt) });
    } else {
      const pt = (r: SeriesRow): ValuePoint => ({ t: r.t, value: r.value });
      out.push({ ...spec, kind: 'latency', baseline: group(b, pt), canary: group(c, pt) });
    }
  }
  const known = new Set(names);
  for (const n of [...Object.keys(opts.direction ?? {}), ...(opts.critical ?? []), ...Object.keys(opts.effectFloor ?? {})]) {
    if (!known.has(n)) problems.push({ message: `option names metric "${n}", which neither file has (metrics: ${names.join(', ')})` });
  }
  if (problems.length) throw new EtapeError('bad_request', 'the series cannot be judged as given', { problems });
  return out;
}
