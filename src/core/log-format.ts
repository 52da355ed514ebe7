// pino's JSON lines, written for a person: `12:04:31 warn  message  key=value …`. Used when the log goes to
// a terminal (ETAPE_LOG_FORMAT=json keeps JSON there; =pretty asks for this anywhere).
import { printableLine } from './text.js';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

function show(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : String(v);
  const e = v as { message?: unknown; type?: unknown };
  if (typeof e.message === 'string' && typeof e.type === 'string') return JSON.stringify(e.message); // a serialized error
  return JSON.stringify(v);
}

/** One JSON log line as a line for people; lines that are not JSON pass through. */
export function formatLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 19) : '';
  const level = (LEVELS[o.level as number] ?? String(o.level)).padEnd(5);
  const rest = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(' ');
  return printableLine(`${time} ${level} ${String(o.msg ?? '')}${rest ? `  ${rest}` : ''}`) + '\n';
}

/** A pino destination that writes formatted lines to `fd` (synchronously, like pino.destination({ sync: true })). */
export function prettyDestination(write: (s: string) => void): { write(s: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line.trim() !== '') write(formatLogLine(line));
    },
  };
}
