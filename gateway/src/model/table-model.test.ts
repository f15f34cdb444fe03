import { validateTieredTable } from '@strata/core';
import { jsonbText } from './jsonb-text';
import { Micros, tableModel } from './table-model';
import { formatMicros, isPlainRfc3339, parseTimestampText, epochNumberToMicros } from './timestamp';

function spec(mode: 'hot-then-cold' | 'cold-only', extra: Array<{ name: string; type: string }> = []) {
  const r = validateTieredTable({
    table: 't',
    timeColumn: 'time',
    mode,
    columns: [{ name: 'time', type: 'timestamptz' }, { name: 'msg', type: 'text' }, { name: 'v', type: 'double precision' }, { name: 'n', type: 'integer' }, { name: 'ok', type: 'boolean' }, { name: 'labels', type: 'jsonb' }, ...extra],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

describe('tableModel.encodeRow', () => {
  test('PostgreSQL COPY text: escapes, NULLs, RFC 3339 passed through, unknown fields merged into labels', () => {
    const m = tableModel(spec('hot-then-cold'));
    expect(m.target).toBe('postgresql');
    expect(m.encodeRow({ time: '2026-11-25T10:00:00.5Z', msg: 'a\tb\\c\nd', v: 1.25, n: 3, ok: true, labels: { b: 1 }, extra: 'x' }, 1)).toBe(
      '2026-11-25T10:00:00.5Z\ta\\tb\\\\c\\nd\t1.25\t3\ttrue\t{"b":1,"extra":"x"}\n',
    );
    expect(m.encodeRow({ time: 1764064800 }, 1)).toBe('2025-11-25 10:00:00.000000+00\t\\N\t\\N\t\\N\t\\N\t\\N\n');
    expect(m.encodeRow({ time: new Micros(1), v: Number.NaN }, 1)).toBe('1970-01-01 00:00:00.000001+00\t\\N\tNaN\t\\N\t\\N\t\\N\n');
  });

  test('ClickHouse TSV: canonical jsonb text, formatted time, generation 0 appended', () => {
    const m = tableModel(spec('cold-only'));
    expect(m.copyColumns.at(-1)).toBe('_strata_gen');
    expect(m.encodeRow({ time: '2026-11-25T12:00:00+02:00', labels: { bb: 1, a: [1, { z: null }] }, v: Infinity }, 1)).toBe(
      '2026-11-25 10:00:00.000000\t\\N\tinf\t\\N\t\\N\t{"a": [1, {"z": null}], "bb": 1}\t0\n',
    );
  });

  test.each([
    [{ time: 'yesterday' }, /row 7: column time: not a timestamp/],
    [{ msg: 'x' }, /row 7: column time is required/],
    [{ time: '2026-11-25T00:00:00Z', v: '1' }, /row 7: column v: expected a number, got string/],
    [{ time: '2026-11-25T00:00:00Z', n: 1.5 }, /row 7: column n: expected an integer/],
    [{ time: '2026-11-25T00:00:00Z', n: 2 ** 31 }, /row 7: column n: out of range for integer/],
    [{ time: '2026-11-25T00:00:00Z', ok: 'yes' }, /row 7: column ok: expected a boolean/],
    [{ time: '2026-11-25T00:00:00Z', msg: { a: 1 } }, /row 7: column msg: expected a string, got object/],
    [{ time: '2026-11-25T00:00:00Z', labels: [1], extra: 1 }, /row 7: column labels: expected an object/],
  ])('refuses %j', (row, message) => {
    expect(() => tableModel(spec('hot-then-cold')).encodeRow(row as Record<string, unknown>, 7)).toThrow(message);
  });
});

describe('timestamps', () => {
  test.each([
    ['2026-11-25T10:00:00Z', true],
    ['2026-11-25T10:00:00.123456+05:30', true],
    ['2024-02-29T00:00:00Z', true],
    ['2023-02-29T00:00:00Z', false],
    ['2026-11-25T10:00:00.1234567Z', false],
    ['2026-11-25 10:00:00Z', false],
    ['2026-11-25T10:00:00', false],
    ['1800-01-01T00:00:00Z', false],
  ])('isPlainRfc3339(%s) = %s', (text, ok) => expect(isPlainRfc3339(text)).toBe(ok));

  test('parse and format keep microseconds and apply offsets', () => {
    expect(formatMicros(parseTimestampText('2026-11-25T12:00:00.1234567+02:00')!)).toBe('2026-11-25 10:00:00.123456');
    expect(formatMicros(parseTimestampText('1969-12-31 23:59:59.999999')!)).toBe('1969-12-31 23:59:59.999999');
    expect(parseTimestampText('2026-13-01')).toBeUndefined();
    expect(formatMicros(epochNumberToMicros(1_700_000_000.5)!)).toBe('2023-11-14 22:13:20.500000');
    expect(formatMicros(epochNumberToMicros(1_700_000_000_500)!)).toBe('2023-11-14 22:13:20.500000');
    expect(formatMicros(epochNumberToMicros(1_700_000_000_000_001)!)).toBe('2023-11-14 22:13:20.000001');
    expect(formatMicros(epochNumberToMicros(1_700_000_000_000_001_000)!)).toBe('2023-11-14 22:13:20.000001');
  });
});

describe('jsonbText', () => {
  test.each([
    [{ b: 1, a: 2, aa: 3 }, '{"a": 2, "b": 1, "aa": 3}'],
    [[1, 'x', null, true], '[1, "x", null, true]'],
    [{ n: 1e21, m: 1.5e-7 }, '{"m": 0.00000015, "n": 1000000000000000000000}'],
    ['tab\there', '"tab\\there"'],
  ])('%j → %s', (v, text) => expect(jsonbText(v)).toBe(text));
});
