/**
 * protobufjs decodes 64-bit integer fields to long.js `Long` objects (low and high
 * 32-bit halves). Turning them into decimal text (toObject's `longs: String`) divides
 * Long by Long per digit and was the largest single cost of OTLP ingest; these read
 * the halves directly and stay exact.
 */
export interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

export function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

const TWO_32 = 4294967296;

/** The value as a number when it is a safe integer (|v| < 2^53), else undefined. */
export function longToSafeNumber(v: LongLike): number | undefined {
  const high = v.unsigned ? v.high >>> 0 : v.high | 0;
  // Exact whenever the true value is safe; a rounded unsafe value stays unsafe (rounding is monotonic).
  const n = high * TWO_32 + (v.low >>> 0);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function longToBigInt(v: LongLike): bigint {
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? bits : BigInt.asIntN(64, bits);
}

/**
 * Non-negative nanoseconds → whole microseconds (truncated), without BigInt:
 * high·2^32 = high·4294967·1000 + high·296, so ns/1000 = high·4294967 + (high·296 + low)/1000.
 * Exact while the result is a safe integer (2^53 µs: the year 2255), as any micros number is.
 */
export function longNanosToMicros(v: LongLike): number {
  if (!v.unsigned && v.high < 0) return Number(longToBigInt(v) / 1000n);
  return unsignedNanosToMicros(v.low, v.high);
}

/** The same from a fixed64's two unsigned halves (the OTLP hot path has no Long object). */
export function unsignedNanosToMicros(low: number, high: number): number {
  const h = high >>> 0;
  return h * 4294967 + Math.floor((h * 296 + (low >>> 0)) / 1000);
}

export function isZeroLong(v: LongLike): boolean {
  return v.low === 0 && v.high === 0;
}
