import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine } from './log-format.js';
import { printable, printableLine } from './text.js';

test('a pino JSON line becomes a line for people; other lines pass through', () => {
  const line = JSON.stringify({
    level: 40,
    time: Date.UTC(2026, 0, 1, 12, 4, 31),
    pid: 1,
    hostname: 'h',
    name: 'etape',
    msg: 'retrying',
    key: 'r1:a/c1',
    detail: 'exit 1 now',
    err: { type: 'Error', message: 'boom', stack: 'at x' },
  });
  assert.equal(formatLogLine(line), '12:04:31 warn  retrying  key=r1:a/c1 detail="exit 1 now" err="boom"\n');
  assert.equal(formatLogLine('not json'), 'not json');
});

test('escape sequences and control characters are taken out of text for a terminal', () => {
  assert.equal(printable('a\u001b[2Jb\u001b]0;title\u0007c\u009b31md\u0000e'), 'abcd\uFFFDe');
  assert.equal(printable('line 1\n\tline 2'), 'line 1\n\tline 2');
  assert.equal(printableLine('a\nb\r\nc'), 'a b c');
});
