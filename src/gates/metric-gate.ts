// Metric (threshold) gate: a PromQL query per target, judged by success and failure conditions on its
// `result`, with a failure limit, a consecutive-error limit and an inconclusive limit (I3).
// Pure: `metricMeasurement` turns a query outcome into a verdict; the gate kind folds the stored series.
// Conditions are parsed by a small grammar here, never evaluated as code.
import { EtapeError } from '../core/errors.js';
import type { Verdict } from '../core/types.js';
import type { GateConfig, ServiceConfig } from '../config/service.js';
import {
  foldTargets,
  measuredGateSpec,
  judgeSeries,
  seriesPerTarget,
  type GateInput,
  type GateKind,
  type GateResult,
  type GateSpec,
} from './gate.js';

// ---------------------------------------------------------------------------------------------------------
// Conditions: `result < 0.01`, `result >= 0.99 and result <= 1`, `not (result > 5 or result < 0)`.
//   expr   := or
//   or     := and (("or" | "||") and)*
//   and    := not (("and" | "&&") not)*
//   not    := ("not" | "!") not | cmp
//   cmp    := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//   sum    := term (("+" | "-") term)*
//   term   := unary (("*" | "/") unary)*
//   unary  := "-" unary | primary
//   primary:= number | "result" | "true" | "false" | "(" expr ")"
// ---------------------------------------------------------------------------------------------------------

type Node =
  | { t: 'num'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'result' }
  | { t: 'neg'; a: Node }
  | { t: 'not'; a: Node }
  | { t: 'bin'; op: string; a: Node; b: Node };

export interface Condition {
  source: string;
  ast: Node;
}

interface Tok {
  kind: 'num' | 'id' | 'op' | 'end';
  text: string;
  pos: number;
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|==|!=|&&|\|\||[<>!()+\-*/]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw conditionError(src, pos, `unexpected "${src.slice(pos).trim()[0]}"`);
    const at = m.index + m[0].length - (m[1] ?? m[2] ?? m[3]).length;
    if (m[1] !== undefined) out.push({ kind: 'num', text: m[1], pos: at });
    else if (m[2] !== undefined) out.push({ kind: 'id', text: m[2], pos: at });
    else out.push({ kind: 'op', text: m[3], pos: at });
    pos = re.lastIndex;
  }
  out.push({ kind: 'end', text: '', pos: src.length });
  return out;
}

function conditionError(src: string, pos: number, what: string): EtapeError {
  return new EtapeError(
    'config.invalid',
    `condition "${src}": ${what} at column ${pos + 1}; write comparisons on \`result\` joined by and/or, like \`result < 0.01\``,
  );
}

/** Parses a condition; throws EtapeError (config.invalid) saying where it went wrong. */
export function parseCondition(src: string): Condition {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i];
  const isOp = (...ops: string[]) => (peek().kind === 'op' || peek().kind === 'id') && ops.includes(peek().text);
  const expect = (text: string) => {
    if (peek().text !== text)
      throw conditionError(
        src,
        peek().pos,
        `expected "${text}"${peek().kind === 'end' ? ' before the end' : ` but found "${peek().text}"`}`,
      );
    i++;
  };
  const or = (): Node => {
    let a = and();
    while (isOp('or', '||')) {
      i++;
      a = { t: 'bin', op: 'or', a, b: and() };
    }
    return a;
  };
  const and = (): Node => {
    let a = not();
    while (isOp('and', '&&')) {
      i++;
      a = { t: 'bin', op: 'and', a, b: not() };
    }
    return a;
  };
  const not = (): Node => {
    if (isOp('not', '!')) {
      i++;
      return { t: 'not', a: not() };
    }
    return cmp();
  };
  const cmp = (): Node => {
    const a = sum();
    if (isOp('<', '<=', '>', '>=', '==', '!=')) {
      const op = toks[i++].text;
      return { t: 'bin', op, a, b: sum() };
    }
    return a;
  };
  const sum = (): Node => {
    let a = term();
    while (isOp('+', '-')) {
      const op = toks[i++].text;
      a = { t: 'bin', op, a, b: term() };
    }
    return a;
  };
  const term = (): Node => {
    let a = unary();
    while (isOp('*', '/')) {
      const op = toks[i++].text;
      a = { t: 'bin', op, a, b: unary() };
    }
    return a;
  };
  const unary = (): Node => {
    if (isOp('-')) {
      i++;
      return { t: 'neg', a: unary() };
    }
    return primary();
  };
  const primary = (): Node => {
    const tk = peek();
    if (tk.kind === 'num') {
      i++;
      return { t: 'num', v: Number(tk.text) };
    }
    if (tk.kind === 'id') {
      i++;
      if (tk.text === 'result') return { t: 'result' };
      if (tk.text === 'true' || tk.text === 'false') return { t: 'bool', v: tk.text === 'true' };
      throw conditionError(src, tk.pos, `unknown name "${tk.text}" (only \`result\`, numbers, true and false)`);
    }
    if (tk.text === '(') {
      i++;
      const e = or();
      expect(')');
      return e;
    }
    throw conditionError(src, tk.pos, tk.kind === 'end' ? 'the condition ends too early' : `unexpected "${tk.text}"`);
  };
  if (peek().kind === 'end') throw conditionError(src, 0, 'empty condition');
  const ast = or();
  if (peek().kind !== 'end') throw conditionError(src, peek().pos, `unexpected "${peek().text}"`);
  // A condition must decide something: its top is a comparison or a boolean operator.
  if (ast.t === 'num' || ast.t === 'result' || ast.t === 'neg' || (ast.t === 'bin' && '+-*/'.includes(ast.op))) {
    throw conditionError(src, 0, 'this is a number, not a condition');
  }
  return { source: src, ast };
}

/** Evaluates a parsed condition for one result value. */
export function evalCondition(c: Condition, result: number): boolean {
  const ev = (n: Node): number | boolean => {
    switch (n.t) {
      case 'num':
        return n.v;
      case 'bool':
        return n.v;
      case 'result':
        return result;
      case 'neg':
        return -Number(ev(n.a));
      case 'not':
        return !truthy(ev(n.a));
      case 'bin': {
        if (n.op === 'and') return truthy(ev(n.a)) && truthy(ev(n.b));
        if (n.op === 'or') return truthy(ev(n.a)) || truthy(ev(n.b));
        const a = Number(ev(n.a));
        const b = Number(ev(n.b));
        switch (n.op) {
          case '<':
            return a < b;
          case '<=':
            return a <= b;
          case '>':
            return a > b;
          case '>=':
            return a >= b;
          case '==':
            return a === b;
          case '!=':
            return a !== b;
          case '+':
            return a + b;
          case '-':
            return a - b;
          case '*':
            return a * b;
          case '/':
            return a / b;
        }
        throw new Error(`unknown operator ${n.op}`);
      }
    }
  };
  return truthy(ev(c.ast));
}

function truthy(v: number | boolean): boolean {
  return typeof v === 'boolean' ? v : v !== 0 && !Number.isNaN(v);
}

// ---------------------------------------------------------------------------------------------------------
// One measurement: what a query returned, turned into a verdict.
// ---------------------------------------------------------------------------------------------------------

/** What a metric source returned for one target: values, or why there are none. */
export type QueryOutcome = { ok: true; values: number[] } | { ok: false; error: string };

export interface MetricConditions {
  success?: Condition;
  failure?: Condition;
}

export function compileConditions(g: { successCondition?: string; failureCondition?: string; name: string }): MetricConditions {
  if (!g.successCondition && !g.failureCondition) {
    throw new EtapeError(
      'config.invalid',
      `metric gate "${g.name}" needs a successCondition or a failureCondition, like \`result < 0.01\``,
    );
  }
  return {
    success: g.successCondition ? parseCondition(g.successCondition) : undefined,
    failure: g.failureCondition ? parseCondition(g.failureCondition) : undefined,
  };
}

/**
 * The verdict of one query. Errors and timeouts are `error`; an empty result or NaN is `inconclusive`;
 * never a pass. With several series, each must pass. A failure condition that holds fails; a success
 * condition that does not hold fails when it is the only condition, and is inconclusive when a failure
 * condition exists and does not hold either.
 */
export function metricMeasurement(outcome: QueryOutcome, conds: MetricConditions): { verdict: Verdict; value?: number; detail: string } {
  if (!outcome.ok) return { verdict: 'error', detail: outcome.error };
  if (outcome.values.length === 0) return { verdict: 'inconclusive', detail: 'query returned no data' };
  let worst: { verdict: Verdict; value: number; detail: string } | undefined;
  const rank: Record<Verdict, number> = { pass: 0, inconclusive: 1, error: 2, fail: 3 };
  for (const v of outcome.values) {
    let r: { verdict: Verdict; value: number; detail: string };
    if (Number.isNaN(v)) r = { verdict: 'inconclusive', value: v, detail: 'result is NaN (no traffic?)' };
    else if (conds.failure && evalCondition(conds.failure, v))
      r = { verdict: 'fail', value: v, detail: `result ${fmt(v)}: ${conds.failure.source}` };
    else if (conds.success && evalCondition(conds.success, v))
      r = { verdict: 'pass', value: v, detail: `result ${fmt(v)}: ${conds.success.source}` };
    else if (conds.success && !conds.failure) r = { verdict: 'fail', value: v, detail: `result ${fmt(v)}: not ${conds.success.source}` };
    else if (conds.success)
      r = { verdict: 'inconclusive', value: v, detail: `result ${fmt(v)}: neither ${conds.success.source} nor ${conds.failure!.source}` };
    else r = { verdict: 'pass', value: v, detail: `result ${fmt(v)}: not ${conds.failure!.source}` };
    if (!worst || rank[r.verdict] > rank[worst.verdict]) worst = r;
  }
  return worst!;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}

// ---------------------------------------------------------------------------------------------------------
// The gate kind: stored measurements (source = gate name) folded with the limits.
// ---------------------------------------------------------------------------------------------------------

export const metricGate: GateKind = {
  kind: 'metric',
  compile(gate: GateConfig, _service: ServiceConfig): GateSpec {
    if (gate.kind !== 'metric') throw new Error(`metric gate compiler given a ${gate.kind} gate`);
    compileConditions(gate); // reject bad conditions at start, not mid-bake
    return measuredGateSpec(gate, { kind: 'metric', sources: [gate.name], interval: gate.interval, timeout: gate.timeout });
  },
  evaluate(input: GateInput): GateResult {
    const series = seriesPerTarget(input);
    return foldTargets(
      input.spec,
      input.targets.map((t) => judgeSeries(input.spec, t.id, series.get(t.id) ?? [], input.now)),
    );
  },
};
