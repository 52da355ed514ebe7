import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, formatDuration } from './duration.js';

test('parses the duration forms etape.yaml uses', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('0'), 0);
});

test('rejects what is not a duration', () => {
  for (const bad of ['', '10', '10x', 'h', '1h 30m', '-5s', 'abc']) assert.equal(parseDuration(bad), undefined, bad);
});

test('formats durations compactly and round-trips', () => {
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(86_400_000 + 60_000), '1d1m');
  for (const ms of [1000, 60_000, 3_600_000, 93_784_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
});
