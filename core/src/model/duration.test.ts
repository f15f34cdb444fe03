import { DURATION_PATTERN, DurationError, durationToClickHouseInterval, durationToPgInterval, formatDuration, isDuration, parseDuration } from './duration';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('parseDuration', () => {
  test.each([
    ['30s', 30 * S],
    ['5m', 5 * M],
    ['1h', H],
    ['24h', 24 * H],
    ['7d', 7 * D],
    ['2w', 14 * D],
    ['90d', 90 * D],
    ['1h30m', H + 30 * M],
    ['1w2d3h4m5s', 7 * D + 2 * D + 3 * H + 4 * M + 5 * S],
    ['0s', 0],
    ['3600s', H],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(isDuration(text)).toBe(true);
  });

  test.each([
    ['', 'is not a duration'],
    ['1 day', '"1 day" is not a duration like 30s, 5m, 1h, 7d'],
    ['1', 'is not a duration'],
    ['h', 'is not a duration'],
    ['1.5h', 'is not a duration'],
    ['-5m', 'is not a duration'],
    ['1H', 'is not a duration'],
    ['30m1h', 'largest first'],
    ['1h1h', 'is not a duration'],
    ['5ms', 'is not a duration'],
    [' 5m', 'is not a duration'],
    ['99999999999999999w', 'too long'],
  ])('%j is rejected: %s', (text, fragment) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(fragment);
    if (text !== '99999999999999999w') expect(isDuration(text)).toBe(false);
  });

  test('the schema pattern accepts exactly what the parser accepts (besides the empty string)', () => {
    const re = new RegExp(DURATION_PATTERN);
    for (const s of ['30s', '1h30m', '2w', '1 day', '30m1h', '1.5h', '5ms']) {
      let parses = true;
      try {
        parseDuration(s);
      } catch {
        parses = false;
      }
      expect([s, re.test(s)]).toEqual([s, parses]);
    }
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0s'],
    [30 * S, '30s'],
    [H + 30 * M, '1h30m'],
    [D, '1d'],
    [7 * D, '1w'],
    [8 * D + 1 * S, '1w1d1s'],
  ])('%d ms → %s, which parses back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([1500, -1000, 0.5, NaN])('%p ms is not whole seconds', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });
});

describe('engine intervals', () => {
  test('PostgreSQL interval body in seconds', () => {
    expect(durationToPgInterval(parseDuration('1h'))).toBe('3600 seconds');
    expect(durationToPgInterval(parseDuration('7d'))).toBe('604800 seconds');
  });

  test('ClickHouse INTERVAL n SECOND', () => {
    expect(durationToClickHouseInterval(parseDuration('1h'))).toEqual({ value: 3600, unit: 'SECOND' });
    expect(durationToClickHouseInterval(parseDuration('1m'))).toEqual({ value: 60, unit: 'SECOND' });
  });

  test('sub-second values are refused rather than rounded', () => {
    expect(() => durationToPgInterval(1500)).toThrow(RangeError);
    expect(() => durationToClickHouseInterval(1)).toThrow(RangeError);
  });
});
