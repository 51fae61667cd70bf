import { describe, expect, it } from 'vitest';
import { OutboxConfigError, parseDuration, parseTimeFlag } from '@outboxkit/core';

describe('operations: durations and times given on the command line', () => {
  const now = new Date('2026-11-26T12:00:00.000Z');

  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    [' 2H ', 7_200_000],
  ])('parseDuration(%j) = %d ms', (text, ms) => {
    expect(parseDuration(text, '--x')).toBe(ms);
  });

  it.each(['', '7', 'd', '-1h', '1.5h', 'a week', '2 h', '1y'])('parseDuration(%j) fails naming the flag', (text) => {
    expect(() => parseDuration(text, '--history-retention')).toThrow(OutboxConfigError);
    expect(() => parseDuration(text, '--history-retention')).toThrow(/^--history-retention: .* is not a duration/);
  });

  it.each([
    ['2h', '2026-11-26T10:00:00.000Z'],
    ['30m ago', '2026-11-26T11:30:00.000Z'],
    ['7d', '2026-11-19T12:00:00.000Z'],
    ['2026-11-26T10:15:00Z', '2026-11-26T10:15:00.000Z'],
    ['2026-11-26T10:15:00.250+01:00', '2026-11-26T09:15:00.250Z'],
    ['2026-11-26 10:15', '2026-11-26T10:15:00.000Z'], // no zone: UTC, whatever this machine's zone is
    ['2026-11-26', '2026-11-26T00:00:00.000Z'],
  ])('parseTimeFlag(%j) = %s', (text, iso) => {
    expect(parseTimeFlag(text, '--since', now).toISOString()).toBe(iso);
  });

  it.each(['yesterday', '1', 'May 3', '2026-13-45T99:00:00Z', '2026/11/26'])('parseTimeFlag(%j) fails naming the flag', (text) => {
    expect(() => parseTimeFlag(text, '--until', now)).toThrow(/^--until: .* is not a time; use ISO-8601/);
  });
});
