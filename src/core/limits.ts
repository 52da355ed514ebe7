// What one input may hold and how long an API request may take: the API app applies the body and time limits
// to every route, the zod schemas of routes and the incident operations the field limits (the OpenAPI document shows them).
import { z } from 'zod';

export const API_LIMITS = {
  /** Largest request body (bytes): refused with 413 from Content-Length, or as soon as a streamed body passes it. */
  bodyBytes: 64 * 1024,
  /** Deepest nesting of arrays and objects in a JSON body. */
  jsonDepth: 16,
  /** Names and ids: services, versions, rollout ids, components. */
  nameChars: 200,
  /** Incident and maintenance titles (they go on the status page, its feed and every shortlink). */
  titleChars: 200,
  /** Free text: update messages, reasons. */
  textChars: 10_000,
  /** Items in a list (components of an incident). */
  listItems: 100,
  /** A whole request, headers and body, must arrive within this (ms); slower ones get 408. */
  requestMs: 30_000,
  /** Headers must arrive within this (ms). */
  headersMs: 10_000,
} as const;

/** A name or id field (at most nameChars). */
export const nameField = (what: string) =>
  z
    .string({ error: `give the ${what} as a string` })
    .min(1, `give the ${what}`)
    .max(API_LIMITS.nameChars, `the ${what} may be at most ${API_LIMITS.nameChars} characters`);

/** Depth of nesting of a parsed JSON value, counted without recursion (a hostile body cannot overflow the stack). */
export function jsonDepth(v: unknown, stopAt = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    if (max > stopAt) return max;
    for (const child of Array.isArray(x) ? x : Object.values(x)) stack.push([child, depth]);
  }
  return max;
}

/** The limits in words, for the OpenAPI document's description. */
export function limitsDescription(): string {
  const l = API_LIMITS;
  return [
    `Limits: a request body of at most ${l.bodyBytes / 1024} KiB (413 otherwise, refused before it is read whole),`,
    `JSON nested at most ${l.jsonDepth} deep (400), names and ids of at most ${l.nameChars} characters, titles of at most ${l.titleChars},`,
    `free text of at most ${l.textChars}, lists of at most ${l.listItems} items (400 naming the field);`,
    `headers within ${l.headersMs / 1000} s and the whole request within ${l.requestMs / 1000} s (408 otherwise).`,
  ].join(' ');
}
