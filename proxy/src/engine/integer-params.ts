/** PostgreSQL's integer type OIDs (int8, int2, int4): a `$n` of these is a whole number as bound. */
const INTEGER_OIDS = new Set([20, 21, 23]);

/**
 * The value `$n` is bound to for this execution, where PostgreSQL typed it as an integer:
 * a bigint, null for NULL; undefined when it is of another type (or absent), which the
 * callers (top-k's k, top-N's LIMIT and OFFSET) answer by reading raw rows.
 */
export function integerParam(n: number, params: ReadonlyArray<string | null>, paramTypes: readonly number[]): bigint | null | undefined {
  const text = params[n - 1];
  if (text === null && n <= params.length) return null;
  if (typeof text === 'string' && INTEGER_OIDS.has(paramTypes[n - 1]) && /^\s*[+-]?\d+\s*$/.test(text)) return BigInt(text.trim());
  return undefined;
}
