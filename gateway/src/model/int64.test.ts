import Long from 'long';
import { isLongLike, isZeroLong, longNanosToMicros, longToBigInt, longToSafeNumber } from './int64';
import { formatMicros, nanosToMicros } from './timestamp';

/** A deterministic spread of 64-bit values: edges, then pseudo-random bit patterns. */
function samples(): bigint[] {
  const out = [0n, 1n, 999n, 1000n, 1001n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < 2000; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
    out.push(x, x >> BigInt(i % 64));
  }
  return out;
}

describe('protobufjs 64-bit integers read without decimal conversion', () => {
  it('gives the exact value for signed and unsigned Longs', () => {
    for (const u of samples()) {
      const unsigned = Long.fromString(u.toString(), true);
      const signed = Long.fromBits(unsigned.low, unsigned.high, false);
      expect(isLongLike(unsigned)).toBe(true);
      expect(longToBigInt(unsigned)).toBe(u);
      expect(longToBigInt(signed)).toBe(BigInt.asIntN(64, u));
      const safe = longToSafeNumber(signed);
      const s = BigInt.asIntN(64, u);
      if (s >= -(2n ** 53n - 1n) && s <= 2n ** 53n - 1n) expect(safe).toBe(Number(s));
      else expect(safe).toBeUndefined();
    }
  });

  it('turns unsigned nanoseconds into truncated microseconds exactly while they are safe integers (to 2255)', () => {
    const limit = 2n ** 53n * 1000n;
    for (const u of samples()) {
      const ns = u % limit;
      const long = Long.fromString(ns.toString(), true);
      expect(longNanosToMicros(long)).toBe(Number(ns / 1000n));
    }
    expect(isZeroLong(Long.UZERO)).toBe(true);
    expect(nanosToMicros(Long.fromString('1764028800123456789', true))).toBe(1764028800123456);
  });

  it('formats consecutive instants across second boundaries (the per-second cache)', () => {
    const base = Date.UTC(2026, 10, 25, 23, 59, 59) * 1000;
    expect(formatMicros(base + 999_999)).toBe('2026-11-25 23:59:59.999999');
    expect(formatMicros(base + 1_000_000)).toBe('2026-11-26 00:00:00.000000');
    expect(formatMicros(base + 1_000_007)).toBe('2026-11-26 00:00:00.000007');
    expect(formatMicros(base + 999_999)).toBe('2026-11-25 23:59:59.999999');
    expect(formatMicros(-1)).toBe('1969-12-31 23:59:59.999999');
  });
});
