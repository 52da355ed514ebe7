// Reads etape.yaml: YAML with source positions, then the zod schema, then the semantic checks of validate.ts.
// Every problem names file:line:column and says what to fix; all problems are reported at once.
import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { EtapeError, type Problem, type SourceLocation } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { configSchema, type EtapeConfig } from './schema.js';
import { validateConfig } from './validate.js';

export type PathSegment = string | number;
export type ConfigPath = readonly PathSegment[];

/** `fleet.regions[3].pair` */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** Maps a path into the document to the line and column where it is written. */
export class Locator {
  constructor(
    readonly file: string,
    private readonly doc: Document | undefined,
    private readonly lines: LineCounter,
  ) {}

  at(offset: number): SourceLocation {
    const p = this.lines.linePos(offset);
    return { file: this.file, line: p.line, column: p.col };
  }

  /**
   * Where `path` is written: its value (default) or its key (`key`). When the path does not exist in the
   * document (a missing key), the deepest node that does exist.
   */
  locate(path: ConfigPath, mode: 'value' | 'key' = 'value'): SourceLocation {
    let node: unknown = this.doc?.contents;
    let keyNode: unknown;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && keyText(it.key) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        keyNode = undefined;
        node = node.items[seg];
      } else break;
    }
    const target = (mode === 'key' && keyNode ? keyNode : node) as Node | undefined;
    const range = target?.range;
    return this.at(range ? range[0] : 0);
  }
}

/** Offset of the first alias (`*name`) in the document. */
function firstAlias(doc: Document): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) {
        at = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return at;
}

function keyText(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  if (typeof k === 'string') return k;
  return undefined;
}

/** A problem found by a check, before it has a place in the file. */
export interface PathProblem {
  path: ConfigPath;
  message: string;
  /** Point at the key rather than the value (unknown keys, duplicates of a key). */
  at?: 'key' | 'value';
}

export function placeProblems(problems: PathProblem[], loc: Locator): Problem[] {
  return problems.map((p) => ({
    message: p.path.length ? `${formatPath(p.path)}: ${p.message}` : p.message,
    path: formatPath(p.path),
    location: loc.locate(p.path, p.at),
  }));
}

/** Parses and checks the text of an etape.yaml; throws EtapeError `config.parse` or `config.invalid` with every problem. */
export function parseConfig(text: string, file: string): EtapeConfig {
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    // The parser itself gives up (nesting so deep it runs out of stack).
    throw new EtapeError('config.parse', `${file} is not valid YAML: ${(e as Error).message}`, {
      problems: [
        { message: `not valid YAML: ${(e as Error).message}; nest less deeply`, location: new Locator(file, undefined, lines).at(0) },
      ],
    });
  }
  const loc = new Locator(file, doc, lines);
  if (doc.errors.length > 0) {
    // Later YAML errors are mostly echoes of the first one: report that one, and how many follow.
    const e = doc.errors[0];
    const more = doc.errors.length - 1;
    const problems: Problem[] = [
      {
        message: `not valid YAML: ${e.message.replace(/\s+at line \d+, column \d+.*$/s, '')}${more > 0 ? ` (${more} more error${more === 1 ? '' : 's'} after it, probably caused by this one)` : ''}`,
        location: loc.at(e.pos[0]),
      },
    ];
    throw new EtapeError('config.parse', `${file} is not valid YAML: fix the ${plural(problems.length, 'problem')} below`, {
      problems,
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // An alias bomb (aliases of aliases that expand to billions of nodes) or a broken merge key.
    const alias = firstAlias(doc);
    const why = /alias count/i.test((e as Error).message)
      ? 'its aliases (*name) expand to too many nodes (more than 1000 uses): write the values out, or use fewer aliases'
      : `it cannot be read as data: ${(e as Error).message}`;
    throw new EtapeError('config.parse', `${file} is not usable YAML: ${why}`, {
      problems: [{ message: `not usable YAML: ${why}`, location: loc.at(alias ?? 0) }],
    });
  }
  if (raw === null || raw === undefined) {
    throw new EtapeError('config.invalid', `${file} is empty: start from \`etape init\`, which writes a commented example`, {
      problems: [{ message: 'the file is empty; it needs at least a fleet with regions', location: loc.at(0) }],
    });
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error.issues as Issue[], [], raw);
    problems.push(...referenceProblemsDespite(problems, raw));
    throw invalid(file, placeProblems(dedupe(problems), loc));
  }
  const semantic = validateConfig(parsed.data);
  if (semantic.length > 0) throw invalid(file, placeProblems(dedupe(semantic), loc));
  return parsed.data;
}

/** Places problems found later (warnings, refusals) at their file:line:column in `text`. */
export function locateInText(text: string, file: string, problems: PathProblem[]): Problem[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  return placeProblems(problems, new Locator(file, doc, lines));
}

export interface LoadedConfig {
  config: EtapeConfig;
  file: string;
  /** Places problems about this config (warnings, refusals) at their file:line:column. */
  locate: (problems: PathProblem[]) => Problem[];
}

/** Reads and checks a config file. */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new EtapeError(
        'config.not_found',
        `no config file at ${file}: write one with \`etape init ${file}\`, or point to yours with --config or ETAPE_CONFIG`,
        { cause: e },
      );
    }
    const why: Record<string, string> = {
      EISDIR: 'it is a folder: name the file inside it, like --config path/to/etape.yaml',
      ENOTDIR: 'a part of the path is a file, not a folder',
      EACCES: 'permission denied: make it readable for this user',
      EPERM: 'permission denied: make it readable for this user',
    };
    throw new EtapeError('config.not_found', `cannot read ${file}: ${why[code ?? ''] ?? (e as Error).message}`, { cause: e });
  }
  return { config: parseConfig(text, file), file, locate: (ps) => locateInText(text, file, ps) };
}

/**
 * So that one run reports everything: when the schema problems are all keys that can be left out (unknown
 * keys, wrong values of keys that are not required), leave them out and run the reference checks on the
 * rest. Checks that depend on the whole policy (canary set, plans) wait until the schema passes.
 */
function referenceProblemsDespite(problems: PathProblem[], raw: unknown): PathProblem[] {
  const clone = structuredClone(raw) as Record<string, unknown>;
  const removed: ConfigPath[] = [];
  for (const p of problems) {
    const last = p.path[p.path.length - 1];
    if (typeof last !== 'string' || p.message.startsWith('missing required key')) return [];
    const parent = valueAt(clone, p.path.slice(0, -1));
    if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return [];
    delete (parent as Record<string, unknown>)[last];
    removed.push(p.path);
  }
  const again = configSchema.safeParse(clone);
  if (!again.success) return [];
  const under = (path: ConfigPath, prefix: ConfigPath) => prefix.length <= path.length && prefix.every((s, i) => path[i] === s);
  return validateConfig(again.data, { referencesOnly: true }).filter((p) => !removed.some((r) => under(p.path, r)));
}

function invalid(file: string, problems: Problem[]): EtapeError {
  problems.sort((a, b) => (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.column ?? 0) - (b.location?.column ?? 0));
  return new EtapeError(
    'config.invalid',
    `${file} has ${plural(problems.length, 'problem')}: fix ${problems.length === 1 ? 'it' : 'them'} and run \`etape validate\` again`,
    { problems },
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function dedupe(ps: PathProblem[]): PathProblem[] {
  const seen = new Set<string>();
  return ps.filter((p) => {
    const k = formatPath(p.path) + '\0' + p.message;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---- zod issues in words a person can act on -------------------------------------------------------------

interface Issue {
  code: string;
  path: PathSegment[];
  message: string;
  expected?: string;
  keys?: string[];
  values?: unknown[];
  errors?: Issue[][];
  issues?: Issue[];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  format?: string;
  discriminator?: string;
  options?: unknown[];
  note?: string;
}

function valueAt(raw: unknown, path: ConfigPath): unknown {
  let v = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PathSegment, unknown>)[seg];
  }
  return v;
}

function describeValue(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `the text ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number':
      return `the number ${v}`;
    case 'boolean':
      return `${v}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof v;
  }
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
};

function expectedWords(e: string | undefined): string {
  return (e && EXPECTED[e]) ?? e ?? 'something else';
}

function zodProblems(issues: Issue[], prefix: ConfigPath, raw: unknown): PathProblem[] {
  const out: PathProblem[] = [];
  for (const issue of issues) out.push(...issueProblems(issue, prefix, raw));
  return out;
}

function issueProblems(issue: Issue, prefix: ConfigPath, raw: unknown): PathProblem[] {
  const path = [...prefix, ...issue.path];
  const value = valueAt(raw, path);
  switch (issue.code) {
    case 'invalid_type': {
      if (value === undefined && path.length > 0) {
        const key = path[path.length - 1];
        return [{ path: path.slice(0, -1), message: `missing required key "${String(key)}" (${expectedWords(issue.expected)})` }];
      }
      return [{ path, message: `expected ${expectedWords(issue.expected)}, got ${describeValue(value)}` }];
    }
    case 'unrecognized_keys': {
      const known = knownKeys(path, raw);
      return (issue.keys ?? []).map((k) => {
        const hint = known ? didYouMean(k, known) : '';
        const list = !hint && known && known.length ? `; allowed here: ${known.join(', ')}` : '';
        return { path: [...path, k], at: 'key' as const, message: `unknown key "${k}"${hint}${list}` };
      });
    }
    case 'invalid_union': {
      if (issue.discriminator && (issue.errors?.length ?? 0) === 0) {
        const opts = (issue.options ?? []).map((o) => JSON.stringify(o)).join(', ');
        const d = issue.discriminator;
        const atD = path[path.length - 1] === d ? path : [...path, d];
        const v = valueAt(raw, atD);
        if (v === undefined)
          return [{ path: path[path.length - 1] === d ? path.slice(0, -1) : path, message: `missing required key "${d}": one of ${opts}` }];
        return [
          {
            path: atD,
            message: `${d} must be one of ${opts}, got ${describeValue(v)}${typeof v === 'string' ? didYouMean(v, (issue.options ?? []).map(String)) : ''}`,
          },
        ];
      }
      const branches = issue.errors ?? [];
      const fits = branches.filter((b) => !b.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')));
      if (fits.length > 0) {
        const best = fits.reduce((a, b) => (b.length < a.length ? b : a));
        return zodProblems(best, path, raw);
      }
      const wanted: string[] = [];
      for (const b of branches)
        for (const i of b) {
          if (i.path.length !== 0) continue;
          if (i.code === 'invalid_type') wanted.push(expectedWords(i.expected));
          if (i.code === 'invalid_value') wanted.push(...(i.values ?? []).map((x) => JSON.stringify(x)));
        }
      const uniq = [...new Set(wanted)];
      return [{ path, message: `expected ${uniq.join(' or ')}, got ${describeValue(value)}` }];
    }
    case 'invalid_value': {
      const vals = (issue.values ?? []).map((x) => JSON.stringify(x));
      const hint = typeof value === 'string' ? didYouMean(value, (issue.values ?? []).map(String)) : '';
      return [
        { path, message: `${vals.length === 1 ? 'must be' : 'must be one of'} ${vals.join(', ')}, got ${describeValue(value)}${hint}` },
      ];
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return [{ path, message: `needs at least ${min} item${min === 1 ? '' : 's'}` }];
      if (issue.origin === 'string') return [{ path, message: min <= 1 ? 'must not be empty' : `must be at least ${min} characters long` }];
      return [
        { path, message: `${issue.inclusive ? `must be at least ${min}` : `must be greater than ${min}`}, got ${describeValue(value)}` },
      ];
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') return [{ path, message: `takes at most ${max} item${max === 1 ? '' : 's'}` }];
      if (issue.origin === 'string') return [{ path, message: `must be at most ${max} characters long` }];
      return [{ path, message: `${issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`}, got ${describeValue(value)}` }];
    }
    case 'invalid_format': {
      if (issue.format === 'datetime')
        return [{ path, message: `not an ISO 8601 date and time with a zone, like "2026-12-24T18:00:00Z", got ${describeValue(value)}` }];
      if (issue.format === 'url') return [{ path, message: `not a URL, like "http://127.0.0.1:8080/health", got ${describeValue(value)}` }];
      if (issue.format === 'regex' && !issue.message.startsWith('Invalid'))
        return [{ path, message: `${describeValue(value)} is not a valid id: ${issue.message}` }];
      return [{ path, message: `${issue.message}, got ${describeValue(value)}` }];
    }
    case 'invalid_element':
    case 'invalid_key':
      return zodProblems(issue.issues ?? [], path, raw);
    case 'custom':
      return [{ path, message: `${issue.message}, got ${describeValue(value)}` }];
    default:
      return [{ path, message: issue.message }];
  }
}

// ---- the keys an object in the schema allows, for "did you mean" --------------------------------------------

type AnySchema = z.core.$ZodType;

function def(s: AnySchema): Record<string, unknown> & { type: string } {
  return (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
}

function unwrap(s: AnySchema | undefined, v: unknown): AnySchema | undefined {
  for (let i = 0; s && i < 20; i++) {
    const d = def(s);
    switch (d.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        s = d.innerType as AnySchema;
        continue;
      case 'pipe':
        s = d.in as AnySchema;
        continue;
      case 'lazy':
        s = (d.getter as () => AnySchema)();
        continue;
      case 'union': {
        const options = d.options as AnySchema[];
        const disc = d.discriminator as string | undefined;
        let pick: AnySchema | undefined;
        if (disc && v && typeof v === 'object') {
          const want = (v as Record<string, unknown>)[disc];
          pick = options.find((o) => {
            const u = unwrap(o, v);
            const prop = u && def(u).type === 'object' ? (def(u).shape as Record<string, AnySchema>)[disc] : undefined;
            const vals = prop ? (def(prop).values as unknown[] | undefined) : undefined;
            return vals?.includes(want);
          });
        }
        pick ??= options.find((o) => {
          const t = def(unwrap(o, v) ?? o).type;
          return Array.isArray(v)
            ? t === 'array'
            : v && typeof v === 'object'
              ? t === 'object' || t === 'record'
              : t !== 'object' && t !== 'array';
        });
        s = pick;
        continue;
      }
      default:
        return s;
    }
  }
  return s;
}

function knownKeys(path: ConfigPath, raw: unknown): string[] | undefined {
  let s: AnySchema | undefined = configSchema as unknown as AnySchema;
  let v: unknown = raw;
  for (const seg of path) {
    s = unwrap(s, v);
    if (!s) return undefined;
    const d = def(s);
    if (d.type === 'object') s = (d.shape as Record<string, AnySchema>)[String(seg)];
    else if (d.type === 'array') s = d.element as AnySchema;
    else if (d.type === 'record') s = d.valueType as AnySchema;
    else return undefined;
    v = v !== null && typeof v === 'object' ? (v as Record<PathSegment, unknown>)[seg] : undefined;
  }
  s = unwrap(s, v);
  if (!s || def(s).type !== 'object') return undefined;
  return Object.keys(def(s).shape as Record<string, unknown>);
}
