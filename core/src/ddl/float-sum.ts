/**
 * PostgreSQL's sum of float8/float4 as a ClickHouse aggregate. PostgreSQL's sum (float8pl,
 * float4pl) has no initial value: the first non-NULL input becomes the state, so a group
 * whose every non-NULL value is -0 sums to -0, while ClickHouse's sum starts from +0
 * (+0 + -0 = +0). The sum is -0 exactly when every input is -0: x + y is -0 only when both
 * are (round to nearest), and any other value leaves a non-zero sum or +0. So a zero sum
 * becomes -0 when every input carries the sign bit (groupBitAnd of the bits): negative
 * non-zero values cannot sum to exactly 0, and a NaN or infinity leaves a sum that is not 0.
 * NULLs are skipped by both aggregates; a group of no value gives NULL.
 *
 * `x` is a ClickHouse expression (Float32/Float64, Nullable or not); `condition`, when given,
 * makes it the -If aggregate (a FILTER's rows only).
 */
export function pgFloatSumCh(x: string, condition?: string): string {
  const agg = aggregateOf(condition);
  const value = `toFloat64(${x})`;
  const sum = agg('sum', value);
  const signs = `bitAnd(${agg('groupBitAnd', `reinterpretAsUInt64(${value})`)}, 0x8000000000000000)`;
  return `if(${agg('count', x)} = 0, NULL, if(${sum} = 0 AND ${signs} != 0, -0., ${sum}))`;
}

/**
 * The same sum where its zero's sign is never shown: an average's Σx (PostgreSQL's
 * float8_accum starts Sx at +0, and the combination adds + 0). Without the groupBitAnd,
 * which cost 18 → 29 ms of chDB CPU per 2M rows in 10 groups.
 */
export function floatSumCh(x: string, condition?: string): string {
  const agg = aggregateOf(condition);
  return `if(${agg('count', x)} = 0, NULL, ${agg('sum', `toFloat64(${x})`)})`;
}

/**
 * A float sum partial: pgFloatSumCh when sum() shows it (`signedZero`), else floatSumCh.
 * Only a sum that sum() shows pays for the groupBitAnd; averages read the plain sum.
 */
export function floatSumPartialCh(signedZero: boolean | undefined, x: string, condition?: string): string {
  return signedZero ? pgFloatSumCh(x, condition) : floatSumCh(x, condition);
}

/** `fn(arg)`, or with a condition the -If aggregate over the rows meeting it. */
function aggregateOf(condition: string | undefined): (fn: string, arg: string) => string {
  return (fn, arg) => (condition === undefined ? `${fn}(${arg})` : `${fn}If(${arg}, ${condition})`);
}
