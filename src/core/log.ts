// Structured logging. Secrets never reach a log line: the known places they travel are redacted.
// JSON lines for machines; on a terminal, lines for people (ETAPE_LOG_FORMAT=json or pretty decides).
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyDestination } from './log-format.js';

export type { Logger };

export function createLogger(opts: { level?: string; name?: string; destination?: number } = {}): Logger {
  const fd = opts.destination ?? 2;
  const format = process.env.ETAPE_LOG_FORMAT;
  const pretty = format === 'pretty' || (format !== 'json' && isatty(fd));
  const dest: DestinationStream = pretty
    ? prettyDestination((s) => {
        try {
          writeSync(fd, s);
        } catch {
          // a closed terminal or pipe: nothing to tell
        }
      })
    : pino.destination({ dest: fd, sync: true });
  return pino(
    {
      name: opts.name ?? 'etape',
      level: opts.level ?? process.env.ETAPE_LOG_LEVEL ?? 'info',
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'secret', '*.secret'],
        censor: '[redacted]',
      },
    },
    dest,
  );
}

/** A logger that writes nothing, for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
