import { CopyBinaryToTsv, CopyFormatError } from './copy-binary-to-tsv';
import { codecFor, numericText, type Hash32 } from './pg-binary-codecs';
import { normalizePgType } from '../model/pg-types';

// A stand-in hash for pure tests (the real one is xxHash32; see test/core/checksum.test.ts).
const fnv: Hash32 = (b) => {
  let h = 0x811c9dc5;
  for (const x of b) h = Math.imul(h ^ x, 0x01000193) >>> 0;
  return h;
};

const TYPES = ['timestamptz', 'text', 'double precision', 'bigint', 'boolean', 'jsonb', 'integer', 'smallint', 'real', 'date', 'uuid', 'numeric(12,3)'];

type Field = Buffer | null;
function binaryCopy(rows: Field[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int32(0), int32(0)];
  for (const row of rows) {
    const n = Buffer.alloc(2);
    n.writeInt16BE(row.length);
    parts.push(n);
    for (const f of row) parts.push(f === null ? int32(-1) : Buffer.concat([int32(f.length), f]));
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}
function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
}
function i64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}
function f64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b;
}
function f32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  return b;
}
function i16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
}
function numeric(digits: number[], weight: number, sign: number, dscale: number): Buffer {
  return Buffer.concat([i16(digits.length), i16(weight), Buffer.from([sign >> 8, sign & 0xff]), i16(dscale), ...digits.map(i16)]);
}
// 2026-01-01T00:00:00.123456Z in microseconds since 2000-01-01
const T = BigInt(Date.UTC(2026, 0, 1) - Date.UTC(2000, 0, 1)) * 1000n + 123456n;

const ROWS: Field[][] = [
  [i64(T), Buffer.from('api'), f64(1.5), i64(-42n), Buffer.from([1]), Buffer.from('\x01{"env": "prod"}'), int32(7), i16(-3), f32(0.25), int32(9497), Buffer.from('0123456789abcdef0123456789abcdef', 'hex'), numeric([12, 3400], 0, 0, 3)],
  [i64(T + 1_000_000n), null, null, null, null, null, null, null, null, null, null, null],
  [i64(-T), Buffer.from('a\tb\\c\nd\re'), f64(-0), i64(9007199254740993n), Buffer.from([0]), Buffer.from('\x01[1, "x\\ty"]'), int32(-1), i16(32767), f32(-1e30), int32(-1), Buffer.alloc(16), numeric([1], -1, 0x4000, 4)],
];

const EXPECTED = [
  '1767225600.123456\tapi\t1.5\t-42\ttrue\t{"env": "prod"}\t7\t-3\t0.25\t2026-01-01\t01234567-89ab-cdef-0123-456789abcdef\t12.340\t9\n',
  '1767225601.123456\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t9\n',
  '1973-12-30 23:59:59.876544\ta\\tb\\\\c\\nd\\re\t-0\t9007199254740993\tfalse\t[1, "x\\\\ty"]\t-1\t32767\t-1.0000000150474662e+30\t1999-12-31\t00000000-0000-0000-0000-000000000000\t-0.0001\t9\n',
].join('');

function converter(): CopyBinaryToTsv {
  return new CopyBinaryToTsv(TYPES.map((t) => codecFor(normalizePgType(t), fnv)), Buffer.from('\t9\n'));
}

describe('CopyBinaryToTsv', () => {
  const input = binaryCopy(ROWS);

  test('converts every supported type to ClickHouse TabSeparated', () => {
    const c = converter();
    c.write(input);
    c.end();
    expect(c.takeBatch().data.toString('latin1')).toBe(Buffer.from(EXPECTED).toString('latin1'));
    expect(c.checksum.rows).toBe(3);
  });

  test('gives the same bytes and checksum at every split offset', () => {
    const whole = converter();
    whole.write(input);
    whole.end();
    const expected = whole.takeBatch().data;
    for (let at = 0; at <= input.length; at++) {
      const c = converter();
      c.write(input.subarray(0, at));
      c.write(input.subarray(at));
      c.end();
      expect(c.takeBatch().data.equals(expected)).toBe(true);
      expect([c.checksum.sumA, c.checksum.sumB]).toEqual([whole.checksum.sumA, whole.checksum.sumB]);
    }
  });

  test('byte-at-a-time feeding works', () => {
    const c = converter();
    for (let i = 0; i < input.length; i++) c.write(input.subarray(i, i + 1));
    c.end();
    expect(c.takeBatch().rows).toBe(3);
  });

  test('the checksum depends on which row holds which value', () => {
    const a = converter();
    a.write(binaryCopy([[i64(T), Buffer.from('x'), f64(1), null, null, null, null, null, null, null, null, null], [i64(T + 1n), Buffer.from('y'), f64(2), null, null, null, null, null, null, null, null, null]]));
    const b = converter();
    b.write(binaryCopy([[i64(T), Buffer.from('y'), f64(1), null, null, null, null, null, null, null, null, null], [i64(T + 1n), Buffer.from('x'), f64(2), null, null, null, null, null, null, null, null, null]]));
    expect([a.checksum.sumA, a.checksum.sumB]).not.toEqual([b.checksum.sumA, b.checksum.sumB]);
  });

  test('rejects a stream that is not binary COPY, a wrong field count, and a missing trailer', () => {
    expect(() => converter().write(Buffer.from('hello world, this is text'))).toThrow(CopyFormatError);
    const wrong = binaryCopy([[i64(T)]]);
    expect(() => converter().write(wrong)).toThrow(/row has 1 fields, expected 12/);
    const c = converter();
    c.write(input.subarray(0, input.length - 2));
    expect(() => c.end()).toThrow(/without its trailer/);
  });

  test('refuses timestamps ClickHouse cannot hold rather than corrupting them', () => {
    const c = new CopyBinaryToTsv([codecFor(normalizePgType('timestamptz'), fnv)], Buffer.from('\n'));
    expect(() => c.write(binaryCopy([[i64(0x7fffffffffffffffn)]]))).toThrow(/1900-01-01..2255-06-05/);
  });
});

describe('numericText', () => {
  test.each([
    [[12, 3400], 0, 0, 3, '12.340'],
    [[1], -1, 0x4000, 4, '-0.0001'],
    [[1], -1, 0x4000, 3, '0.000'],
    [[5], 1, 0, 0, '50000'],
    [[1, 2], -1, 0, 8, '0.00010002'], // numeric_send of 0.00010002::numeric(20,8)
    [[1, 2], -2, 0, 12, '0.000000010002'],
    [[], 0, 0, 2, '0.00'],
    [[9999, 9999], 0, 0x4000, 4, '-9999.9999'],
  ])('digits %p weight %p sign %p dscale %p → %s', (digits, weight, sign, dscale, text) => {
    expect(numericText(numeric(digits as number[], weight as number, sign as number, dscale as number), 0)).toBe(text);
  });
});
