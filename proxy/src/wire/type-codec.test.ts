import { binaryToText, Oid, textToBinary, timestampMicros, timestampText, UnsupportedBinaryTypeError } from './type-codec';

describe('type codec', () => {
  it.each([
    [Oid.bool, 't', '01'],
    [Oid.bool, 'f', '00'],
    [Oid.int2, '-2', 'fffe'],
    [Oid.int4, '42', '0000002a'],
    [Oid.int8, '9007199254740993', '0020000000000001'],
    [Oid.float4, '1.5', '3fc00000'],
    [Oid.float8, '-2.25', 'c002000000000000'],
    [Oid.float8, 'NaN', '7ff8000000000000'],
    [Oid.float8, 'Infinity', '7ff0000000000000'],
    [Oid.text, 'héllo', '68c3a96c6c6f'],
    [Oid.varchar, 'vc', '7663'],
    // 2000-01-01 00:00:01+00 is 1,000,000 µs after PostgreSQL's epoch.
    [Oid.timestamptz, '2000-01-01 00:00:01+00', '00000000000f4240'],
    [Oid.timestamp, '2000-01-01 00:00:00.5', '000000000007a120'],
    // numeric 12345.6789: ndigits 3, weight 1, sign +, dscale 4, digits 1 2345 6789
    [Oid.numeric, '12345.6789', '0003000100000004000109291a85'],
    [Oid.numeric, '-0.001', '0001ffff4000000300 0a'.replace(' ', '')],
    [Oid.numeric, '0', '0000000000000000'],
    [Oid.date, '2000-01-02', '00000001'],
    [Oid.uuid, '123e4567-e89b-12d3-a456-426614174000', '123e4567e89b12d3a456426614174000'],
  ])('oid %i: %s ⇄ %s', (oid, text, hex) => {
    expect(textToBinary(oid, text).toString('hex')).toBe(hex);
    expect(binaryToText(oid, Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('reads timestamps with zones, fractions and infinities', () => {
    expect(timestampMicros('2000-01-01 02:00:00+02')).toBe(0n);
    expect(timestampMicros('1999-12-31 23:59:59.999999+00')).toBe(-1n);
    expect(timestampText(-1n, true)).toBe('1999-12-31 23:59:59.999999+00');
    expect(timestampMicros('2024-03-01T12:34:56.789012Z')).toBe(timestampMicros('2024-03-01 12:34:56.789012+00'));
    expect(timestampText(timestampMicros('infinity'), true)).toBe('infinity');
  });

  it('refuses types it cannot encode with a SQLSTATE', () => {
    expect(() => textToBinary(600, '(1,2)')).toThrow(UnsupportedBinaryTypeError);
    try {
      textToBinary(600, 'x');
    } catch (error) {
      expect((error as UnsupportedBinaryTypeError).sqlState).toBe('0A000');
    }
  });
});
