// The version of etape that is running, from package.json (one level above src/ and dist/ alike).
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function etapeVersion(): string {
  if (cached === undefined) {
    try {
      cached =
        (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
